// Trunk post_build hook (Trunk.toml, bench/bare/Trunk.toml): in a release build, every JavaScript
// file of the page is minified with terser (a devDependency in package.json): wasm-bindgen's glue
// (livechat.js, which Trunk's own minifier cannot parse and leaves as written), its snippets
// (store.js, item.js, the tab group's inline0.js) and the loader files Trunk copies verbatim
// (boot.js, early.js). The sources keep their comments; the browser downloads only the code
// (BENCHMARKS.md, issue 15: −3.4 KB brotli for the app, −2.2 KB for the bare page).
//
// Trunk has already written Subresource Integrity hashes of the files it links (the glue and the
// snippets, as `integrity=sha384-…` on their modulepreload links) into index.html: each one is
// replaced by the hash of the minified file, else the browser would refuse the preloaded module.
//
// What terser does here is behaviour-preserving minification (compress + mangle of local names);
// property names, exports and the names the wasm imports by are never renamed. early.js is
// minified as a classic script (it runs both as one and as a module: no import/export), the rest
// as modules (top-level await, import.meta).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { minify } from 'terser';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run as a Trunk hook');
if (process.env.TRUNK_PROFILE !== 'release') process.exit(0);

const CLASSIC = new Set(['early.js']);

function jsFiles(folder) {
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(folder, entry.name);
    if (entry.isDirectory()) return jsFiles(file);
    return entry.isFile() && entry.name.endsWith('.js') ? [file] : [];
  });
}

const sri = (bytes) => 'sha384-' + crypto.createHash('sha384').update(bytes).digest('base64');

const indexFile = path.join(dir, 'index.html');
let index = fs.readFileSync(indexFile, 'utf8');
let before = 0;
let after = 0;
for (const file of jsFiles(dir)) {
  const source = fs.readFileSync(file, 'utf8');
  const module = !CLASSIC.has(path.basename(file));
  const result = await minify(source, {
    module,
    ecma: 2020,
    compress: { passes: 2 },
    mangle: true,
    format: { comments: false },
  });
  if (typeof result.code !== 'string' || !result.code) throw new Error(`terser gave nothing for ${file}`);
  const code = result.code + '\n';
  const oldHash = sri(source);
  if (index.includes(oldHash)) index = index.split(oldHash).join(sri(code));
  fs.writeFileSync(file, code);
  before += Buffer.byteLength(source);
  after += Buffer.byteLength(code);
}
fs.writeFileSync(indexFile, index);
console.log(`minify-js: ${before} -> ${after} bytes of JavaScript`);
