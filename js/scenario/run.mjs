// The Red Wedding scenario (`npm start`): a write spike on a few hot wiki pages, replayed in
// two modes side by side on the same traffic:
//   edge    castamere: Lambda@Edge-style containers (real processes, frozen between
//           invocations, killed when idle) with the wiki app and a replica each, a regional
//           relay, and an origin receiving compacted batches;
//   origin  the traditional architecture: every request forwarded to one application server
//           at the origin across a wide-area round trip, every write a durable transaction.
// Then it checks that no write was lost and that live replicas converged, prints a table, and
// writes an HTML report (and --json). Wide-area delays are simulated (--wan-ms) and labeled so.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { signJwt } from "castamere";
import { mintToken } from "../token.mjs";
import { episode, Truth } from "./episode.mjs";
import { Pool } from "./pool.mjs";
import { startProcess } from "./processes.mjs";
import { renderReport } from "./report.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = join(root, "js/cli.mjs");

const DEFAULTS = {
  duration: 25,
  rate: 120,
  pages: 2000,
  wanMs: 80,
  maxContainers: 8,
  idleTimeoutMs: 6000,
  seed: 7,
  report: "report/red-wedding.html",
  quiet: false,
  anchor: true,
};

/** A CloudFront viewer-request event for a wiki request. */
export function cfEvent(method, uri, { body, jwt } = {}) {
  const headers = { host: [{ key: "Host", value: "d111111abcdef8.cloudfront.net" }] };
  if (jwt) headers.authorization = [{ key: "Authorization", value: `Bearer ${jwt}` }];
  const request = { clientIp: "203.0.113.178", headers, method, querystring: "", uri };
  if (body !== undefined) {
    headers["content-type"] = [{ key: "Content-Type", value: "application/json" }];
    request.body = {
      action: "read-only",
      encoding: "base64",
      inputTruncated: false,
      data: Buffer.from(JSON.stringify(body)).toString("base64"),
    };
  }
  return {
    Records: [
      { cf: { config: { distributionId: "EDFDVBD6EXAMPLE", eventType: "viewer-request", requestId: "r" }, request } },
    ],
  };
}

const pct = (xs, p) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

function requestOf(r) {
  switch (r.kind) {
    case "view":
      return { method: "GET", path: `/pages/${r.page}` };
    case "edit":
      return { method: "POST", path: `/pages/${r.page}/edit`, body: { body: r.body } };
    default:
      return { method: "POST", path: `/pages/${r.page}/${r.kind}` };
  }
}

/** Runs the scenario; resolves to true when no write was lost and replicas converged. */
export async function runScenario(flags = {}) {
  const o = { ...DEFAULTS };
  for (const [k, v] of Object.entries(flags)) {
    if (k in DEFAULTS && typeof DEFAULTS[k] === "number") o[k] = Number(v);
    else o[k] = v;
  }
  // --no-anchor: no regional replica, only the edge containers (every one may be frozen).
  if (flags.noAnchor) o.anchor = false;
  for (const k of ["duration", "rate", "pages", "wanMs"]) {
    if (!Number.isFinite(o[k]) || o[k] <= 0)
      throw new Error(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a positive number`);
  }
  const say = (m) => {
    if (!o.quiet) console.log(m);
  };
  const tmp = mkdtempSync(join(tmpdir(), "castamere-red-wedding-"));
  const secret = "red-wedding-secret";
  const jwtSecret = "red-wedding-jwt";
  const token = mintToken(secret, { tenant: "wiki", region: "the-twins" });
  const children = [];
  let pool;
  try {
    // --- the servers
    const relayProcess = await startProcess(
      cli,
      ["relay", "--port", "0", "--secret", secret, "--quiet", "--max-messages-per-second", "100000"],
      { ready: /listening on/ },
    );
    children.push(relayProcess);
    const originProcess = await startProcess(
      cli,
      [
        "origin",
        "--port",
        "0",
        "--db",
        join(tmp, "origin.sqlite"),
        "--secret",
        secret,
        "--tenant",
        "wiki",
        "--simulated-delay-ms",
        String(o.wanMs),
        "--quiet",
      ],
      { ready: /listening on/ },
    );
    children.push(originProcess);
    const appProcess = await startProcess(
      join(root, "js/scenario/origin-app.mjs"),
      ["--port", "0", "--db", join(tmp, "origin-app.sqlite"), "--jwt-secret", jwtSecret, "--wan-ms", String(o.wanMs)],
      { ready: /listening on/ },
    );
    children.push(appProcess);
    const relay = relayProcess.url;
    const origin = originProcess.url;
    // A long-lived regional replica beside the relay (`castamere replica`), unless --no-anchor.
    let anchor = null;
    if (o.anchor) {
      const anchorProcess = await startProcess(
        cli,
        ["replica", "--relay", relay, "--token", token, "--origin", origin, "--port", "0", "--quiet"],
        { ready: /running/ },
      );
      children.push(anchorProcess);
      anchor = anchorProcess.url;
    }
    const originApp = appProcess.url;
    const auth = { authorization: `Bearer ${token}` };

    pool = new Pool({
      max: o.maxContainers,
      idleTimeoutMs: o.idleTimeoutMs,
      config: {
        jwtSecret,
        castamere: {
          relay,
          token,
          origin,
          syncBudgetMs: 40,
          handoffBudgetMs: 2000,
          config: { heartbeatMs: 500, leaseMs: 3000, repairGraceMs: 1000, originIntervalMs: 1000, originCheckMs: 5000 },
        },
      },
    });

    // --- the load
    const ep = episode({ duration: o.duration, peak: o.rate, pages: o.pages, seed: o.seed });
    const jwts = new Map();
    for (const u of ep.users) {
      jwts.set(
        u,
        await signJwt(
          { sub: u, roles: ep.editors.includes(u) ? ["editor"] : [], exp: Math.floor(Date.now() / 1000) + 3600 },
          jwtSecret,
        ),
      );
    }
    const modes = {
      edge: { truth: new Truth(), lat: [], errors: 0, samples: [] },
      origin: { truth: new Truth(), lat: [], errors: 0, samples: [] },
    };
    const viewTimes = new Map();
    const lagSamples = [];

    // Edge → origin lag, from the origin's change feed: a page's view counter reaching V
    // means its first V views are durable there.
    const feedAbort = new AbortController();
    const feedDone = (async () => {
      try {
        const res = await fetch(`${origin}/v1/changes`, { headers: auth, signal: feedAbort.signal });
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = "";
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true });
          let i = buf.indexOf("\n\n");
          while (i >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const data = block.split("\n").find((l) => l.startsWith("data: "));
            if (data) {
              const change = JSON.parse(data.slice(6));
              const now = performance.now();
              for (const c of change.changes) {
                const m = /^page:(.+):views$/.exec(c.key);
                const q = m && viewTimes.get(m[1]);
                if (!q) continue;
                while (q.done < Math.min(Number(c.value), q.times.length)) {
                  lagSamples.push({ at: now, ms: now - q.times[q.done] });
                  q.done++;
                }
              }
            }
            i = buf.indexOf("\n\n");
          }
        }
      } catch (e) {
        if (e.name !== "AbortError") throw e;
      }
    })();

    say(
      `castamere: the Red Wedding — ${ep.requests.length} requests over ${o.duration}s (peak ${o.rate}/s), ${o.pages} pages, ` +
        `${ep.hot.length} hot; the same traffic in each mode, origin then edge (wide-area round trip ${o.wanMs} ms, simulated)` +
        (o.anchor ? "; a regional replica runs beside the relay" : ""),
    );
    const scrape = async () => {
      const edgeReq = Number(
        (await (await fetch(`${origin}/metrics`)).text()).match(/castamere_origin_requests_total (\d+)/)?.[1] ?? 0,
      );
      const appReq = (await (await fetch(`${originApp}/stats`)).json()).requests;
      return { edge: edgeReq, origin: appReq };
    };

    // Per edge request: the handler's own time, whether it was a container's first
    // invocation (and how long that container took to start), how long it waited for one.
    const edgeDetail = new Map();
    const send = {
      async edge(r, req, jwt) {
        const { response, ms, syncMs, handoffMs, opened, first, readyMs, waitMs } = await pool.invoke(
          cfEvent(req.method, req.path, { body: req.body, jwt }),
        );
        edgeDetail.set(r, { handlerMs: ms, syncMs, handoffMs, opened, first, readyMs, waitMs });
        return response.status === "200";
      },
      async origin(_r, req, jwt) {
        const res = await fetch(`${originApp}${req.path}`, {
          method: req.method,
          headers: { ...(jwt ? { authorization: `Bearer ${jwt}` } : {}), "content-type": "application/json" },
          body: req.body ? JSON.stringify(req.body) : undefined,
        });
        await res.arrayBuffer();
        return res.status === 200;
      },
    };

    // One mode at a time on the same traffic, so that neither steals the other's CPU.
    async function replay(mode) {
      const m = modes[mode];
      const t0 = performance.now();
      m.t0 = t0;
      const inflight = new Set();
      let last = await scrape();
      const sampler = setInterval(async () => {
        const sec = Math.floor((performance.now() - t0) / 1000);
        const now = await scrape().catch(() => last);
        const alive = pool.alive();
        m.samples.push({
          sec,
          originRequests: now[mode] - last[mode],
          containers: mode === "edge" ? alive.length : 0,
          busy: mode === "edge" ? pool.busy() : 0,
          frozen: mode === "edge" ? alive.filter((c) => c.state === "frozen").length : 0,
        });
        last = now;
        if (!o.quiet) {
          const writes = m.lat.filter((x) => x.at > performance.now() - 1000).length;
          const containers =
            mode === "edge"
              ? `containers ${String(alive.length).padStart(2)} (busy ${String(pool.busy()).padStart(2)})  `
              : "";
          const line =
            `  ${mode.padEnd(6)} ${String(sec).padStart(3)}s/${o.duration}s  ${containers}writes/s ${String(writes).padStart(4)}  ` +
            `origin requests/s ${String(m.samples.at(-1).originRequests).padStart(4)}   `;
          if (process.stdout.isTTY) process.stdout.write(`\r${line}`);
          else if (sec % 5 === 0) console.log(line);
        }
      }, 1000);
      for (const r of ep.requests) {
        const wait = r.at - (performance.now() - t0);
        if (wait > 1) await new Promise((res) => setTimeout(res, wait));
        const req = requestOf(r);
        const jwt = r.user ? jwts.get(r.user) : undefined;
        const p = (async () => {
          const start = performance.now();
          try {
            const ok = await send[mode](r, req, jwt);
            const end = performance.now();
            if (!ok) {
              m.errors++;
              return;
            }
            m.truth.record(r);
            m.lat.push({ at: end, ms: end - start, r });
            if (mode === "edge" && r.kind === "view") {
              if (!viewTimes.has(r.page)) viewTimes.set(r.page, { times: [], done: 0 });
              viewTimes.get(r.page).times.push(end);
            }
          } catch {
            m.errors++;
          }
        })();
        inflight.add(p);
        p.finally(() => inflight.delete(p));
      }
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
      clearInterval(sampler);
      m.seconds = (performance.now() - t0) / 1000;
      if (!o.quiet && process.stdout.isTTY) process.stdout.write("\n");
      say(`  ${mode}: ${m.truth.writes} writes answered in ${m.seconds.toFixed(1)}s`);
    }
    await replay("origin");
    await replay("edge");
    const _t0 = modes.edge.t0;
    const loadSeconds = Math.max(modes.edge.seconds, modes.origin.seconds);

    // --- the checks: thaw the living, let them converge, let the origin catch up
    say("  checking convergence and the origin...");
    const live = pool.thawAll();
    if (process.env.CASTAMERE_DEBUG) {
      for (const c of live) console.error(JSON.stringify(await c.call("info")));
    }
    const everyContainerCycled = pool.containers.every((c) => c.frozenOnce || c.killed);
    const c0 = performance.now();
    let converged = false;
    let convergenceMs = null;
    const anchorSnapshot = async () => {
      const r = await fetch(`${anchor}/v1/snapshot`, { headers: auth });
      return Buffer.from(await r.arrayBuffer()).toString("base64");
    };
    while (performance.now() - c0 < 30_000) {
      const snaps = await Promise.all(live.map((c) => c.call("snapshot").catch(() => null)));
      if (anchor) snaps.push(await anchorSnapshot().catch(() => null));
      if (snaps.every((s) => s !== null && s === snaps[0])) {
        converged = true;
        convergenceMs = performance.now() - c0;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.all(live.map((c) => c.call("flushOrigin", 3000).catch(() => null)));
    // The origin's load, before the checks below read it.
    const final = await scrape();
    const edgeOriginBytes = Number(
      (await (await fetch(`${origin}/metrics`)).text()).match(/castamere_origin_request_bytes_total (\d+)/)?.[1] ?? 0,
    );
    const appStats = await (await fetch(`${originApp}/stats`)).json();
    const readOrigin = async (base, key) => {
      const r = await fetch(`${base}/v1/keys/${encodeURIComponent(key)}`, { headers: auth });
      return r.status === 200 ? (await r.json()).value : null;
    };
    let edgeCheck;
    const e0 = performance.now();
    do {
      edgeCheck = await modes.edge.truth.compare((k) => readOrigin(origin, k));
      if (edgeCheck.lost === 0 && edgeCheck.extra === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    } while (performance.now() - e0 < 20_000);
    const originCheck = await modes.origin.truth.compare((k) => readOrigin(originApp, k));
    feedAbort.abort();
    await feedDone.catch(() => {});

    // --- figures
    const fig = (m, originRequests, originBytes) => {
      const lat = modes[m].lat.map((x) => x.ms);
      return {
        writes: modes[m].truth.writes,
        errors: modes[m].errors,
        p50Ms: pct(lat, 50),
        p99Ms: pct(lat, 99),
        originRequests,
        originBytes,
        writesPerOriginRequest: originRequests > 0 ? modes[m].truth.writes / originRequests : null,
      };
    };
    const report = {
      lostWrites: edgeCheck.lost + originCheck.lost,
      extraWrites: edgeCheck.extra + originCheck.extra,
      converged,
      convergenceMs,
      everyContainerFrozenOrKilled: everyContainerCycled,
      settings: {
        duration: o.duration,
        rate: o.rate,
        pages: o.pages,
        wanMs: o.wanMs,
        simulatedWan: true,
        requests: ep.requests.length,
        anchor: Boolean(o.anchor),
      },
      modes: {
        edge: {
          ...fig("edge", final.edge, edgeOriginBytes),
          peakContainers: pool.peak,
          coldStarts: pool.coldStarts,
          kills: pool.kills,
          lostWrites: edgeCheck.lost,
          replicationLagP50Ms: pct(
            lagSamples.map((s) => s.ms),
            50,
          ),
          replicationLagP99Ms: pct(
            lagSamples.map((s) => s.ms),
            99,
          ),
          differences: edgeCheck.differences.slice(0, 20),
          coldStart: coldStartFigures(modes.edge.lat, edgeDetail),
        },
        origin: {
          ...fig("origin", appStats.requests, appStats.bytes),
          peakContainers: 0,
          coldStarts: 0,
          lostWrites: originCheck.lost,
          differences: originCheck.differences.slice(0, 20),
        },
      },
    };
    const series = [];
    for (let sec = 0; sec <= Math.ceil(loadSeconds); sec++) {
      const inSec = (xs, base) =>
        xs.filter((x) => x.at - base >= sec * 1000 && x.at - base < (sec + 1) * 1000).map((x) => x.ms);
      const e = inSec(modes.edge.lat, modes.edge.t0);
      const g = inSec(modes.origin.lat, modes.origin.t0);
      const es = modes.edge.samples.find((x) => x.sec === sec);
      const os = modes.origin.samples.find((x) => x.sec === sec);
      series.push({
        sec,
        edge: { p50: pct(e, 50), p99: pct(e, 99), writes: e.length },
        origin: { p50: pct(g, 50), p99: pct(g, 99), writes: g.length },
        originRequests: { edge: es?.originRequests ?? 0, origin: os?.originRequests ?? 0 },
        containers: es?.containers ?? 0,
        busy: es?.busy ?? 0,
        frozen: es?.frozen ?? 0,
        lagP50: pct(inSec(lagSamples, modes.edge.t0), 50),
        lagP99: pct(inSec(lagSamples, modes.edge.t0), 99),
      });
    }

    // --- output
    const row = (name, f) => {
      const cells = [name, f(report.modes.edge), f(report.modes.origin)];
      return `  ${cells[0].padEnd(34)}${String(cells[1]).padStart(14)}${String(cells[2]).padStart(14)}`;
    };
    const ms = (x) => (x === null ? "-" : `${x.toFixed(1)} ms`);
    say("");
    say(`  ${"".padEnd(34)}${"edge".padStart(14)}${"origin".padStart(14)}`);
    say(row("writes answered", (m) => m.writes));
    say(row("write latency p50", (m) => ms(m.p50Ms)));
    say(row("write latency p99", (m) => ms(m.p99Ms)));
    say(row("origin requests", (m) => m.originRequests));
    say(row("origin request bytes", (m) => m.originBytes));
    say(row("writes per origin request", (m) => (m.writesPerOriginRequest ?? 0).toFixed(1)));
    say(row("peak containers", (m) => m.peakContainers));
    say(row("cold starts", (m) => m.coldStarts));
    say(row("errors", (m) => m.errors));
    say(row("lost writes", (m) => m.lostWrites));
    say(
      `  ${"convergence after load".padEnd(34)}${(converged ? `${convergenceMs.toFixed(0)} ms` : "NOT converged").padStart(14)}`,
    );
    say(
      `  ${"edge → origin lag p50 / p99".padEnd(34)}${`${ms(report.modes.edge.replicationLagP50Ms)} / ${ms(report.modes.edge.replicationLagP99Ms)}`.padStart(28)}`,
    );
    const cs = report.modes.edge.coldStart;
    if (cs.starts > 0) {
      say(
        `  edge cold starts: container start p50 ${ms(cs.containerStartP50Ms)} (max ${ms(cs.containerStartMaxMs)}), ` +
          `first invocation p50 ${ms(cs.firstInvocationP50Ms)} (max ${ms(cs.firstInvocationMaxMs)}; ` +
          `p50 ${ms(cs.firstOpenP50Ms)} opening, ${ms(cs.firstHandoffP50Ms)} handing off; ` +
          `${cs.firstSessionsComplete} of ${cs.starts} first sessions complete within their budget); ` +
          `warm invocations p50 ${ms(cs.warmInvocationP50Ms)}`,
      );
      say(
        `  the slowest 1% of edge writes (${cs.slowest}): ${cs.slowestAtColdStart} ran at a cold start, ` +
          `${cs.slowestQueued} waited for a busy container; the warm ones spent p50 ${ms(cs.slowestWarmHandlerP50Ms)} in the handler`,
      );
    }
    say(`  (the ${o.wanMs} ms wide-area round trip is simulated)`);

    const reportPath = resolve(o.report);
    mkdirSync(dirname(reportPath), { recursive: true });
    writeFileSync(reportPath, renderReport(report, series));
    say(`  report: ${reportPath}`);
    if (o.json) {
      writeFileSync(resolve(o.json), `${JSON.stringify({ ...report, series }, null, 2)}\n`);
      say(`  json: ${resolve(o.json)}`);
    }
    const ok = report.lostWrites === 0 && report.extraWrites === 0 && converged && everyContainerCycled;
    if (!ok) {
      console.error("\nthe Red Wedding scenario FAILED:");
      if (!converged) console.error("  live replicas did not converge within 30 s");
      if (!everyContainerCycled) console.error("  some container was never frozen nor killed");
      for (const m of ["edge", "origin"]) {
        for (const d of report.modes[m].differences) console.error(`  ${m}: ${d}`);
      }
    } else {
      say("  no write lost; live replicas converged.");
    }
    return ok;
  } finally {
    await pool?.close();
    for (const c of children) c.kill("SIGTERM");
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * What the edge's cold starts cost: container start (fork to handler loaded) and first
 * invocation, against warm invocations, and how many of the slowest 1% of writes met one.
 */
function coldStartFigures(lat, detail) {
  const rows = lat.map((x) => ({ ms: x.ms, ...detail.get(x.r) })).filter((x) => x.handlerMs !== undefined);
  const firsts = rows.filter((x) => x.first);
  const warm = rows.filter((x) => !x.first);
  const slowest = [...rows].sort((a, b) => b.ms - a.ms).slice(0, Math.max(1, Math.floor(rows.length / 100)));
  const p50 = (xs, key) =>
    pct(
      xs.map((x) => x[key]),
      50,
    );
  const max = (xs, key) => Math.max(...xs.map((x) => x[key]));
  return {
    starts: firsts.length,
    containerStartP50Ms: p50(firsts, "readyMs"),
    containerStartMaxMs: max(firsts, "readyMs"),
    firstInvocationP50Ms: p50(firsts, "handlerMs"),
    firstInvocationMaxMs: max(firsts, "handlerMs"),
    firstOpenP50Ms: p50(firsts, "syncMs"),
    firstHandoffP50Ms: p50(firsts, "handoffMs"),
    firstSessionsComplete: firsts.filter((x) => x.opened?.complete).length,
    warmInvocationP50Ms: p50(warm, "handlerMs"),
    slowest: slowest.length,
    slowestAtColdStart: slowest.filter((x) => x.first).length,
    slowestQueued: slowest.filter((x) => !x.first && x.waitMs > 1).length,
    slowestWarmHandlerP50Ms: p50(
      slowest.filter((x) => !x.first),
      "handlerMs",
    ),
  };
}
