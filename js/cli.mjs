#!/usr/bin/env node
// The castamere command line.
const [cmd] = process.argv.slice(2);

switch (cmd) {
  case "scenario":
    console.log(
      "castamere: the Red Wedding scenario will run here: a local relay and origin, an elastic " +
        "pool of edge containers and a write spike on a few hot wiki pages, checked for lost writes.",
    );
    break;
  default:
    console.error(`usage: castamere <scenario>${cmd ? ` (unknown command '${cmd}')` : ""}`);
    process.exit(2);
}
