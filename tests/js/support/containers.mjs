// Lambda-style containers (js/scenario/container.mjs) driven over IPC, for tests.
import { fork } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");

export function startContainer(config) {
  const child = fork(join(root, "js/scenario/container.mjs"), [JSON.stringify(config)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    // A stand-in for a deployed process: Node's defaults, not the flags of the test runner.
    execArgv: [],
  });
  let next = 1;
  const pending = new Map();
  let readyResolve;
  const ready = new Promise((r) => {
    readyResolve = r;
  });
  child.on("message", (m) => {
    if (m.id === 0) return readyResolve();
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) p?.reject(new Error(m.error));
    else p?.resolve(m.result);
  });
  const call = (op, ...args) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      child.send({ id, op, args });
    });
  return {
    child,
    ready,
    call,
    invoke: (event) => call("invoke", event),
    freeze: () => child.kill("SIGSTOP"),
    thaw: () => child.kill("SIGCONT"),
  };
}

/** A CloudFront viewer-request event for a wiki request. */
export function cfEvent(method, uri, { body, jwt } = {}) {
  const headers = { host: [{ key: "Host", value: "d111111abcdef8.cloudfront.net" }] };
  if (jwt) headers.authorization = [{ key: "Authorization", value: `Bearer ${jwt}` }];
  const request = { clientIp: "203.0.113.178", headers, method, querystring: "", uri };
  if (body !== undefined) {
    headers["content-type"] = [{ key: "Content-Type", value: "application/json" }];
    request.body = {
      action: "read-only",
      encoding: "base64",
      inputTruncated: false,
      data: Buffer.from(JSON.stringify(body)).toString("base64"),
    };
  }
  return {
    Records: [
      { cf: { config: { distributionId: "EDFDVBD6EXAMPLE", eventType: "viewer-request", requestId: "x" }, request } },
    ],
  };
}
