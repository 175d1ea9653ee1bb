#!/usr/bin/env node
// A delta group's trip between two replicas of the wasm module in a tight loop, with no
// socket, relay or event loop between writes: A's write, A's push (sealing the group) and
// B's handleMessage (decoding and joining it), medians in µs. Set beside the same steps inside
// the relay loop (`node bench/relay.mjs --split`), it shows what the rest of a process's work
// between two writes (the sockets, ws, the event loop) costs the module's own steps.
//
//   node bench/handle-loop.mjs
import { percentile } from "./common.mjs";
import { Replica, transmits } from "./glue.mjs";

const config = { heartbeatMs: 60_000, leaseMs: 120_000 };
const a = new Replica(0, 1, config);
const b = new Replica(0, 2, config);
let now = 1000;
const deliver = (from, to) => {
  for (const t of transmits(from)) if (t.to !== "origin") to.handleMessage(now, t.payload);
};
a.start(now);
b.start(now);
// Until both have met and settled their first sync sessions.
for (let i = 0; i < 200; i++) {
  now += 10;
  a.handleTimeout(now);
  b.handleTimeout(now);
  for (let k = 0; k < 5; k++) {
    deliver(a, b);
    deliver(b, a);
  }
}
const N = 60_000;
const steps = { write: [], push: [], handleMessage: [] };
for (let i = 0; i < N; i++) {
  now += 1;
  const t0 = performance.now();
  a.incrBy("views", 1, now);
  const t1 = performance.now();
  a.push(now);
  const out = transmits(a);
  const t2 = performance.now();
  for (const t of out) {
    if (t.to !== "region") continue;
    const t3 = performance.now();
    b.handleMessage(now, t.payload);
    steps.handleMessage.push((performance.now() - t3) * 1000);
  }
  steps.write.push((t1 - t0) * 1000);
  steps.push.push((t2 - t1) * 1000);
  deliver(b, a); // acknowledgements
  if (i % 50 === 0) {
    a.handleTimeout(now);
    b.handleTimeout(now);
    deliver(b, a);
    deliver(a, b);
  }
}
// The last third: by then V8 has tiered the module's hot functions up.
const last = (xs) => xs.slice(-Math.floor(xs.length / 3));
const us = (k) => `${k} ${percentile(last(steps[k]), 50).toFixed(2)} µs`;
console.log(`tight loop of ${N.toLocaleString("en-US")} writes, medians: ${Object.keys(steps).map(us).join(", ")}`);
