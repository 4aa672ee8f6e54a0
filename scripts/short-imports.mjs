// Short names for the wasm's imports of its JS glue. wasm-bindgen names each import after the
// JS it runs plus a 16-hex-digit hash (`__wbg_createElement_de4a31ed2fb252be`): ~200 such names
// are written twice, in the wasm's import section and as the keys of the glue's import object,
// and hex digits do not compress (~4.5 KB of the app's brotli). Each `__wbg_…_<hash>` import of
// the glue's module becomes `w<n>` (n in base 36, in import order) in both files; nothing else
// changes. The renaming is a function of the wasm alone, so bench/size-profile.sh applies it to
// its own rebuild of the wasm (`node scripts/short-imports.mjs FILE.wasm MODULE`) and compares
// bytes with the shipped file.
//
// Used by the release build's post_build hook (scripts/minify-js.mjs).
import fs from 'node:fs';

const HASHED = /^__wbg_.*_[0-9a-f]{16}$/;

/** The unsigned LEB128 number at `pos` of `buf`, and the position after it. */
export function leb(buf, pos) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[pos++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, pos];
  }
}

function uleb(value) {
  const out = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return Buffer.from(out);
}

const name = (s) => {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([uleb(bytes.length), bytes]);
};

/** The end of an import's descriptor (kind byte included) at `pos`. */
export function descriptorEnd(buf, pos) {
  const kind = buf[pos++];
  const limits = (p) => {
    const flags = buf[p++];
    [, p] = leb(buf, p);
    if (flags & 1) [, p] = leb(buf, p);
    return p;
  };
  switch (kind) {
    case 0: // function: type index
      return leb(buf, pos)[1];
    case 1: // table: reftype, limits
      return limits(pos + 1);
    case 2: // memory: limits
      return limits(pos);
    case 3: // global: valtype, mutability
      return pos + 2;
    case 4: // tag: attribute, type index
      return leb(buf, pos + 1)[1];
    default:
      throw new Error(`short-imports: unknown import kind ${kind}`);
  }
}

/**
 * Renames the hashed imports of `module` in `wasm` (a Buffer). Answers the new wasm and the
 * renames (old name → new name).
 */
export function shortenImports(wasm, module) {
  const renames = new Map();
  const parts = [wasm.subarray(0, 8)];
  let pos = 8;
  while (pos < wasm.length) {
    const id = wasm[pos];
    const [size, start] = leb(wasm, pos + 1);
    const end = start + size;
    if (id !== 2) {
      parts.push(wasm.subarray(pos, end));
      pos = end;
      continue;
    }
    const [count, first] = leb(wasm, start);
    const body = [uleb(count)];
    let p = first;
    for (let i = 0; i < count; i++) {
      const [ml, m0] = leb(wasm, p);
      const mod = wasm.toString('utf8', m0, m0 + ml);
      const [fl, f0] = leb(wasm, m0 + ml);
      const field = wasm.toString('utf8', f0, f0 + fl);
      const d0 = f0 + fl;
      const d1 = descriptorEnd(wasm, d0);
      let short = field;
      if (mod === module && HASHED.test(field)) {
        short = `w${renames.size.toString(36)}`;
        renames.set(field, short);
      }
      body.push(name(mod), name(short), wasm.subarray(d0, d1));
      p = d1;
    }
    if (p !== end) throw new Error('short-imports: the import section was not read to its end');
    const section = Buffer.concat(body);
    parts.push(Buffer.from([2]), uleb(section.length), section);
    pos = end;
  }
  return { wasm: Buffer.concat(parts), renames };
}

/** `glue` (the JS) with each renamed import's key renamed; every old name must be there once. */
export function renameInGlue(glue, renames) {
  let out = glue;
  for (const [before, after] of renames) {
    const pieces = out.split(`${before}:`);
    if (pieces.length !== 2) throw new Error(`short-imports: ${before} is not one key of the glue`);
    out = pieces.join(`${after}:`);
    if (out.includes(before)) throw new Error(`short-imports: ${before} is used besides its key`);
  }
  return out;
}

// CLI: node scripts/short-imports.mjs FILE.wasm MODULE (rewrites FILE.wasm in place).
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [file, module] = process.argv.slice(2);
  if (!file || !module) throw new Error('usage: node scripts/short-imports.mjs FILE.wasm MODULE');
  fs.writeFileSync(file, shortenImports(fs.readFileSync(file), module).wasm);
}
