#!/usr/bin/env node
// `npm test`: setup, then every check in order, stopping at the first failure, and one
// summary line `N passed, M failed` at the end. Counts are tests where the step reports
// them (cargo, wasm-bindgen-test, node --test) and one check for each other step.
import { spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const setup = spawnSync(process.execPath, [join(root, "scripts/setup.mjs")], { cwd: root, stdio: "inherit" });
if (setup.status !== 0) {
  console.log("0 passed, 1 failed (setup)");
  process.exit(1);
}

const cargoTests = (out) => {
  let passed = 0;
  let failed = 0;
  for (const m of out.matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
  return { passed, failed };
};
const nodeTests = (out) => ({
  passed: Number(out.match(/^# pass (\d+)/m)?.[1] ?? 0),
  failed: Number(out.match(/^# fail (\d+)/m)?.[1] ?? 0),
});

const jsTests = process.env.CASTAMERE_TEST_FILES?.split(" ") ?? ["tests/js/"];
const steps = [
  { name: "cargo fmt --check", cmd: "cargo", args: ["fmt", "--check"] },
  { name: "cargo clippy (native)", cmd: "cargo", args: ["clippy", "--all-targets", "--", "-D", "warnings"] },
  {
    name: "cargo clippy (wasm32)",
    cmd: "cargo",
    args: ["clippy", "--all-targets", "--target", "wasm32-unknown-unknown", "--", "-D", "warnings"],
  },
  { name: "cargo test", cmd: "cargo", args: ["test"], count: cargoTests },
  {
    name: "wasm-pack test --node",
    cmd: "wasm-pack",
    args: ["--log-level", "warn", "test", "--node"],
    count: cargoTests,
  },
  {
    name: "node --test",
    cmd: process.execPath,
    // Optimising compiles run on each test process's main thread: with them on a background
    // thread, Node 20 can deadlock when a process exits while one waits for a garbage
    // collection (nodejs/node#54918; seen here about once in ten exits of an
    // allocation-heavy script), and a test file whose process never exits stalls the run.
    // A file gets 5 minutes (each takes under 30 s here): one that never ends, say because a
    // failed test left a store open, is stopped and reported with the results it buffered,
    // where Node 20 would otherwise wait for it without printing them.
    args: [
      "--no-concurrent-recompilation",
      "--test",
      "--test-reporter=tap",
      "--test-concurrency=2",
      "--test-timeout=300000",
      ...jsTests,
    ],
    count: nodeTests,
  },
  { name: "biome check", cmd: "npx", args: ["biome", "check", "."] },
];

// No step takes a quarter of this on a fresh 2-core machine; one that does is stuck.
const STEP_LIMIT_MS = 20 * 60 * 1000;

function runStep(step) {
  return new Promise((resolve) => {
    const child = spawn(step.cmd, step.args, {
      cwd: root,
      env: { ...process.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so that a stuck step is stopped whole
    });
    const watchdog = setTimeout(() => {
      console.log(`\n=== ${step.name}: no end after ${STEP_LIMIT_MS / 60000} minutes; stopping it`);
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, STEP_LIMIT_MS);
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.stderr.on("data", (d) => {
      out += d;
      process.stderr.write(d);
    });
    child.on("close", (code) => {
      clearTimeout(watchdog);
      resolve({ code: code ?? 1, out });
    });
  });
}

let passed = 0;
let failed = 0;
const t0 = Date.now();
for (const step of steps) {
  const started = Date.now();
  console.log(`\n=== ${step.name}`);
  const { code, out } = await runStep(step);
  const counted = step.count ? step.count(out) : { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1 };
  if (code !== 0 && counted.failed === 0) counted.failed = 1;
  passed += counted.passed;
  failed += counted.failed;
  console.log(`=== ${step.name}: ${code === 0 ? "ok" : "FAILED"} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  if (code !== 0) {
    console.log(`\n${passed} passed, ${failed} failed (stopped at: ${step.name})`);
    process.exit(1);
  }
}
console.log(`\n${passed} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(0)}s)`);
