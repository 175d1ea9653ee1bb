// A replica in its own process, driven over IPC by the tests.
import { open } from "castamere";

const options = JSON.parse(process.argv[2]);
const db = await open(options).catch((e) => {
  process.send({ id: 0, error: e.message });
  process.exit(1);
});
db.on("error", () => {});

const ops = {
  ready: () => db.replicaId,
  exec: (args) => db.exec(args),
  execAck: (args, ack) => db.exec(args, { ack, timeoutMs: 10_000 }),
  incrMany: (key, n) => {
    for (let i = 0; i < n; i++) db.incr(key);
    return db.get(key);
  },
  flush: (o) => db.flush(o),
  sync: (o) => db.sync(o),
  peers: () => db.peers,
  snapshot: () => Buffer.from(db._w.snapshot()).toString("base64"),
  stats: () => ({ lastWrite: db.lastWrite, regionAcked: db.regionAcked, originAcked: db.originAcked }),
  close: async () => {
    await db.close();
    setTimeout(() => process.exit(0), 10);
    return true;
  },
};

process.on("message", async (m) => {
  try {
    const result = await ops[m.op](...m.args);
    process.send({ id: m.id, result: typeof result === "bigint" ? result.toString() : result });
  } catch (e) {
    process.send({ id: m.id, error: e.message });
  }
});
