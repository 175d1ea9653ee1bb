// The load of one episode: a pre-show ramp, the spike while it airs, the decay after. A few
// thousand wiki pages, a Zipf-hot subset (the characters in the episode), views, edits,
// watch/unwatch. Seeded, so both modes replay the same traffic; the ground truth of what
// was answered is kept here.

/** A seeded PRNG (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHARACTERS = [
  "robb-stark",
  "catelyn-stark",
  "walder-frey",
  "roose-bolton",
  "edmure-tully",
  "talisa-maegyr",
  "grey-wind",
  "arya-stark",
  "the-hound",
  "lothar-frey",
];

function zipfSampler(n, s, random) {
  const cdf = [];
  let acc = 0;
  for (let i = 1; i <= n; i++) acc += 1 / i ** s;
  let run = 0;
  for (let i = 1; i <= n; i++) {
    run += 1 / i ** s / acc;
    cdf.push(run);
  }
  return () => {
    const x = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** Requests per second at second `t` of an episode of `duration` seconds peaking at `peak`. */
export function rateAt(t, duration, peak) {
  const x = t / duration;
  if (x < 0.25) return peak * (0.05 + 0.25 * (x / 0.25)); // pre-show ramp
  if (x < 0.65) return peak; // the episode airs
  return peak * Math.max(0.05, Math.exp(-(x - 0.65) * 9)); // decay
}

/**
 * The episode's requests, as `{ at (ms), kind, page, user, body? }`, and the pages and users.
 * Watch/unwatch of one user on one page are spaced by at least `spacingMs`, so each applies
 * to a replica that already saw the previous one (add-wins semantics would otherwise keep
 * a watch that an unwatch raced with).
 */
export function episode({ duration, peak, pages, users = 400, editors = 40, seed = 7, spacingMs = 2500 }) {
  const random = rng(seed);
  const hot = CHARACTERS.slice(0, Math.min(CHARACTERS.length, pages));
  const names = [...hot];
  for (let i = names.length; i < pages; i++) names.push(`page-${i}`);
  const hotPick = zipfSampler(hot.length, 1.1, random);
  const coldPick = zipfSampler(names.length, 0.9, random);
  const userNames = Array.from({ length: users }, (_, i) => `user-${i}`);
  const editorNames = userNames.slice(0, editors);
  const lastToggle = new Map();
  const watching = new Map();
  const requests = [];
  let edits = 0;
  for (let s = 0; s < duration; s++) {
    const rate = rateAt(s + 0.5, duration, peak);
    // Poisson arrivals within the second.
    let t = 0;
    while (true) {
      t += -Math.log(1 - random()) / rate;
      if (t >= 1) break;
      const at = Math.round((s + t) * 1000);
      const page = random() < 0.7 ? hot[hotPick()] : names[coldPick()];
      const r = random();
      if (r < 0.05) {
        const user = editorNames[Math.floor(random() * editorNames.length)];
        edits++;
        requests.push({ at, kind: "edit", page, user, body: `revision ${edits} of ${page} by ${user}` });
      } else if (r < 0.15) {
        const user = userNames[Math.floor(random() * userNames.length)];
        const key = `${user}\u0000${page}`;
        if (at - (lastToggle.get(key) ?? -Infinity) < spacingMs) {
          requests.push({ at, kind: "view", page });
          continue;
        }
        lastToggle.set(key, at);
        const on = !watching.get(key);
        watching.set(key, on);
        requests.push({ at, kind: on ? "watch" : "unwatch", page, user });
      } else {
        requests.push({ at, kind: "view", page });
      }
    }
  }
  return { requests, pages: names, hot, users: userNames, editors: editorNames };
}

/** What the servers answered, kept by the load generator: the ground truth to compare with. */
export class Truth {
  constructor() {
    this.views = new Map();
    this.edits = new Map();
    this.bodies = new Map();
    this.watchers = new Map();
    this.writes = 0;
  }
  record(req) {
    this.writes++;
    const inc = (m, k) => m.set(k, (m.get(k) ?? 0) + 1);
    switch (req.kind) {
      case "view":
        inc(this.views, req.page);
        break;
      case "edit": {
        inc(this.edits, `${req.page}\u0000${req.user}`);
        if (!this.bodies.has(req.page)) this.bodies.set(req.page, new Set());
        this.bodies.get(req.page).add(req.body);
        break;
      }
      case "watch":
      case "unwatch": {
        if (!this.watchers.has(req.page)) this.watchers.set(req.page, new Set());
        if (req.kind === "watch") this.watchers.get(req.page).add(req.user);
        else this.watchers.get(req.page).delete(req.user);
        break;
      }
    }
  }
  /** Every page any answered request touched. */
  pages() {
    const p = new Set(this.views.keys());
    for (const k of this.edits.keys()) p.add(k.split("\u0000")[0]);
    for (const k of this.watchers.keys()) p.add(k);
    return [...p];
  }
  /**
   * Compares with `read(key) → value` (counters as numbers, hashes as objects, sets as arrays):
   * `{ lost, extra, differences }`.
   */
  async compare(read) {
    let lost = 0;
    let extra = 0;
    const differences = [];
    // Read every key first, a few pages at a time.
    const values = new Map();
    const pages = this.pages();
    for (let i = 0; i < pages.length; i += 32) {
      await Promise.all(
        pages
          .slice(i, i + 32)
          .flatMap((p) =>
            ["views", "edits", "body", "watchers"].map(async (k) =>
              values.set(`page:${p}:${k}`, await read(`page:${p}:${k}`)),
            ),
          ),
      );
    }
    read = async (k) => values.get(k);
    for (const page of pages) {
      const views = Number((await read(`page:${page}:views`)) ?? 0);
      const want = this.views.get(page) ?? 0;
      if (views !== want) {
        differences.push(`${page}: ${views} views, expected ${want}`);
        if (views < want) lost += want - views;
        else extra += views - want;
      }
      const edits = (await read(`page:${page}:edits`)) ?? {};
      for (const [k, n] of this.edits) {
        const [p, user] = k.split("\u0000");
        if (p !== page) continue;
        const got = Number(edits[user] ?? 0);
        if (got !== n) {
          differences.push(`${page}: ${got} edits by ${user}, expected ${n}`);
          if (got < n) lost += n - got;
          else extra += got - n;
        }
      }
      const bodies = this.bodies.get(page);
      if (bodies) {
        const body = await read(`page:${page}:body`);
        if (!bodies.has(body)) {
          differences.push(`${page}: body ${JSON.stringify(body)} is none of the ${bodies.size} written`);
          lost++;
        }
      }
      const want2 = [...(this.watchers.get(page) ?? [])].sort();
      const got2 = [...((await read(`page:${page}:watchers`)) ?? [])].sort();
      if (JSON.stringify(want2) !== JSON.stringify(got2)) {
        const missing = want2.filter((u) => !got2.includes(u));
        const unexpected = got2.filter((u) => !want2.includes(u));
        differences.push(
          `${page}: watchers missing ${JSON.stringify(missing)}, unexpected ${JSON.stringify(unexpected)}`,
        );
        lost += missing.length;
        extra += unexpected.length;
      }
    }
    return { lost, extra, differences };
  }
}
