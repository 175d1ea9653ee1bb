// Types of `castamere/lambda`: the Lambda@Edge adapter (CloudFront viewer-request and
// origin-request events, answered with a generated response).
import type { App, AppRequest, AppResponse, Db, OpenOptions } from "../index.js";

export interface CloudFrontHeaders {
  [lowerCaseName: string]: { key?: string; value: string }[];
}

export interface CloudFrontRequest {
  clientIp?: string;
  method: string;
  uri: string;
  querystring?: string;
  headers?: CloudFrontHeaders;
  body?: { inputTruncated?: boolean; action?: string; encoding?: "base64" | "text"; data?: string };
}

export interface CloudFrontRequestEvent {
  Records: { cf: { config?: Record<string, unknown>; request: CloudFrontRequest } }[];
}

export interface CloudFrontResultResponse {
  status: string;
  statusDescription: string;
  headers: CloudFrontHeaders;
  /** Absent for 204 and 304, which CloudFront refuses with a body field. */
  body?: string;
  bodyEncoding?: "text" | "base64";
}

/**
 * The largest response (headers and body, in bytes) a function may generate, by event type:
 * the handler answers a larger one with a 500 that says so, where CloudFront would answer 502.
 */
export declare const GENERATED_RESPONSE_LIMITS: { "viewer-request": number; "origin-request": number };

export interface LambdaOptions extends OpenOptions {
  /** Budget of the anti-entropy session run before every invocation (60 ms). */
  syncBudgetMs?: number;
  /** Budget of the handoff run before every invocation returns (250 ms). */
  handoffBudgetMs?: number;
  /** After a longer freeze the socket is presumed dead and replaced (5000 ms). */
  reconnectAfterMs?: number;
  /**
   * Options of their own for the AWS regions a Lambda@Edge function runs in (its relay and
   * token, say), over the others: the function takes the entry of its region (AWS_REGION),
   * else `default`. `region` (for a token of every region) defaults to AWS_REGION.
   */
  regions?: { [awsRegion: string]: Partial<OpenOptions> };
}

/** The open() options of a function running in `awsRegion`: see `LambdaOptions.regions`. */
export declare function regionalOptions(options: LambdaOptions, awsRegion: string | undefined): OpenOptions;

export interface LambdaHandler {
  (
    event: CloudFrontRequestEvent | { castamere: "keep-warm" },
    context?: { callbackWaitsForEmptyEventLoop?: boolean },
  ): Promise<CloudFrontResultResponse | { warm: true; replica: string; peers: number }>;
  stats: { coldStarts: number; invocations: number; syncMs: number; handoffMs: number };
  store(): Db | null;
}

export declare function lambdaHandler(app: App, options: LambdaOptions): LambdaHandler;
export declare function requestFromCloudFront(cf: { request: CloudFrontRequest }): AppRequest & { truncated: boolean };
export declare function cloudFrontResponse(res: AppResponse): CloudFrontResultResponse;
