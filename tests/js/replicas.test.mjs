// Replicas in separate processes meet at a real relay process over loopback.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { mintToken } from "castamere/token";
import { eventually, startRelayProcess, startReplica, stop } from "./support/processes.mjs";

const secret = "replicas-test-secret";
const token = mintToken(secret, { tenant: "wiki", region: "eu-west" });
const fast = { bootstrapBudgetMs: 200, heartbeatMs: 200, leaseMs: 1000, retransmitMs: 100, repairGraceMs: 400 };
const children = [];

function replica(relay) {
  const r = startReplica({ relay, token, config: fast });
  children.push(r.child);
  return r;
}

after(async () => {
  for (const c of children) await stop(c, "SIGKILL");
});

test("three replicas in three processes write concurrently and converge", async () => {
  const relay = await startRelayProcess(secret);
  children.push(relay.child);
  const rs = [replica(relay.url), replica(relay.url), replica(relay.url)];
  const ids = await Promise.all(rs.map((r) => r.ready));
  await Promise.all(rs.map((r) => eventually(() => r.call("peers").then((p) => p.length === 2), 10_000, "peers")));
  await Promise.all(
    rs.map(async (r, i) => {
      await r.call("incrMany", "views", 300);
      await r.call("exec", ["SADD", "editors", ids[i]]);
      await r.call("exec", ["HINCRBY", "edits", `r${i}`, "7"]);
      await r.call("exec", ["SET", `title:${i}`, `written by ${i}`]);
    }),
  );
  for (const r of rs) {
    await eventually(async () => (await r.call("exec", ["GET", "views"])) === 900, 10_000, "900 views everywhere");
  }
  // Every write of every replica reaches every other: the states become byte-for-byte equal.
  await eventually(
    async () => {
      const snaps = await Promise.all(rs.map((r) => r.call("snapshot")));
      return snaps[1] === snaps[0] && snaps[2] === snaps[0];
    },
    10_000,
    "equal states",
  );
  const editors = await rs[0].call("exec", ["SMEMBERS", "editors"]);
  assert.deepEqual(editors.sort(), ids.sort());
  assert.deepEqual(await rs[2].call("exec", ["HGETALL", "edits"]), { r0: 7, r1: 7, r2: 7 });
  for (const r of rs) await stop(r.child, "SIGKILL");
  await stop(relay.child);
});

test("the relay is killed and restarted mid-run: replicas reconnect, nothing is lost", async () => {
  const relay = await startRelayProcess(secret);
  children.push(relay.child);
  const rs = [replica(relay.url), replica(relay.url), replica(relay.url)];
  await Promise.all(rs.map((r) => r.ready));
  await Promise.all(rs.map((r) => eventually(() => r.call("peers").then((p) => p.length === 2), 10_000, "peers")));
  await Promise.all(rs.map((r) => r.call("incrMany", "n", 100)));
  await stop(relay.child, "SIGKILL");
  // Writes go on while the relay is down.
  await Promise.all(rs.map((r) => r.call("incrMany", "n", 100)));
  const again = await startRelayProcess(secret, relay.port);
  children.push(again.child);
  await Promise.all(rs.map((r) => r.call("incrMany", "n", 100)));
  for (const r of rs) {
    await eventually(async () => (await r.call("exec", ["GET", "n"])) === 900, 15_000, "900 after the restart");
  }
  for (const r of rs) await stop(r.child, "SIGKILL");
  await stop(again.child);
});

test("a replica killed right after flush({ to: 'region' }) resolved: its writes live on", async () => {
  const relay = await startRelayProcess(secret);
  children.push(relay.child);
  const [a, b, c] = [replica(relay.url), replica(relay.url), replica(relay.url)];
  await Promise.all([a.ready, b.ready, c.ready]);
  await eventually(() => a.call("peers").then((p) => p.length === 2), 10_000, "peers");
  await a.call("incrMany", "doomed", 250);
  await a.call("exec", ["SADD", "last-words", "winter is coming"]);
  const flushed = await a.call("flush", { to: "region" });
  assert.equal(flushed.acked, true);
  await stop(a.child, "SIGKILL");
  // Held by at least one peer, and spread to both once the others repair.
  for (const r of [b, c]) {
    await eventually(
      async () => (await r.call("exec", ["GET", "doomed"])) === 250,
      10_000,
      "the dead replica's writes",
    );
    assert.deepEqual(await r.call("exec", ["SMEMBERS", "last-words"]), ["winter is coming"]);
  }
  for (const r of [b, c]) await stop(r.child, "SIGKILL");
  await stop(relay.child);
});
