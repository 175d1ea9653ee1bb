// A short Red Wedding: no write lost, replicas converged, and the report's charts render in
// headless Chromium.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { chromium } from "playwright-core";
import { runScenario } from "../../js/scenario/run.mjs";

const dir = mkdtempSync(join(tmpdir(), "castamere-scenario-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("without a regional replica (every container may be frozen) a short Red Wedding loses no write", async () => {
  const json = join(dir, "bare.json");
  const ok = await runScenario({
    duration: 4,
    rate: 30,
    pages: 200,
    maxContainers: 4,
    quiet: true,
    noAnchor: true,
    report: join(dir, "bare.html"),
    json,
  });
  const r = JSON.parse(readFileSync(json, "utf8"));
  assert.equal(r.settings.anchor, false);
  assert.equal(r.lostWrites, 0, JSON.stringify(r.modes.edge.differences));
  assert.equal(r.converged, true);
  assert.equal(ok, true);
});

test("a short Red Wedding loses no write, converges, and renders its report", async () => {
  const report = join(dir, "report.html");
  const json = join(dir, "report.json");
  const ok = await runScenario({ duration: 5, rate: 40, pages: 300, maxContainers: 4, quiet: true, report, json });
  const r = JSON.parse(readFileSync(json, "utf8"));
  assert.equal(r.settings.anchor, true, "the default run has a regional replica");
  assert.equal(r.lostWrites, 0, JSON.stringify(r.modes.edge.differences));
  assert.equal(r.converged, true);
  assert.equal(r.everyContainerFrozenOrKilled, true);
  assert.equal(ok, true);
  for (const m of ["edge", "origin"]) {
    assert.ok(r.modes[m].writes > 50, `${m}: ${r.modes[m].writes} writes`);
    assert.equal(r.modes[m].writes, r.settings.requests);
    assert.ok(r.modes[m].p50Ms > 0 && r.modes[m].p99Ms >= r.modes[m].p50Ms);
  }
  assert.ok(r.modes.edge.originRequests < r.modes.origin.originRequests);
  assert.equal(r.modes.origin.originRequests, r.modes.origin.writes);

  assert.ok(
    existsSync("/usr/bin/chromium"),
    "chromium is missing: `apt-get install chromium` (npm test's setup tries)",
  );
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`file://${report}`);
    const charts = await page.$$eval("figure.chart", (figs) =>
      figs.map((f) => {
        const svg = f.querySelector("svg");
        const lines = [...f.querySelectorAll("polyline.series")];
        const box = svg.getBoundingClientRect();
        return {
          id: f.dataset.chart,
          width: box.width,
          height: box.height,
          lines: lines.length,
          drawn: lines.filter((l) => l.getBBox().width > 0 && l.points.length > 1).length,
        };
      }),
    );
    assert.deepEqual(
      charts.map((c) => c.id),
      ["latency", "origin-load", "writes", "containers", "lag"],
    );
    for (const c of charts) {
      assert.ok(c.width > 300 && c.height > 100, `${c.id} has no size`);
      assert.ok(c.drawn >= 1, `${c.id} drew no line`);
    }
    assert.match(await page.textContent("#verdict"), /No write lost/);
    assert.match(await page.textContent(".note"), /simulated/);
  } finally {
    await browser.close();
  }
});
