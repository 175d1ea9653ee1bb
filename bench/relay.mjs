#!/usr/bin/env node
// Relay latency and throughput, in one run on this machine.
//  1. Write on one replica → visible at another through a relay process: p50/p99, next to a
//     raw `ws` message through the same relay (one hop each way: client → relay → client).
//  2. Relay messages per second on one core (the relay is one process; load comes from here),
//     two publishers to four subscribers and each other, and what the subscribers received.
//   node bench/relay.mjs [--json FILE] [--quick] [--split]
// --split also times, inside the castamere path, A's write and push (the push seals the group
// and hands its frame to the transport, which writes it to the socket in a microtask after)
// and B's handleMessage and the drain after it, and prints their medians.
import { writeFileSync } from "node:fs";
import { open } from "castamere";
import { mintToken } from "castamere/token";
import WebSocket from "ws";
import { percentile, startRelayProcess } from "./common.mjs";

const quick = process.argv.includes("--quick");
const split = process.argv.includes("--split");
const jsonAt = process.argv.indexOf("--json");
const N = quick ? 300 : 3000;
const secret = "bench-secret";
const token = mintToken(secret, { tenant: "bench", region: "local" });
// The raw clients talk in a room of their own, so neither side hears the other's traffic.
const rawToken = mintToken(secret, { tenant: "bench", region: "raw" });

const relay = await startRelayProcess(secret, ["--max-messages-per-second", "1000000"]);
const { url } = relay;

function rawClient(id) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url}/v1/connect?replica=${id}&token=${rawToken}`);
    ws.binaryType = "nodebuffer";
    ws.on("open", () => resolve(ws));
  });
}

// --- 1. raw ws and castamere through the same relay, in alternating blocks of 20 so that
// both see the same machine conditions (this machine is shared: a lone block can be twice as
// slow). Both paths first run untimed until warm: the first thousand castamere writes of a
// process run while V8 still compiles its JS and wasm (the cold start is measured apart).
const a = await rawClient("1");
const b = await rawClient("2");
const config = { bootstrapBudgetMs: 100, heartbeatMs: 60_000, leaseMs: 120_000 };
const A = await open({ relay: url, token, config });
const B = await open({ relay: url, token, config });
await new Promise((r) => setTimeout(r, 100));
const raw = [];
const seen = [];
let waiting = null;
const onMessage = B.transport.o.onMessage;
B.transport.o.onMessage = (f) => {
  onMessage(f);
  if (waiting && B.get("views") === waiting.want) {
    const w = waiting;
    waiting = null;
    w.resolve();
  }
};
let sent = 0;
/** One raw message from a to b through the relay: its round time in ms. */
async function rawOnce() {
  const t0 = performance.now();
  await new Promise((resolve) => {
    b.once("message", (_d, bin) => (bin ? resolve() : b.once("message", () => resolve())));
    a.send(new Uint8Array([0x01, 0x00, sent++ & 255, 1, 2, 3, 4, 5, 6, 7]));
  });
  return performance.now() - t0;
}
// --split: microseconds of each step of a castamere write, in the timed blocks.
const steps = { write: [], push: [], handleMessage: [], drain: [] };
let timing = false;
const timed = (list, f) => {
  if (!timing) return f();
  const t0 = performance.now();
  const r = f();
  list.push((performance.now() - t0) * 1000);
  return r;
};
if (split) {
  const w = B._w;
  const handle = w.handleMessage.bind(w);
  w.handleMessage = (now, bytes) => timed(steps.handleMessage, () => handle(now, bytes));
  const drain = B._drain.bind(B);
  B._drain = () => timed(steps.drain, drain);
}
let written = 0;
/** One castamere write on A until B reads it: its time in ms. */
async function castamereOnce() {
  const want = ++written;
  const t0 = performance.now();
  await new Promise((resolve) => {
    waiting = { want, resolve };
    if (split && timing) {
      timed(steps.write, () => A.incr("views"));
      timed(steps.push, () => A.push());
    } else {
      A.incr("views");
      A.push();
    }
  });
  return performance.now() - t0;
}
const WARMUP = quick ? 200 : 1500;
for (let i = 0; i < WARMUP; i++) {
  await rawOnce();
  await castamereOnce();
}
const BLOCK = 20;
timing = true;
for (let block = 0; block < N / BLOCK; block++) {
  for (let i = 0; i < BLOCK; i++) raw.push(await rawOnce());
  for (let i = 0; i < BLOCK; i++) seen.push(await castamereOnce());
}
a.close();
b.close();
await A.close();
await B.close();

// --- 2. relay throughput: publishers fan out to subscribers, for a few seconds
const subs = await Promise.all([10, 11, 12, 13].map((i) => rawClient(String(i))));
const pubs = await Promise.all([20, 21].map((i) => rawClient(String(i))));
let received = 0;
for (const s of subs) s.on("message", () => received++);
// Every counter from one scrape: after the flood the relay is still working through its
// backlog, and a second scrape would count seconds more of it.
const metric = async () => {
  const labels = '{tenant="bench"}';
  const [i, o, drops] = await relay.metrics([
    ["castamere_relay_messages_in_total", labels],
    ["castamere_relay_messages_out_total", labels],
    ["castamere_relay_drops_total", '{reason="slow consumer"}'],
  ]);
  return { in: i, out: o, drops };
};
const seconds = quick ? 1 : 4;
const frame = new Uint8Array([0x01, 0x00, ...new Uint8Array(60)]);
// The publishers hold back while the subscribers are more than WINDOW frames behind, each:
// a flood they cannot take would only fill the relay's buffers for them until it dropped
// them as slow consumers (at 8 MiB each), and the figure would be of the drops.
const WINDOW = 20_000;
let flooded = 0;
const m0 = await metric();
const r0 = received;
const t0 = performance.now();
await Promise.all(
  pubs.map(async (ws) => {
    while (performance.now() - t0 < seconds * 1000) {
      while (ws.bufferedAmount < 1 << 20 && flooded * subs.length - (received - r0) < WINDOW * subs.length) {
        ws.send(frame);
        flooded++;
      }
      await new Promise((r) => setImmediate(r));
    }
  }),
);
await new Promise((r) => setTimeout(r, 300));
const m1 = await metric();
const elapsed = (performance.now() - t0) / 1000;
const delivered = received - r0;
const slowConsumers = m1.drops - m0.drops;
for (const ws of [...subs, ...pubs]) ws.close();
await relay.stop();

const results = {
  machine: `${process.platform} ${process.arch}, node ${process.version}`,
  samples: N,
  warmup: WARMUP,
  rawWs: { p50Ms: percentile(raw, 50), p99Ms: percentile(raw, 99) },
  castamere: { p50Ms: percentile(seen, 50), p99Ms: percentile(seen, 99) },
  p50Ratio: percentile(seen, 50) / percentile(raw, 50),
  relay: {
    messagesInPerSec: Math.round((m1.in - m0.in) / elapsed),
    messagesOutPerSec: Math.round((m1.out - m0.out) / elapsed),
    deliveredPerSec: Math.round(delivered / elapsed),
    slowConsumersDropped: slowConsumers,
    subscribers: subs.length,
    publishers: pubs.length,
  },
};
console.log(`castamere relay benchmark (${results.machine}), ${N} samples each after ${WARMUP} untimed`);
console.log(
  `  raw ws through the relay:        p50 ${results.rawWs.p50Ms.toFixed(3)} ms   p99 ${results.rawWs.p99Ms.toFixed(3)} ms`,
);
console.log(
  `  castamere write → visible at B:  p50 ${results.castamere.p50Ms.toFixed(3)} ms   p99 ${results.castamere.p99Ms.toFixed(3)} ms   (p50 ${results.p50Ratio.toFixed(2)}x raw; target <= 1.5x)`,
);
console.log(
  `  relay on one core: ${results.relay.messagesInPerSec.toLocaleString("en-US")} messages/s in, ${results.relay.messagesOutPerSec.toLocaleString("en-US")} messages/s out (fan-out to ${subs.length + pubs.length - 1}); ${results.relay.deliveredPerSec.toLocaleString("en-US")}/s delivered to the ${subs.length} subscribers, ${slowConsumers} slow consumers dropped`,
);
if (split) {
  const us = (k) => `${k} ${percentile(steps[k], 50).toFixed(1)} µs`;
  console.log(`  castamere steps, medians: ${Object.keys(steps).map(us).join(", ")}`);
}
if (jsonAt > 0) writeFileSync(process.argv[jsonAt + 1], `${JSON.stringify(results, null, 2)}\n`);
process.exit(0);
