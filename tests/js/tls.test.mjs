// The relay and the origin behind TLS, as deployments put them (a load balancer or a proxy
// that terminates TLS): a replica on Node reaches them at wss:// and https:// addresses, and
// its default clients (the ws package, node:https) carry its writes. The certificate is a
// self-signed one for 127.0.0.1 in tests/fixtures/tls, trusted by the replica's process only.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createServer as createTlsServer } from "node:tls";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { open } from "castamere";
import { startOrigin } from "castamere/origin";
import { startRelay } from "castamere/relay";
import { mintToken } from "castamere/token";

const fixtures = fileURLToPath(new URL("../fixtures/tls/", import.meta.url));
const secret = "tls-secret";
const token = mintToken(secret, { tenant: "wiki", region: "eu" });
const dir = mkdtempSync(join(tmpdir(), "castamere-tls-"));
const servers = [];
let relay;
let origin;

/** A TLS terminator on loopback in front of `port`: each connection piped to it in the clear. */
async function terminator(port) {
  const server = createTlsServer(
    { key: readFileSync(join(fixtures, "localhost.key")), cert: readFileSync(join(fixtures, "localhost.crt")) },
    (tls) => {
      const plain = connect(port, "127.0.0.1");
      tls.pipe(plain).pipe(tls);
      tls.on("error", () => plain.destroy());
      plain.on("error", () => tls.destroy());
    },
  );
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  return server.address().port;
}

before(async () => {
  relay = await startRelay({ port: 0, secret });
  origin = await startOrigin({ port: 0, secret, tenant: "wiki", db: join(dir, "origin.sqlite") });
});
after(async () => {
  for (const s of servers) s.close();
  await origin.close();
  await relay.close();
  rmSync(dir, { recursive: true, force: true });
});

test("a replica on Node reaches the relay at wss:// and the origin at https:// through TLS", async (t) => {
  const node = await open({ relay: relay.url, token });
  t.after(() => node.close());
  node.set("page:ned", "Winter is coming");
  await node.flush({ to: "region" });
  const wss = `wss://127.0.0.1:${await terminator(relay.port)}`;
  const https = `https://127.0.0.1:${await terminator(origin.port)}`;
  const client = fileURLToPath(new URL("./support/tls-client.mjs", import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [client, wss, https, token], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: join(fixtures, "localhost.crt") },
    timeout: 30_000,
  });
  const r = JSON.parse(stdout);
  assert.deepEqual(r.errors, []);
  assert.equal(r.synced.complete, true);
  assert.equal(r.read, "Winter is coming", "the region's write came in over wss://");
  assert.equal(r.connection.connected, true);
  assert.equal(r.acked, true, "the origin acknowledged over https://");
  assert.equal(r.level, "origin");
  const v = await fetch(`${origin.url}/v1/keys/views`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal((await v.json()).value, 7);
  assert.equal(node.get("views"), 7, "the replica's write reached the region over wss://");
});

test("a replica that does not trust the relay's certificate says so, and retries", async () => {
  const wss = `wss://127.0.0.1:${await terminator(relay.port)}`;
  const db = await open({ relay: wss, token, config: { bootstrapBudgetMs: 200 } });
  try {
    assert.equal(db.connection.connected, false);
    assert.match(db.connection.reason, /self.signed certificate/);
  } finally {
    await db.close();
  }
});
