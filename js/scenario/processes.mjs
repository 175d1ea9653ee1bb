// Child processes of the scenario, and of the tests and benchmarks: servers started on
// `--port 0` that say where they listen.
import { spawn } from "node:child_process";

/**
 * Starts `node file ...args` and resolves once its output matched `ready`, with `child.url`
 * and `child.port` those of the first address it printed, and `child.output()` all it printed.
 * Servers start on `--port 0` and say where they listen: a port found free beforehand can be
 * taken by another process before the server binds it. `echo` copies its stderr to ours.
 */
export function startProcess(
  file,
  args,
  { ready = /listening on/, timeoutMs = 15_000, name = file, echo = false, env } = {},
) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: env && { ...process.env, ...env },
    });
    let out = "";
    let started = false;
    child.output = () => out;
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${out}`)), timeoutMs);
    child.stdout.on("data", (d) => {
      out += d;
      if (!started && ready.test(out)) {
        started = true;
        clearTimeout(timer);
        child.url = out.match(/\b(?:ws|http):\/\/[\d.]+:\d+/)?.[0];
        child.port = child.url && Number(new URL(child.url).port);
        resolve(child);
      }
    });
    child.stderr.on("data", (d) => {
      out += d;
      if (echo) process.stderr.write(d);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}: ${out}`));
    });
  });
}
