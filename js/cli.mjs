#!/usr/bin/env node
// The castamere command line: relay, origin, replica, token, scenario.
import { mintToken } from "./token.mjs";

const [cmd, ...rest] = process.argv.slice(2);

function flags(args) {
  const out = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument '${a}'`);
    const [k, inline] = a.slice(2).split("=", 2);
    const key = k.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (inline !== undefined) out[key] = inline;
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) out[key] = args[++i];
    else out[key] = true;
  }
  return out;
}

/** The numeric flag `--name` (its value `v`, or `fallback` when absent): a whole number from
 * `min` to `max`, else an error that names the flag and what it got. */
function whole(name, v, fallback, min = 0, max = Number.MAX_SAFE_INTEGER) {
  if (v === undefined) return fallback;
  if (v === true) throw new Error(`--${name} needs a value`);
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : Number.NaN;
  if (!(n >= min && n <= max)) throw new Error(`--${name} takes a whole number from ${min} to ${max}, not '${v}'`);
  return n;
}

const usage = `usage:
  castamere relay  --port 7400 --secret S [--host 127.0.0.1] [--max-frame-bytes N] [--max-messages-per-second N]
  castamere origin --port 7401 --db ./origin.sqlite --secret S [--tenant default] [--host 127.0.0.1]
  castamere replica --relay ws://host:7400 --token T [--origin URL] [--region R] [--port 7402] [--host 127.0.0.1]
  castamere token  --secret S --tenant T --region R [--ttl 3600]
  castamere scenario [--duration 25] [--rate N] [--pages N] [--wan-ms 80] [--no-anchor] [--json FILE]
The secret may also come from CASTAMERE_SECRET, the replica's token from CASTAMERE_TOKEN.`;

// `castamere COMMAND --help`, as `castamere --help`: the usage, on stdout.
if (rest.includes("--help") || rest.includes("-h")) {
  console.log(usage);
  process.exit(0);
}

/** On SIGTERM or SIGINT: says what it does, closes the server gracefully, says so, exits. */
function closeOnSignal(name, what, server) {
  const stop = async (signal) => {
    console.error(`[${name}] ${signal}: ${what}`);
    await server.close();
    console.error(`[${name}] closed`);
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

// The flags of each command (as `flags` names them). A flag of another name, a typo say, is
// an error, where it would be ignored and its setting silently left at the default.
const KNOWN = {
  relay: ["port", "host", "secret", "maxFrameBytes", "maxMessagesPerSecond", "quiet"],
  origin: ["port", "host", "db", "secret", "tenant", "simulatedDelayMs", "quiet"],
  replica: ["relay", "token", "origin", "region", "port", "host", "quiet"],
  token: ["secret", "tenant", "region", "ttl"],
  scenario: [
    "duration",
    "rate",
    "pages",
    "wanMs",
    "noAnchor",
    "json",
    "maxContainers",
    "idleTimeoutMs",
    "seed",
    "report",
    "quiet",
  ],
};
const kebab = (k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

async function main() {
  const f = flags(rest);
  for (const k of Object.keys(f)) {
    if (KNOWN[cmd] && !KNOWN[cmd].includes(k)) {
      throw new Error(
        `unknown flag --${kebab(k)}; ${cmd} takes ${KNOWN[cmd]
          .filter((x) => x !== "quiet")
          .map((x) => `--${kebab(x)}`)
          .join(", ")}`,
      );
    }
  }
  const secret = f.secret ?? process.env.CASTAMERE_SECRET;
  switch (cmd) {
    case "token":
      console.log(mintToken(secret, { tenant: f.tenant, region: f.region ?? "*", ttl: whole("ttl", f.ttl, 3600, 1) }));
      return;
    case "relay": {
      const { startRelay } = await import("./relay/server.mjs");
      const relay = await startRelay({
        port: whole("port", f.port, 7400, 0, 65535),
        host: f.host ?? "127.0.0.1",
        secret,
        maxFrameBytes: whole("max-frame-bytes", f.maxFrameBytes, undefined, 1),
        maxMessagesPerSecond: whole("max-messages-per-second", f.maxMessagesPerSecond, undefined, 1),
        log: f.quiet ? undefined : (m) => console.error(`[relay] ${m}`),
      });
      console.log(
        `castamere relay listening on ${relay.url} (health: http://${f.host ?? "127.0.0.1"}:${relay.port}/healthz)`,
      );
      closeOnSignal("relay", "closing connections", relay);
      return;
    }
    case "origin": {
      const { startOrigin } = await import("./origin/server.mjs");
      const origin = await startOrigin({
        port: whole("port", f.port, 7401, 0, 65535),
        host: f.host ?? "127.0.0.1",
        db: f.db ?? "./origin.sqlite",
        tenant: f.tenant ?? "default",
        delayMs: whole("simulated-delay-ms", f.simulatedDelayMs, 0),
        secret,
        log: f.quiet ? undefined : (m) => console.error(`[origin] ${m}`),
      });
      console.log(`castamere origin listening on ${origin.url} (database ${origin.path})`);
      closeOnSignal("origin", "finishing requests", origin);
      return;
    }
    case "replica": {
      const { startReplica } = await import("./replica/server.mjs");
      const replica = await startReplica({
        relay: f.relay,
        token: f.token ?? process.env.CASTAMERE_TOKEN,
        origin: f.origin,
        region: f.region,
        port: whole("port", f.port, 7402, 0, 65535),
        host: f.host ?? "127.0.0.1",
        log: f.quiet ? undefined : (m) => console.error(`[replica] ${m}`),
      });
      console.log(`castamere replica ${replica.db.replicaId} running (health: ${replica.url}/healthz)`);
      closeOnSignal("replica", "handing off to the origin and leaving the region", replica);
      return;
    }
    case "scenario": {
      const { runScenario } = await import("./scenario/run.mjs");
      const ok = await runScenario(f);
      process.exit(ok ? 0 : 1);
      return;
    }
    default: {
      const help = cmd === "help" || cmd === "--help" || cmd === "-h";
      if (help) console.log(usage);
      else console.error(cmd ? `castamere: unknown command '${cmd}'\n${usage}` : usage);
      process.exit(help ? 0 : 2);
    }
  }
}

main().catch((e) => {
  console.error(`castamere ${cmd}: ${e.message}`);
  process.exit(1);
});
