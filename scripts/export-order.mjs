// The wasm's exported functions moved to the end of its function index space, one after another.
//
// Why: the JS API names an exported function after its index (`ToString(index)`), and V8 turns
// those indices into strings when it instantiates the module, through its number-to-string cache.
// That cache starts at 128 entries, slot = index mod 128, and V8 replaces it for good with a
// 64 KiB one the first time two different numbers want the same slot. Where wasm-bindgen and
// LLVM put the ~18 exported functions (the closure shims, `__wbindgen_start`, malloc …) is
// arbitrary, so whether two of them share a slot changed from build to build: measured, a page
// whose exports collided (e.g. 714 and 970) had 64 KiB more JS heap at idle, and the same module
// with only one of the two exported did not (BENCHMARKS.md, "JS heap idle", tenth session).
// Consecutive indices never share a slot (there are far fewer than 128 exports), so after this
// step no build pays for that cache at instantiation.
//
// How: binaryen.js (the npm binaryen that also provides wasm-opt) reads the module, removes each
// exported function and adds it back (a function added comes last; exports refer to it by name),
// and writes the module with the same Stack IR optimisation wasm-opt's -Oz writes with, so the
// code is unchanged but for the order and the renumbered references (+0–4 B raw measured).
//
// Used by the release build's post_build hook (scripts/minify-js.mjs) and by bench/size-profile.sh
// on its own rebuild (`node scripts/export-order.mjs FILE.wasm [--names]`; --names keeps the name
// section of a named build).
import fs from 'node:fs';
import binaryen from 'binaryen';

/** Rust's default wasm32 target features (rustc 1.95; binaryen counts memory.copy/fill twice), which
 * the module is validated against. */
const FEATURES =
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.SignExt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.ReferenceTypes |
  binaryen.Features.Multivalue;

/**
 * `wasm` (bytes) with its exported functions last, in export order. `names`: keep the name
 * section (a named build). Throws when binaryen finds the module invalid.
 */
export function exportsLast(wasm, { names = false } = {}) {
  // binaryen.js's options are global: set for this write, and given back as they were after it.
  const OPTIONS = ['OptimizeLevel', 'ShrinkLevel', 'GenerateStackIR', 'OptimizeStackIR', 'DebugInfo'];
  const saved = OPTIONS.map((name) => binaryen[`get${name}`]());
  const wanted = [2, 2, true, true, names];
  OPTIONS.forEach((name, i) => binaryen[`set${name}`](wanted[i]));
  let module;
  try {
    module = binaryen.readBinary(wasm);
    module.setFeatures(FEATURES);
    const exported = [];
    for (let i = 0; i < module.getNumExports(); i++) {
      const info = binaryen.getExportInfo(module.getExportByIndex(i));
      if (info.kind === binaryen.ExternalFunction && !exported.includes(info.value)) exported.push(info.value);
    }
    for (const name of exported) {
      const f = binaryen.getFunctionInfo(module.getFunction(name));
      if (f.module) continue; // an import re-exported: imports keep their indices
      module.removeFunction(name);
      module.addFunction(name, f.params, f.results, f.vars, f.body);
    }
    if (!module.validate()) throw new Error('export-order: binaryen finds the reordered module invalid');
    return Buffer.from(module.emitBinary());
  } finally {
    module?.dispose();
    OPTIONS.forEach((name, i) => binaryen[`set${name}`](saved[i]));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, flag] = process.argv.slice(2);
  if (!file) throw new Error('usage: node scripts/export-order.mjs FILE.wasm [--names]');
  fs.writeFileSync(file, exportsLast(fs.readFileSync(file), { names: flag === '--names' }));
}
