#!/usr/bin/env node
// `npm run package:lambda`: bundles the wiki's Lambda@Edge function (examples/wiki/lambda.mjs
// with its config.json) into dist/lambda/function.zip and prints its size against the 1 MB
// compressed limit of viewer-request functions. Configuration (Lambda@Edge has no environment
// variables) comes from --config FILE (default examples/wiki/config.json). A configuration
// that still holds the example's placeholders (its JWT secret would let anyone sign in as an
// editor) is refused, unless --example asks for exactly that, for a trial.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32, deflateRawSync } from "node:zlib";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const at = process.argv.indexOf("--config");
const example = join(root, "examples/wiki/config.example.json");
const config = process.argv.includes("--example")
  ? example
  : at > 0
    ? process.argv[at + 1]
    : join(root, "examples/wiki/config.json");
const fail = (why) => {
  console.error(`package:lambda: ${why}`);
  process.exit(1);
};
const howTo = `copy ${relative(root, example)} to examples/wiki/config.json and fill it in (or pass --config FILE; --example packages the example's placeholders, for a trial)`;
if (!existsSync(config)) fail(`${config} is missing: ${howTo}`);
let settings;
try {
  settings = JSON.parse(readFileSync(config, "utf8"));
} catch (e) {
  fail(`${config} is not JSON: ${e.message}`);
}
const placeholders = JSON.parse(readFileSync(example, "utf8"));
if (config !== example) {
  if (settings.jwtSecret === placeholders.jwtSecret || settings.castamere?.token === placeholders.castamere.token) {
    fail(`${config} still holds the example's placeholders (jwtSecret, castamere.token): ${howTo}`);
  }
} else {
  console.error("package:lambda: packaging the example's placeholders (--example): not for deployment");
}
const out = join(root, "dist/lambda");
mkdirSync(out, { recursive: true });
copyFileSync(config, join(out, "config.json"));

await build({
  entryPoints: [join(root, "examples/wiki/lambda.mjs")],
  outfile: join(out, "index.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  // Short lines: a log that shows an error's source line shows one line, not the bundle.
  lineLimit: 160,
  conditions: ["node"],
  plugins: [
    {
      name: "config",
      setup(b) {
        b.onResolve({ filter: /^\.\/config\.json$/ }, () => ({ path: join(out, "config.json") }));
      },
    },
  ],
  // `ws` is CommonJS and requires node built-ins at run time.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: "warning",
});
copyFileSync(join(root, "pkg/web/castamere_bg.wasm"), join(out, "castamere_bg.wasm"));

// A zip (deflate) of the function's files.
function zip(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBytes = Buffer.from(name);
    const packed = deflateRawSync(data, { level: 9 });
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(0, 10);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, nameBytes, packed);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x031e, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const files = ["index.mjs", "castamere_bg.wasm", "config.json"].map((f) => [f, readFileSync(join(out, f))]);
const z = zip(files);
writeFileSync(join(out, "function.zip"), z);
const limit = 1024 * 1024;
for (const [f, d] of files) console.log(`  ${f.padEnd(20)} ${String(d.length).padStart(9)} bytes`);
console.log(
  `lambda package: dist/lambda/function.zip ${z.length} bytes compressed (${((100 * z.length) / limit).toFixed(0)}% of the 1 MB viewer-request limit)`,
);
if (z.length > limit) {
  console.error("the package is over the 1 MB compressed limit of viewer-request functions");
  process.exit(1);
}
