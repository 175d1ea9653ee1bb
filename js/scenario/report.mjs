// The scenario's HTML report: a summary table and line charts over time, as inline SVG (no
// scripts, no network), so it opens anywhere.

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
const EDGE = "#c0392b";
const EDGE2 = "#f1948a";
const ORIGIN = "#2471a3";
const ORIGIN2 = "#85c1e9";
const COLORS = ["#c0392b", "#e67e22", "#2471a3", "#5dade2", "#27ae60", "#8e44ad"];

/** A line chart: `lines` is `[{ name, points: [[x, y|null], ...] }]`. */
function chart(id, title, yLabel, lines) {
  const W = 720;
  const H = 260;
  const L = 60;
  const R = 16;
  const T = 16;
  const B = 36;
  const xs = lines.flatMap((l) => l.points.map((p) => p[0]));
  const ys = lines.flatMap((l) => l.points.map((p) => p[1]).filter((y) => y !== null && Number.isFinite(y)));
  const xMax = Math.max(1, ...xs);
  const yMax = Math.max(1, ...ys) * 1.1;
  const x = (v) => L + (v / xMax) * (W - L - R);
  const y = (v) => T + (1 - v / yMax) * (H - T - B);
  const ticks = [];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    ticks.push(
      `<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eee"/>` +
        `<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${v >= 100 ? v.toFixed(0) : v.toFixed(1)}</text>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const v = (xMax * i) / 4;
    ticks.push(
      `<text x="${x(v).toFixed(1)}" y="${H - 16}" text-anchor="middle" font-size="11">${v.toFixed(0)}s</text>`,
    );
  }
  const paths = lines.map((l, i) => {
    const segs = [];
    let cur = [];
    for (const [px, py] of l.points) {
      if (py === null || !Number.isFinite(py)) {
        if (cur.length) segs.push(cur);
        cur = [];
      } else cur.push(`${x(px).toFixed(1)},${y(py).toFixed(1)}`);
    }
    if (cur.length) segs.push(cur);
    return segs
      .map(
        (s) =>
          `<polyline class="series" data-series="${esc(l.name)}" fill="none" stroke="${l.color ?? COLORS[i % COLORS.length]}" stroke-width="2" points="${s.join(" ")}"/>`,
      )
      .join("");
  });
  const legend = lines
    .map(
      (l, i) =>
        `<span class="key"><i style="background:${l.color ?? COLORS[i % COLORS.length]}"></i>${esc(l.name)}</span>`,
    )
    .join(" ");
  return `<figure class="chart" data-chart="${id}"><figcaption>${esc(title)}</figcaption>
<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">
${ticks.join("\n")}
<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#999"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#999"/>
<text x="14" y="${T + (H - T - B) / 2}" font-size="11" transform="rotate(-90 14 ${T + (H - T - B) / 2})" text-anchor="middle">${esc(yLabel)}</text>
${paths.join("\n")}
</svg><div class="legend">${legend}</div></figure>`;
}

export function renderReport(report, series) {
  const pts = (f) => series.map((s) => [s.sec, f(s)]);
  const e = report.modes.edge;
  const o = report.modes.origin;
  const fmt = (v, unit = "") =>
    v === null || v === undefined
      ? "–"
      : typeof v === "number"
        ? `${Number.isInteger(v) ? v : v.toFixed(1)}${unit}`
        : esc(v);
  const rows = [
    ["Writes answered", e.writes, o.writes],
    ["Write latency p50", fmt(e.p50Ms, " ms"), fmt(o.p50Ms, " ms")],
    ["Write latency p99", fmt(e.p99Ms, " ms"), fmt(o.p99Ms, " ms")],
    ["Origin requests", e.originRequests, o.originRequests],
    ["Origin request bytes", e.originBytes, o.originBytes],
    ["Writes per origin request", fmt(e.writesPerOriginRequest), fmt(o.writesPerOriginRequest)],
    ["Peak containers", e.peakContainers, "–"],
    ["Cold starts", e.coldStarts, "–"],
    ["Errors", e.errors, o.errors],
    ["Lost writes", e.lostWrites, o.lostWrites],
  ];
  const verdict =
    report.lostWrites === 0 && report.converged
      ? "No write lost; live replicas converged."
      : "FAILED: see the differences below.";
  const diffs = [...e.differences.map((d) => `edge: ${d}`), ...o.differences.map((d) => `origin: ${d}`)];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>castamere — the Red Wedding</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:780px;color:#222}
h1{font-size:1.6rem;margin-bottom:.2rem} .sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:1rem 0} td,th{padding:.25rem .8rem;border-bottom:1px solid #ddd;text-align:right} td:first-child,th:first-child{text-align:left}
figure{margin:1.5rem 0} figcaption{font-weight:600;margin-bottom:.3rem} .legend{font-size:12px;color:#444}
.key{margin-right:1rem} .key i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
.note{background:#fff6e0;padding:.6rem .8rem;border-left:3px solid #e67e22} .ok{color:#1e8449;font-weight:600} .bad{color:#c0392b;font-weight:600}
</style></head><body>
<h1>The Red Wedding</h1>
<p class="sub">${report.settings.requests} requests over ${report.settings.duration}s (peak ${report.settings.rate}/s) on ${report.settings.pages} wiki pages — castamere at the edge vs. every write at the origin.${report.settings.anchor ? " At the edge, a regional replica runs beside the relay." : " At the edge, no regional replica: only the containers."}</p>
<p class="${report.lostWrites === 0 && report.converged ? "ok" : "bad"}" id="verdict">${esc(verdict)}</p>
<p class="note">The wide-area round trip between the edge and the origin (${report.settings.wanMs} ms) is <b>simulated</b>: the origin delays each answer by it. Everything else ran for real on this machine: processes, sockets, SQLite.</p>
<table id="summary"><tr><th></th><th>edge (castamere)</th><th>origin (traditional)</th></tr>
${rows.map((r) => `<tr><td>${r[0]}</td><td>${r[1]}</td><td>${r[2]}</td></tr>`).join("\n")}
<tr><td>Convergence after the load</td><td colspan="2">${report.converged ? `${report.convergenceMs.toFixed(0)} ms` : "not converged"}</td></tr>
<tr><td>Edge → origin lag p50 / p99</td><td colspan="2">${fmt(e.replicationLagP50Ms, " ms")} / ${fmt(e.replicationLagP99Ms, " ms")}</td></tr>
</table>
${chart("latency", "Write latency (ms)", "ms", [
  { name: "edge p50", color: EDGE, points: pts((s) => s.edge.p50) },
  { name: "edge p99", color: EDGE2, points: pts((s) => s.edge.p99) },
  { name: "origin p50", color: ORIGIN, points: pts((s) => s.origin.p50) },
  { name: "origin p99", color: ORIGIN2, points: pts((s) => s.origin.p99) },
])}
${chart("origin-load", "Requests per second reaching the origin", "requests/s", [
  { name: "edge (batches and snapshots)", color: EDGE, points: pts((s) => s.originRequests.edge) },
  { name: "origin (every request)", color: ORIGIN, points: pts((s) => s.originRequests.origin) },
])}
${chart("writes", "Writes answered per second", "writes/s", [
  { name: "edge", color: EDGE, points: pts((s) => s.edge.writes) },
  { name: "origin", color: ORIGIN, points: pts((s) => s.origin.writes) },
])}
${chart("containers", "Edge containers", "containers", [
  { name: "alive", points: pts((s) => s.containers) },
  { name: "busy", points: pts((s) => s.busy) },
  { name: "frozen", points: pts((s) => s.frozen) },
])}
${chart("lag", "Replication lag: a view answered at the edge until durable at the origin (ms)", "ms", [
  { name: "p50", points: pts((s) => s.lagP50) },
  { name: "p99", points: pts((s) => s.lagP99) },
])}
${diffs.length ? `<h2>Differences</h2><ul>${diffs.map((d) => `<li>${esc(d)}</li>`).join("")}</ul>` : ""}
</body></html>
`;
}
