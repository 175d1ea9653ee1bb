// Types of `castamere/worker`: the Cloudflare Workers adapter.
import type { App, AppRequest, AppResponse, OpenOptions } from "../index.js";

export interface WorkerOptions extends OpenOptions {
  /** Budget of the anti-entropy session before each request is served (60 ms). */
  syncBudgetMs?: number;
  /** Budget of the handoff after the response, inside `ctx.waitUntil` (250 ms). */
  handoffBudgetMs?: number;
}

export interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
}

/**
 * A Worker `{ fetch }` for `app`; `options(env, request)` maps the Worker's bindings (and the
 * request, whose `cf` says where the isolate runs) onto `open()` options. The isolate's store
 * opens with the options of its first request.
 */
export declare function workerHandler<Env = Record<string, string>>(
  app: Pick<App, "prepare" | "run">,
  options: (env: Env, request: Request) => WorkerOptions,
): { fetch(request: Request, env: Env, ctx?: ExecutionContextLike): Promise<Response> };

export declare function requestFromFetch(request: Request): Promise<AppRequest>;
export declare function fetchResponse(res: AppResponse): Response;
