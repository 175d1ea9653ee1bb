// Test helpers: real relay/origin processes and replica processes on loopback.
import { fork } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startProcess as start } from "../../../js/scenario/processes.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");
export const cli = join(root, "js/cli.mjs");

/** Starts `castamere <args>` (see js/scenario/processes.mjs), with `env` beside this process's
 * environment: quiet, unless CASTAMERE_TEST_LOGS. */
export function startProcess(args, ready = /listening on/, env = undefined) {
  const logs = Boolean(process.env.CASTAMERE_TEST_LOGS);
  return start(cli, [...args, ...(logs ? [] : ["--quiet"])], {
    ready,
    timeoutMs: 10_000,
    name: `castamere ${args[0]}`,
    echo: logs,
    env,
  });
}

export async function startRelayProcess(secret, port = 0) {
  const child = await startProcess(["relay", "--port", String(port), "--secret", secret]);
  return { child, port: child.port, url: child.url };
}

/**
 * Sends `signal` and resolves once the process exited. A process still there `graceMs` later
 * is killed; that is an error unless it had said it closed (`castamere` commands print
 * `[name] closed` once shut down): Node 20 can hang on its way out after that
 * (nodejs/node#54918), and the test goes on.
 */
export function stop(child, signal = "SIGTERM", graceMs = 10_000) {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    let stuck = false;
    const timer = setTimeout(() => {
      stuck = true;
      child.kill("SIGKILL");
    }, graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      const said = child.output?.() ?? "";
      if (!stuck) resolve();
      else if (/\] closed/.test(said)) {
        process.stderr.write(`pid ${child.pid} closed on ${signal} but did not exit; killed it\n`);
        resolve();
      } else reject(new Error(`pid ${child.pid} did not close within ${graceMs} ms of ${signal}: ${said}`));
    });
    child.kill(signal);
  });
}

/**
 * A replica in its own process (tests/js/support/replica-process.mjs), driven over IPC:
 * `await r.call("exec", ["INCR", "k"])`, `call("flush", { to: "region" })`, ...
 */
export function startReplica(options) {
  const child = fork(join(root, "tests/js/support/replica-process.mjs"), [JSON.stringify(options)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    // A stand-in for a deployed process: Node's defaults, not the flags of the test runner.
    execArgv: [],
  });
  let next = 1;
  const pending = new Map();
  child.on("message", (m) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error));
    else p.resolve(m.result);
  });
  child.on("exit", () => {
    for (const p of pending.values()) p.reject(new Error("replica process exited"));
    pending.clear();
  });
  const call = (op, ...args) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      child.send({ id, op, args });
    });
  return { child, call, ready: call("ready") };
}

/** Polls `f` until it returns a truthy value or `ms` pass. */
export async function eventually(f, ms = 10_000, what = "condition") {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await f();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}
