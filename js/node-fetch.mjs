// The origin client's requests on Node, over node:http and node:https. The first fetch() of a
// Node 20 process sets up undici, which took 24-27 ms to a loopback server here where
// node:http took about 7 ms, and a replica's first fetch is on its cold start (the snapshot
// of a replica alone in its region, the handoff of a Lambda invocation). This covers what
// OriginClient asks of fetch(): a method, headers and a byte body; a status, ok, text() and
// arrayBuffer() (no response headers: Node 20's Headers class is undici's). Connections are
// kept alive between requests, as fetch() keeps them, and an idle one does not keep the
// process alive.

const agents = new Map();

function transport(protocol) {
  const name = protocol === "https:" ? "node:https" : protocol === "http:" ? "node:http" : null;
  if (name === null) throw new TypeError(`the origin URL must be http: or https:, not ${protocol}`);
  const lib = process.getBuiltinModule(name);
  // An idle connection is closed after 4 s, before the origin's (Node's default is 5 s).
  if (!agents.has(name)) agents.set(name, new lib.Agent({ keepAlive: true, timeout: 4_000 }));
  return { lib, agent: agents.get(name) };
}

/** A fetch() for OriginClient: `(url, { method, headers, body })` to a response it can read. */
export function nodeFetch(url, init = {}) {
  return request(new URL(url), init, true);
}

function request(u, { method = "GET", headers = {}, body }, retry) {
  return new Promise((resolve, reject) => {
    const { lib, agent } = transport(u.protocol);
    const sent = body === undefined ? headers : { ...headers, "content-length": String(body.byteLength) };
    const req = lib.request(u, { method, headers: sent, agent }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const bytes = Buffer.concat(chunks);
        const status = res.statusCode ?? 0;
        resolve({
          ok: status >= 200 && status < 300,
          status,
          text: async () => bytes.toString("utf8"),
          arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
        });
      });
    });
    req.on("error", (e) => {
      // A kept-alive connection the origin closed as this request went out: once more, on a
      // new one (the origin's requests are all safe to repeat: a batch counts once).
      if (retry && req.reusedSocket && e.code === "ECONNRESET") {
        request(u, { method, headers, body }, false).then(resolve, reject);
      } else {
        reject(e);
      }
    });
    req.end(body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });
}
