// An elastic pool of edge "containers" under Lambda's lifecycle: a cold start on first use,
// one invocation at a time per container, a new container when concurrency grows, frozen
// (SIGSTOP) as soon as an invocation ends, thawed (SIGCONT) for the next one, killed
// (SIGKILL) after an idle timeout.
import { fork } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

class Container {
  constructor(id, config) {
    this.id = id;
    this.state = "starting";
    this.invocations = 0;
    this.lastUsed = Date.now();
    this.frozenOnce = false;
    this.pending = new Map();
    this.next = 1;
    const spawnedAt = performance.now();
    this.child = fork(join(here, "container.mjs"), [JSON.stringify(config)], {
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    this.ready = new Promise((resolve, reject) => {
      this.child.on("message", (m) => {
        if (m.id === 0) {
          // From fork to the handler module loaded: the runtime's part of a cold start.
          this.readyMs = performance.now() - spawnedAt;
          return resolve();
        }
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (!p) return;
        if (m.error) p.reject(new Error(m.error));
        else p.resolve(m.result);
      });
      this.child.once("exit", (code, sig) => {
        this.state = "dead";
        const e = new Error(`container ${id} exited (${sig ?? code})`);
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
        reject(e);
      });
    });
    this.ready.catch(() => {});
  }
  call(op, ...args) {
    return new Promise((resolve, reject) => {
      const id = this.next++;
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, op, args });
    });
  }
  freeze() {
    if (this.state === "idle" && this.child.exitCode === null) {
      this.child.kill("SIGSTOP");
      this.state = "frozen";
      this.frozenOnce = true;
    }
  }
  thaw() {
    if (this.state === "frozen") {
      this.child.kill("SIGCONT");
      this.state = "idle";
    }
  }
  kill() {
    if (this.state === "dead") return;
    this.child.kill("SIGKILL");
    this.state = "dead";
    this.killed = true;
  }
}

/** The pool. `config` is what each container's Lambda handler gets. */
export class Pool {
  constructor({ config, max = 32, idleTimeoutMs = 8000, invokeTimeoutMs = 10_000 }) {
    this.config = config;
    this.max = max;
    this.idleTimeoutMs = idleTimeoutMs;
    this.invokeTimeoutMs = invokeTimeoutMs;
    this.containers = [];
    this.queue = [];
    this.coldStarts = 0;
    this.kills = 0;
    this.peak = 0;
    this.nextId = 1;
    this.reaper = setInterval(() => this.reap(), 250);
  }

  alive() {
    return this.containers.filter((c) => c.state !== "dead");
  }
  busy() {
    return this.containers.filter((c) => c.state === "busy" || c.state === "starting").length;
  }

  reap() {
    const now = Date.now();
    for (const c of this.containers) {
      if ((c.state === "frozen" || c.state === "idle") && now - c.lastUsed > this.idleTimeoutMs) {
        c.kill();
        this.kills++;
      }
    }
  }

  async acquire() {
    // The most recently used idle container, as Lambda reuses warm ones.
    const idle = this.containers
      .filter((c) => c.state === "frozen" || c.state === "idle")
      .sort((a, b) => b.lastUsed - a.lastUsed)[0];
    if (idle) {
      idle.thaw();
      idle.state = "busy";
      return idle;
    }
    if (this.alive().length < this.max) {
      const c = new Container(this.nextId++, this.config);
      this.containers.push(c);
      this.coldStarts++;
      this.peak = Math.max(this.peak, this.alive().length);
      await c.ready;
      c.state = "busy";
      return c;
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  release(c) {
    c.lastUsed = Date.now();
    if (c.state === "dead") return;
    const waiter = this.queue.shift();
    if (waiter) {
      c.state = "busy";
      waiter(c);
      return;
    }
    c.state = "idle";
    c.freeze();
  }

  /**
   * Runs one CloudFront event on a container: `{ response, ms, container, first, readyMs,
   * waitMs }`: `ms` is the handler's own time, `first` whether it was the container's first
   * invocation, `readyMs` (on a first one) how long the container took to start, `waitMs` how
   * long the event waited for a container (a cold start, or a queue at the container cap).
   */
  async invoke(event) {
    const t0 = performance.now();
    const c = await this.acquire();
    const waitMs = performance.now() - t0;
    try {
      const timeout = new Promise((_, reject) =>
        setTimeout(() => reject(new Error("invocation timed out")), this.invokeTimeoutMs).unref(),
      );
      const first = c.invocations === 0;
      const r = await Promise.race([c.call("invoke", event), timeout]);
      c.invocations++;
      return { ...r, container: c.id, first, readyMs: first ? c.readyMs : undefined, waitMs };
    } finally {
      this.release(c);
    }
  }

  /** Thaws every live container (the end of the run) and returns them. */
  thawAll() {
    clearInterval(this.reaper);
    const live = this.alive();
    for (const c of live) c.thaw();
    return live;
  }

  async close() {
    clearInterval(this.reaper);
    for (const c of this.containers) c.kill();
  }
}
