#!/usr/bin/env node
// Relay under connection churn: the Workers pattern, where every request opens its own
// WebSocket, says something and closes. Measured against a relay process on this machine:
//  - how many such connections per second it takes (connect, one frame, close), and how
//    long a connection takes to open;
//  - what the churn does to a long-lived pair of peers in the same tenant: their round trip
//    through the relay, with and without churn, in alternating rounds;
//  - whether anything is left behind: open connections after the churn stops, and the relay's
//    resident memory after each round (a leak grows it round after round).
//   node bench/churn.mjs [--json FILE] [--quick]
import { writeFileSync } from "node:fs";
import { mintToken } from "castamere/token";
import WebSocket from "ws";
import { percentile, startRelayProcess } from "./common.mjs";

const quick = process.argv.includes("--quick");
const jsonAt = process.argv.indexOf("--json");
const ROUNDS = quick ? 2 : 4;
const ROUND_MS = quick ? 1500 : 4000;
const CONCURRENCY = 32;
const secret = "churn-secret";
const token = mintToken(secret, { tenant: "bench", region: "churn" });
const relay = await startRelayProcess(secret, ["--max-messages-per-second", "1000000"]);
const connections = () => relay.metric("castamere_relay_connections", '{tenant="bench"}');
const rss = () => relay.metric("process_resident_memory_bytes");
const heap = () => relay.metric("nodejs_heap_used_bytes");

let nextId = 1000;
function connect() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${relay.url}/v1/connect?replica=${nextId++}&token=${token}`);
    ws.binaryType = "nodebuffer";
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

// The long-lived pair: b echoes nothing, it only receives; a measures one hop a → relay → b.
const a = await connect();
const b = await connect();
const frame = (i) => new Uint8Array([0x01, 0x00, i & 255, 1, 2, 3, 4, 5, 6, 7]);
async function pings(ms, into) {
  const t0 = performance.now();
  let i = 0;
  while (performance.now() - t0 < ms) {
    const t = performance.now();
    await new Promise((resolve) => {
      b.once("message", resolve);
      a.send(frame(i++));
    });
    into.push(performance.now() - t);
  }
}

/** `CONCURRENCY` loops of connect, one frame, close, for `ms`; returns open latencies. */
async function churn(ms) {
  const opened = [];
  const t0 = performance.now();
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() - t0 < ms) {
        const t = performance.now();
        try {
          const ws = await connect();
          opened.push(performance.now() - t);
          ws.send(frame(0));
          await new Promise((resolve) => {
            ws.once("close", resolve);
            ws.close();
          });
        } catch {
          failed++;
        }
      }
    }),
  );
  return { opened, failed, seconds: (performance.now() - t0) / 1000 };
}

const quiet = [];
const loaded = [];
const opened = [];
const rssAfterRound = [];
const heapAfterRound = [];
let churned = 0;
let failed = 0;
let churnSeconds = 0;
const rssBefore = await rss();
const heapBefore = await heap();
for (let round = 0; round < ROUNDS; round++) {
  await pings(ROUND_MS / 4, quiet);
  const [c] = await Promise.all([churn(ROUND_MS), pings(ROUND_MS, loaded)]);
  opened.push(...c.opened);
  churned += c.opened.length;
  failed += c.failed;
  churnSeconds += c.seconds;
  await new Promise((r) => setTimeout(r, 300));
  rssAfterRound.push(await rss());
  heapAfterRound.push(await heap());
}
await new Promise((r) => setTimeout(r, 300));
const openAfter = await connections();
a.close();
b.close();
await relay.stop();

const mb = (x) => Math.round(x / 1e5) / 10;
const results = {
  machine: `${process.platform} ${process.arch}, node ${process.version}`,
  concurrency: CONCURRENCY,
  connectionsChurned: churned,
  connectionsFailed: failed,
  connectionsPerSec: Math.round(churned / churnSeconds),
  openMs: { p50: percentile(opened, 50), p99: percentile(opened, 99) },
  steadyHopMs: {
    quiet: { p50: percentile(quiet, 50), p99: percentile(quiet, 99) },
    underChurn: { p50: percentile(loaded, 50), p99: percentile(loaded, 99) },
  },
  openConnectionsAfter: openAfter,
  relayRssMb: { before: mb(rssBefore), afterEachRound: rssAfterRound.map(mb) },
  relayHeapUsedMb: { before: mb(heapBefore), afterEachRound: heapAfterRound.map(mb) },
};
const f = (x) => x.toFixed(3);
console.log(`castamere relay under connection churn (${results.machine})`);
console.log(
  `  ${churned.toLocaleString("en-US")} connections (connect, one frame, close; ${CONCURRENCY} at a time): ` +
    `${results.connectionsPerSec.toLocaleString("en-US")}/s, ${failed} failed; open p50 ${f(results.openMs.p50)} ms, p99 ${f(results.openMs.p99)} ms`,
);
const q = results.steadyHopMs.quiet;
const l = results.steadyHopMs.underChurn;
console.log(
  `  a long-lived pair, one hop through the relay: quiet p50 ${f(q.p50)} ms p99 ${f(q.p99)} ms; ` +
    `under churn p50 ${f(l.p50)} ms p99 ${f(l.p99)} ms (p50 ${(l.p50 / q.p50).toFixed(2)}x)`,
);
console.log(
  `  after: ${openAfter} open connections in the tenant (the pair was 2); relay resident memory ` +
    `${results.relayRssMb.before} MB before, ${results.relayRssMb.afterEachRound.join(" / ")} MB after each round; ` +
    `V8 heap in use ${results.relayHeapUsedMb.before} MB before, ${results.relayHeapUsedMb.afterEachRound.join(" / ")} MB after each round`,
);
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], `${JSON.stringify(results, null, 2)}\n`);
