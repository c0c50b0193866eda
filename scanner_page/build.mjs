// Build the scanner into dist/: bundle src/main.js (with zxing-wasm and @noble/ed25519 from
// node_modules) and the service worker, copy the static files and the ZXing wasm binary.
// The build version (a hash of every output) names the service worker's cache.

import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { BUNDLE_PATH, JWKS_PATH } from "./src/config.js";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
const require = createRequire(import.meta.url);

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

await esbuild.build({
  entryPoints: [join(root, "src/main.js")],
  outfile: join(dist, "app.js"),
  bundle: true,
  format: "esm",
  target: ["es2020"],
  minify: true,
  sourcemap: false,
  legalComments: "eof",
  logLevel: "warning",
});

for (const name of readdirSync(join(root, "public"))) copyFileSync(join(root, "public", name), join(dist, name));
const wasm = require.resolve("zxing-wasm/reader/zxing_reader.wasm");
copyFileSync(wasm, join(dist, "zxing_reader.wasm"));

const shellFiles = readdirSync(dist).sort();
const hash = createHash("sha256");
for (const name of shellFiles) hash.update(name).update(readFileSync(join(dist, name)));
const version = hash.digest("hex").slice(0, 12);
const shell = ["/scanner/", ...shellFiles.filter((n) => n !== "index.html").map((n) => `/scanner/${n}`)];

await esbuild.build({
  entryPoints: [join(root, "src/sw.js")],
  outfile: join(dist, "sw.js"),
  bundle: true,
  format: "iife",
  target: ["es2020"],
  minify: true,
  define: {
    BUILD_VERSION: JSON.stringify(version),
    SHELL: JSON.stringify(shell),
    BUNDLE_PATH: JSON.stringify(BUNDLE_PATH),
    JWKS_PATH: JSON.stringify(JWKS_PATH),
  },
  logLevel: "warning",
});
writeFileSync(join(dist, "BUILD"), `${version}\n`);
console.log(`scanner built: dist/ (${shellFiles.length + 1} files, version ${version})`);
