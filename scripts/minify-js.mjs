// Trunk post_build hook (Trunk.toml, bench/bare/Trunk.toml): in a release build, the page's
// JavaScript is bundled and minified with esbuild (a devDependency in package.json).
//
// - wasm-bindgen's glue (livechat.js; the bench's livechat-bench-bare.js) and the snippet modules
//   it imports (snippets/…: store.js, item.js, the tab group's inline0.js) become one minified
//   module, and the snippets' modulepreload links leave index.html. The page then makes three or
//   four fewer requests: over HTTP/1.1 (six connections per host) the snippets queued for a
//   connection ahead of the wasm's preload and held up the glue's module graph, so init() started
//   late (BENCHMARKS.md, issue 15: "time to connected").
// - The loader files Trunk copies verbatim (boot.js, early.js: `copy-file`, which Trunk's own
//   minifier skips) are minified as they are: boot.js as a module, early.js as a classic script
//   (it runs both as one and as a module: no import/export).
// Trunk's own minifier cannot parse the glue's `export default` and leaves it as written.
//
// - First, the wasm's hashed imports of its glue (`__wbg_createElement_<16 hex digits>`, ~180 of
//   them, each written in the wasm and in the glue) get short names in both
//   (scripts/short-imports.mjs; bench/size-profile.sh applies the same renaming to its rebuild).
//   Before that, the wasm's exported functions move to the end of its function index space
//   (scripts/export-order.mjs: V8 names them by index at instantiation, and two indices equal
//   mod 128 cost the page a 64 KiB cache; the size profile's rebuild gets the same step).
//
// Trunk has already written Subresource Integrity hashes (`integrity=sha384-…`) of the files it
// links into index.html: the wasm's and the glue's are replaced by those of the files written
// here, else the browser would refuse the preloaded ones. Minification renames local names only: property names, exports and
// the names the wasm imports by stay as they are.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { renameInGlue, shortenImports } from './short-imports.mjs';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run as a Trunk hook');
if (process.env.TRUNK_PROFILE !== 'release') process.exit(0);
// Loaded only for a release build: a debug build needs no node_modules for this hook.
const esbuild = await import('esbuild');
const { exportsLast } = await import('./export-order.mjs');

// boot.js awaits at top level (es2022); every browser that runs the wasm has it.
const TARGET = ['es2022'];
const sri = (bytes) => 'sha384-' + crypto.createHash('sha384').update(bytes).digest('base64');
const size = (file) => fs.statSync(file).size;

const indexFile = path.join(dir, 'index.html');
let index = fs.readFileSync(indexFile, 'utf8');
const snippets = path.join(dir, 'snippets');
let before = 0;
let after = 0;

// The glue: the top-level module that imports the snippets (or, with none, any top-level .js that
// is not a loader file).
const LOADERS = new Set(['boot.js', 'early.js']);
const glues = fs.readdirSync(dir).filter((name) => name.endsWith('.js') && !LOADERS.has(name));
if (glues.length !== 1) throw new Error(`expected one wasm-bindgen glue module in ${dir}, found ${glues.join(', ') || 'none'}`);
const glue = path.join(dir, glues[0]);
// First the wasm's imports of its glue get short names, in the wasm and in the glue
// (scripts/short-imports.mjs), and the wasm's integrity digest follows.
const bin = glues[0].slice(0, -'.js'.length);
const wasmFile = path.join(dir, `${bin}_bg.wasm`);
const wasm = fs.readFileSync(wasmFile);
const short = shortenImports(exportsLast(wasm), `./${bin}_bg.js`);
index = index.split(sri(wasm)).join(sri(short.wasm));
fs.writeFileSync(wasmFile, short.wasm);
const glueSource = fs.readFileSync(glue);
fs.writeFileSync(glue, renameInGlue(glueSource.toString('utf8'), short.renames));
before += glueSource.length;
if (fs.existsSync(snippets)) {
  for (const file of fs.readdirSync(snippets, { recursive: true })) {
    const full = path.join(snippets, file);
    if (fs.statSync(full).isFile()) before += size(full);
  }
}
const bundled = await esbuild.build({
  entryPoints: [glue],
  bundle: true,
  format: 'esm',
  minify: true,
  target: TARGET,
  write: false,
  legalComments: 'none',
  logLevel: 'warning',
  // wasm-bindgen's import object names a snippet once per import block: the same module twice.
  logOverride: { 'duplicate-object-key': 'silent' },
});
const code = bundled.outputFiles[0].contents;
index = index.split(sri(glueSource)).join(sri(code));
fs.writeFileSync(glue, code);
after += code.length;

// The snippets are inside the bundle now: their files and their preload links go.
if (fs.existsSync(snippets)) {
  const links = index.match(/<link[^>]*snippets\/[^>]*>/g) || [];
  for (const link of links) index = index.replace(link, '');
  fs.rmSync(snippets, { recursive: true });
}
if (index.includes('snippets/')) throw new Error('index.html still names a snippet after bundling');

for (const name of LOADERS) {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) continue;
  const source = fs.readFileSync(file, 'utf8');
  const result = await esbuild.transform(source, {
    minify: true,
    target: TARGET,
    format: name === 'boot.js' ? 'esm' : undefined,
    legalComments: 'none',
    logLevel: 'warning',
  });
  index = index.split(sri(source)).join(sri(result.code));
  fs.writeFileSync(file, result.code);
  before += Buffer.byteLength(source);
  after += Buffer.byteLength(result.code);
}

fs.writeFileSync(indexFile, index);
console.log(`minify-js: ${before} -> ${after} bytes of JavaScript (${glues[0]} and its snippets in one module)`);
