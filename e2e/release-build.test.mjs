// The release build's wasm, as the post_build hook leaves it (scripts/minify-js.mjs):
// - its exported functions sit on consecutive function indices (scripts/export-order.mjs), so no
//   two of them are equal mod 128. V8 names every exported function by its index at
//   instantiation through a number-to-string cache of 128 slots (slot = index mod 128) and
//   replaces that cache for good with a 64 KiB one at the first collision (BENCHMARKS.md, "JS heap
//   idle", tenth session): this checks the property, not a heap size;
// - the module still compiles (`WebAssembly.Module` in Node's V8) with every import named as the
//   glue provides it (short names, scripts/short-imports.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { distDir } from './helpers.mjs';

/** The function indices the module exports, and how many functions it imports. */
function exportedFunctions(wasm) {
  let pos = 8;
  const leb = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= wasm.length) throw new Error('truncated wasm');
      const byte = wasm[pos++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  // A name: its length, then its bytes (`pos += leb()` would add to the position read before
  // the length's own bytes).
  const skip = () => {
    const length = leb();
    pos += length;
  };
  const exported = [];
  let imported = 0;
  while (pos < wasm.length) {
    const id = wasm[pos++];
    const size = leb();
    const end = pos + size;
    if (id === 2 || id === 7) {
      for (let n = leb(); n > 0; n--) {
        if (id === 2) skip(); // module name
        skip(); // field name
        const kind = wasm[pos++];
        if (id === 7) {
          const index = leb();
          if (kind === 0) exported.push(index);
        } else if (kind === 0) {
          imported++;
          leb(); // type index
        } else if (kind === 1 || kind === 2) {
          if (kind === 1) pos++; // reftype
          const flags = leb();
          leb();
          if (flags & 1) leb(); // limits
        } else if (kind === 3) {
          pos += 2; // valtype, mutability
        } else {
          pos++; // tag: attribute, type index
          leb();
        }
      }
    }
    pos = end;
  }
  return { exported, imported };
}

test('the exported functions are on consecutive indices: none shares a slot of V8\'s 128-entry cache', () => {
  const dir = distDir();
  const file = fs.readdirSync(dir).find((f) => f.endsWith('_bg.wasm'));
  assert.ok(file, `no *_bg.wasm in ${dir}`);
  const wasm = fs.readFileSync(path.join(dir, file));
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
