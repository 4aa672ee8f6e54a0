// The release build's wasm, as the post_build hook leaves it (scripts/minify-js.mjs):
// - its exported functions sit on consecutive function indices (scripts/export-order.mjs), so no
//   two of them are equal mod 128. V8 names every exported function by its index at
//   instantiation through a number-to-string cache of 128 slots (slot = index mod 128) and
//   replaces that cache for good with a 64 KiB one at the first collision (BENCHMARKS.md, "JS heap
//   idle", tenth session): this checks the property, not a heap size;
// - the module still compiles (`WebAssembly.Module` in Node's V8) with every import named as the
//   glue provides it (short names, scripts/short-imports.mjs);
// - it was built with the release flags (std with panic=immediate-abort): no panic message or
//   source location is left in its data.
// The section walk reuses scripts/short-imports.mjs's LEB128 and import-descriptor readers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { distDir } from './helpers.mjs';
import { leb, descriptorEnd } from '../scripts/short-imports.mjs';

/** The module's sections: `{ id, start, end }` of each one's contents. */
function sections(wasm) {
  const out = [];
  let pos = 8;
  while (pos < wasm.length) {
    const id = wasm[pos];
    const [size, start] = leb(wasm, pos + 1);
    out.push({ id, start, end: start + size });
    pos = start + size;
  }
  return out;
}

/** A name (its length, then its bytes) at `pos`: the position after it. */
const skipName = (wasm, pos) => {
  const [length, start] = leb(wasm, pos);
  return start + length;
};

/** The function indices the module exports, and how many functions it imports. */
function exportedFunctions(wasm) {
  const exported = [];
  let imported = 0;
  for (const { id, start } of sections(wasm)) {
    if (id !== 2 && id !== 7) continue;
    let [count, pos] = leb(wasm, start);
    for (; count > 0; count--) {
      if (id === 2) {
        pos = skipName(wasm, skipName(wasm, pos)); // module, field
        if (wasm[pos] === 0) imported++;
        pos = descriptorEnd(wasm, pos);
      } else {
        pos = skipName(wasm, pos);
        const kind = wasm[pos];
        let index;
        [index, pos] = leb(wasm, pos + 1);
        if (kind === 0) exported.push(index);
      }
    }
  }
  return { exported, imported };
}

/** The release build's wasm, as the post_build hook left it in the dist folder under test. */
function releaseWasm() {
  const dir = distDir();
  const file = fs.readdirSync(dir).find((f) => f.endsWith('_bg.wasm'));
  assert.ok(file, `no *_bg.wasm in ${dir}`);
  return fs.readFileSync(path.join(dir, file));
}

test('the exported functions are on consecutive indices: none shares a slot of V8\'s 128-entry cache', () => {
  const wasm = releaseWasm();
  assert.ok(new WebAssembly.Module(wasm), 'the module compiles');
  const { exported, imported } = exportedFunctions(wasm);
  const distinct = [...new Set(exported)].sort((a, b) => a - b);
  assert.ok(distinct.length >= 5, `expected wasm-bindgen's exports, found ${distinct.length}`);
  assert.ok(distinct[0] >= imported, 'exports are defined functions, not imports');
  const slots = new Map();
  for (const index of distinct) {
    const other = slots.get(index % 128);
    assert.equal(other, undefined, `exported functions ${other} and ${index} share slot ${index % 128}`);
    slots.set(index % 128, index);
  }
  assert.equal(distinct.at(-1) - distinct[0], distinct.length - 1, `not consecutive: ${distinct.join(',')}`);
});

test('std was built with panic=immediate-abort: no panic message or source location is in the wasm', () => {
  // The release build's flags (scripts/common.sh, with_release_flags): std's panic machinery
  // formats "panicked at <file>:<line>:<col>" and every panic site passes its file's path. With
  // std built with panic=immediate-abort neither exists; without the flags (a plain
  // `trunk build --release`) the data section holds dozens of `.rs` paths, std's among them.
  const wasm = releaseWasm();
  const data = sections(wasm).find((s) => s.id === 11);
  assert.ok(data, 'the module has a data section');
  const text = wasm.subarray(data.start, data.end).toString('latin1');
  const paths = text.match(/[\w/.-]+\.rs\b/g) || [];
  assert.deepEqual(paths, [], 'source paths of panic locations in the data section');
  assert.doesNotMatch(text, /panicked at/);
});
