// Trunk post_build hook (Trunk.toml): in a release build, the loader files Trunk copies verbatim
// (boot.js, early.js: `copy-file`, which Trunk's minifier skips) lose their whole-line comments,
// their indentation and their blank lines. Their comments document them in the repository; the
// browser only downloads the bytes. Nothing else changes: every code line stays as written, on its
// own line (so no ASI change), and a line is dropped only if it is nothing but a comment
// (`// ...`, or inside a block that starts a line with `/*`); code lines with a trailing comment
// are kept whole. The files have no multi-line template literals, which this could not handle.
import fs from 'node:fs';
import path from 'node:path';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) throw new Error('TRUNK_STAGING_DIR is not set: run as a Trunk hook');
if (process.env.TRUNK_PROFILE !== 'release') process.exit(0);

for (const name of ['boot.js', 'early.js']) {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) continue;
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
  if (out.some((line) => line.includes('`'))) throw new Error(`${name} has a template literal: strip-js-comments.mjs cannot handle it`);
  fs.writeFileSync(file, out.join('\n') + '\n');
}
