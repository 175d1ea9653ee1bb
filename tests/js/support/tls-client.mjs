// A replica in a process of its own that trusts the test certificate (NODE_EXTRA_CA_CERTS is
// read when a process starts): opens with the relay and the origin addresses it is given,
// increments a counter, hands it to the origin, and prints what happened as JSON.
import { open } from "castamere";

const [relay, origin, token] = process.argv.slice(2);
const errors = [];
const db = await open({ relay, origin, token, config: { bootstrapBudgetMs: 2_000 } });
db.on("error", (e) => errors.push(e.message));
const read = db.get("page:ned");
db.incrBy("views", 7);
const flushed = await db.flush({ to: "origin", budgetMs: 5_000 });
const result = {
  synced: db.synced,
  read,
  acked: flushed.acked,
  level: flushed.level,
  connection: db.connection,
  errors,
};
await db.close();
console.log(JSON.stringify(result));
