// `castamere replica`: a long-lived replica of the region, as a real process beside a real relay
// and origin. It acknowledges handoffs when every edge replica is asleep, serves cold starts,
// reports on itself, guards its state, and hands its writes to the origin when it stops.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { open } from "castamere";
import { startRelay } from "castamere/relay";
import { startReplica } from "castamere/replica";
import { mintToken, tokenClaims } from "castamere/token";
import { eventually, startProcess, startRelayProcess, stop } from "./support/processes.mjs";

const secret = "anchor-test-secret";
const token = mintToken(secret, { tenant: "wiki", region: "the-twins" });
// A cold start ends as soon as the regional replica answered; the budget only bounds the wait,
// and is generous so that a loaded machine does not fall back to the origin.
const config = { bootstrapBudgetMs: 1_000 };

test("a regional replica acknowledges, serves a cold start, reports, and hands off on SIGTERM", async () => {
  const relay = await startRelayProcess(secret);
  const dir = mkdtempSync(join(tmpdir(), "castamere-anchor-"));
  const origin = await startProcess([
    "origin",
    "--port",
    "0",
    "--db",
    join(dir, "origin.sqlite"),
    "--secret",
    secret,
    "--tenant",
    "wiki",
  ]);
  const originUrl = origin.url;
  const anchor = await startProcess(
    ["replica", "--relay", relay.url, "--token", token, "--origin", originUrl, "--port", "0"],
    /running/,
  );
  const base = anchor.url;
  let writer;
  let cold;
  try {
    // A write that waits for the region is held by the regional replica (no other peer).
    writer = await open({ relay: relay.url, token, config });
    await writer.exec(["HSET", "page:robb", "body", "The King in the North"], { ack: "region", timeoutMs: 5000 });
    await writer.exec(["INCRBY", "page:robb:views", 3], { ack: "region", timeoutMs: 5000 });
    const health = await (await fetch(`${base}/healthz`)).json();
    assert.equal(health.status, "ok");
    assert.equal(health.keys, 2);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /castamere_replica_keys 2/);
    // When its token stops working, for an alert before it does.
    const { expires } = tokenClaims(token);
    assert.ok(expires > Date.now());
    assert.equal(health.tokenExpires, new Date(expires).toISOString());
    assert.match(
      metrics,
      new RegExp(`castamere_replica_token_expiry_timestamp_seconds ${Math.floor(expires / 1000)}\n`),
    );
    // Its state needs the region's token.
    assert.equal((await fetch(`${base}/v1/snapshot`)).status, 401);
    const snap = await fetch(`${base}/v1/snapshot`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(snap.status, 200);
    // The writer leaves; a cold replica learns everything from the regional one.
    await writer.close();
    writer = null;
    cold = await open({ relay: relay.url, token, config });
    assert.equal(cold.synced.fromOrigin, false);
    assert.equal(cold.get("page:robb:views"), 3);
    assert.equal(cold.hget("page:robb", "body"), "The King in the North");
    await cold.close();
    cold = null;
    // Stopped, it hands what it holds to the origin first.
    await stop(anchor, "SIGTERM");
    await eventually(
      async () => {
        const r = await fetch(`${originUrl}/v1/keys/page:robb:views`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return r.status === 200 && (await r.json()).value === 3;
      },
      10_000,
      "the origin has the departed writer's increments",
    );
  } finally {
    await writer?.close();
    await cold?.close();
    await stop(anchor, "SIGKILL");
    await stop(origin, "SIGKILL");
    await stop(relay.child, "SIGKILL");
  }
});

test("castamere replica without a token says what to do", async () => {
  await assert.rejects(startProcess(["replica", "--relay", "ws://127.0.0.1:1"], /running/), /needs a token/);
});

test("a regional replica says when its token expires, and warns from a day before", async () => {
  const relay = await startRelay({ port: 0, secret });
  const said = [];
  const soon = mintToken(secret, { tenant: "wiki", region: "the-twins", ttl: 1800 });
  const replica = await startReplica({ relay: relay.url, token: soon, port: null, log: (m) => said.push(m) });
  try {
    const at = new Date(tokenClaims(soon).expires).toISOString();
    assert.ok(said.includes(`its token expires at ${at}`), said.join("\n"));
    assert.ok(said.includes(`its token expires at ${at}, in 0.5 h: mint a new one and restart`), said.join("\n"));
  } finally {
    await replica.close();
    await relay.close();
  }
});
