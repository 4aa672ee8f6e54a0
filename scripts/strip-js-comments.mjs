// Trunk post_build hook (Trunk.toml): in a release build, every JS file of the build (the loader
// files Trunk copies verbatim, boot.js and early.js; wasm-bindgen's glue, livechat.js; the JS
// snippets it copies, snippets/**.js: src/room/store.js, src/components/item.js, the client's
// inline JS) loses its whole-line comments, its indentation and its blank lines: Trunk's minifier
// skips `copy-file`s and snippets, and cannot parse the glue's `export default`. Their comments
// document them in the repository; the browser only downloads the bytes. Nothing else changes:
// every code line stays as written, on its own line (so no ASI change), and a line is dropped only
// if it is nothing but a comment (`// ...`, or inside a block that starts a line with `/*`); code
// lines with a trailing comment are kept whole. The files have no multi-line template literals,
// which this could not handle (a kept line with an odd number of backticks fails the build).
//
// First the wasm's imports of its glue get short names (scripts/short-imports.mjs).
//
// Trunk has already written each file's Subresource Integrity digest into the HTML (the
// `integrity` of its preload links): the digest of a file this changes is replaced by the new one
// there, or the browser would refuse the file.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { renameInGlue, shortenImports } from './short-imports.mjs';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run as a Trunk hook');
if (process.env.TRUNK_PROFILE !== 'release') process.exit(0);

const files = fs.readdirSync(dir, { recursive: true });
const digest = (bytes) => `sha384-${crypto.createHash('sha384').update(bytes).digest('base64')}`;
const replaced = new Map();
/** Writes `file` (`before` was its content) and records the change of digest. */
function rewrite(file, before, after) {
  fs.writeFileSync(file, after);
  replaced.set(digest(before), digest(after));
}

for (const name of files.filter((f) => f.endsWith('_bg.wasm') && !f.includes(path.sep))) {
  const bin = name.slice(0, -'_bg.wasm'.length);
  const wasmFile = path.join(dir, name);
  const glueFile = path.join(dir, `${bin}.js`);
  if (!fs.existsSync(glueFile)) continue;
  const wasm = fs.readFileSync(wasmFile);
  const glue = fs.readFileSync(glueFile, 'utf8');
  const short = shortenImports(wasm, `./${bin}_bg.js`);
  rewrite(wasmFile, wasm, short.wasm);
  rewrite(glueFile, glue, renameInGlue(glue, short.renames));
}

for (const name of files.filter((f) => f.endsWith('.js'))) {
  const file = path.join(dir, name);
  const source = fs.readFileSync(file, 'utf8');
  let inBlock = false;
  const out = [];
  for (const raw of source.split('\n')) {
    const line = raw.trim();
    if (inBlock) {
      if (line.includes('*/')) inBlock = false;
      continue;
    }
    if (line.startsWith('/*')) {
      inBlock = !line.includes('*/');
      continue;
    }
    if (line === '' || line.startsWith('//')) continue;
    out.push(line);
  }
  if (out.some((line) => line.split('`').length % 2 === 0)) {
    throw new Error(`${name} has a multi-line template literal: strip-js-comments.mjs cannot handle it`);
  }
  const stripped = out.join('\n') + '\n';
  if (stripped !== source) rewrite(file, source, stripped);
}

for (const name of files.filter((f) => f.endsWith('.html'))) {
  const file = path.join(dir, name);
  const html = fs.readFileSync(file, 'utf8');
  let updated = html;
  // A file changed twice (the glue) goes from its first digest to its last.
  for (const [before, after] of replaced) updated = updated.split(before).join(after);
  if (updated !== html) fs.writeFileSync(file, updated);
}
