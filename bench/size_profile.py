#!/usr/bin/env python3
"""Size profile of a Trunk build: where every brotli byte of a dist/ folder goes.

Called by bench/size-profile.sh (see bench/README.md, "Size profile"); usable alone:

    size_profile.py --title app --dist dist --shipped dist/livechat_bg.wasm \
        --named /tmp/livechat_named.wasm --crates livechat,mqtt_codec,...

`--shipped` is the wasm Trunk wrote (no name section); `--named` is the same code optimised the
same way with `wasm-opt -g` (a name section). Sizes come from the shipped file; the named build
only tells which function belongs to which group. Brotli is quality 11 per file (the `brotli` CLI,
else Node's zlib), as bench/run.mjs measures transfer size.

Attribution:
  * whole page = every file of dist/, each brotli'd alone, summed (the bench's transfer size);
  * the wasm's brotli is shared out over its sections in proportion to each section's brotli alone;
  * the code section's share is shared out over groups of function bodies in proportion to each
    group's bodies brotli'd alone. A function goes to the crate that defines it (generic code counts
    for the defining crate: `Vec<OurType>` code is alloc's; an `impl Trait for Type` counts for
    the crate of `Type`; yew's `CompStateInner<COMP>::view`, our function components' bodies with
    their hooks inlined, is a group of its own); LTO inlines callees into callers, so a group also
    holds what was inlined into its functions.
So every row is a share of the real total and the rows sum to it.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict

# --- brotli -----------------------------------------------------------------------------------

_BROTLI_CLI = shutil.which("brotli")
_cache = {}


def brotli(data: bytes) -> int:
    """Brotli q11 size of `data` in bytes."""
    if not data:
        return 0
    key = (len(data), hash(data))
    if key in _cache:
        return _cache[key]
    if _BROTLI_CLI:
        out = subprocess.run([_BROTLI_CLI, "-q", "11", "-c"], input=data, capture_output=True, check=True).stdout
    else:
        js = (
            "const z=require('zlib');const c=[];process.stdin.on('data',d=>c.push(d));"
            "process.stdin.on('end',()=>process.stdout.write(z.brotliCompressSync(Buffer.concat(c),"
            "{params:{[z.constants.BROTLI_PARAM_QUALITY]:11}})));"
        )
        out = subprocess.run(["node", "-e", js], input=data, capture_output=True, check=True).stdout
    _cache[key] = len(out)
    return len(out)


# --- wasm parsing -----------------------------------------------------------------------------


def leb(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def sections(buf):
    """[(id, name or None, start of payload, end of payload, start of section header)]"""
    assert buf[:4] == b"\0asm", "not a wasm module"
    pos, out = 8, []
    while pos < len(buf):
        head = pos
        sid = buf[pos]
        size, pos = leb(buf, pos + 1)
        end = pos + size
        name = None
        if sid == 0:
            n, p = leb(buf, pos)
            name = buf[p : p + n].decode("utf-8", "replace")
        out.append((sid, name, pos, end, head))
        pos = end
    return out


def imported_funcs(buf, start):
    count, pos = leb(buf, start)
    funcs = 0
    for _ in range(count):
        for _ in range(2):
            n, pos = leb(buf, pos)
            pos += n
        kind = buf[pos]
        pos += 1
        if kind == 0:
            _, pos = leb(buf, pos)
            funcs += 1
        elif kind == 1:
            pos += 1
            flags, pos = leb(buf, pos)
            _, pos = leb(buf, pos)
            if flags & 1:
                _, pos = leb(buf, pos)
        elif kind == 2:
            flags, pos = leb(buf, pos)
            _, pos = leb(buf, pos)
            if flags & 1:
                _, pos = leb(buf, pos)
        elif kind == 3:
            pos += 2
        elif kind == 4:
            pos += 1
            _, pos = leb(buf, pos)
        else:
            raise ValueError(f"import kind {kind}")
    return funcs


def bodies(buf, start):
    count, pos = leb(buf, start)
    out = []
    for _ in range(count):
        size, p = leb(buf, pos)
        out.append(buf[pos : p + size])  # with its size prefix, as in the section
        pos = p + size
    return out


def function_names(buf, start, end):
    n, pos = leb(buf, start)
    pos += n  # "name"
    names = {}
    while pos < end:
        sub = buf[pos]
        size, pos = leb(buf, pos + 1)
        if sub == 1:
            count, p = leb(buf, pos)
            for _ in range(count):
                idx, p = leb(buf, p)
                ln, p = leb(buf, p)
                names[idx] = buf[p : p + ln].decode("utf-8", "replace")
                p += ln
        pos += size
    return names


def parse(path):
    buf = open(path, "rb").read()
    secs = sections(buf)
    info = {"buf": buf, "secs": secs, "imports": 0, "bodies": [], "names": {}}
    for sid, name, s, e, _ in secs:
        if sid == 2:
            info["imports"] = imported_funcs(buf, s)
        elif sid == 10:
            info["bodies"] = bodies(buf, s)
        elif sid == 0 and name == "name":
            info["names"] = function_names(buf, s, e)
    return info


# --- grouping ---------------------------------------------------------------------------------


def self_crate(name):
    """The crate a demangled symbol belongs to: the first path segment, or for
    `<Type as Trait>::f` the crate of Type (references, slices, tuples and pointers peeled); for a
    blanket impl (`<&T as core::fmt::Display>::fmt`, Type a bare generic parameter) the trait's."""
    n = name
    if n.startswith("<"):
        inner = n[1:]
        while True:
            stripped = re.sub(r"^(&mut |&|\*const |\*mut |dyn |\[|\(|impl )", "", inner)
            if stripped == inner:
                break
            inner = stripped
        n = inner
        m = re.match(r"([A-Z][A-Za-z0-9_]*) as ([A-Za-z_][A-Za-z0-9_]*)", n)
        if m:
            return m.group(2)
    m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", n)
    return m.group(0) if m else ""


WASM_BINDGEN = "wasm-bindgen, js-sys, web-sys"


def group_of(name, ours):
    """The report's group of a function, from its demangled name (None: no name)."""
    if name is None or re.match(r"(__wbg|__wbindgen|__externref|Closure\(|Ref\(|F64 |[A-Za-z0-9]+ -> )", name):
        return WASM_BINDGEN
    if "drop_in_place" in name:
        return "drop glue"
    if re.match(r"<yew::html::component::lifecycle::CompStateInner<COMP> as [^>]*Stateful>::view", name):
        # Yew's generic `view` instantiated per component: our function components' bodies with
        # their hooks inlined (only our crates define components in these builds).
        return "component views (yew generic: our components with hooks inlined)"
    if "alloc::collections::btree" in name or "alloc[" in name and "btree" in name:
        return "B-tree"
    if "hashbrown" in name or "std::collections::hash" in name:
        return "hashbrown"
    c = self_crate(name)
    if c in ours:
        return c
    if c in ("yew", "implicit_clone"):
        return "yew"
    if c in ("talc", "dlmalloc", "__rustc"):
        # The allocator: talc since 2026-11-30 (dlmalloc, std's default, before).
        return "allocator (talc)"
    if c in ("wasm_bindgen", "js_sys", "web_sys", "wasm_bindgen_futures"):
        return WASM_BINDGEN
    if c in ("core", "alloc", "str", "char", "u8", "u16", "u32", "u64", "usize", "i32", "i64", "bool", "f64"):
        if re.search(r"core(\[[0-9a-f]+\])?::(fmt|str|char|unicode)|alloc(\[[0-9a-f]+\])?::(fmt|str|string)", name):
            return "fmt, str"
        return "alloc" if c == "alloc" else "core"
    return "rest"


# --- report -----------------------------------------------------------------------------------


def kb(n):
    return f"{n / 1000:.1f}"


def share(total, parts):
    """Integer shares of `total` in proportion to `parts` (dict), summing exactly to total."""
    s = sum(parts.values())
    if s == 0:
        return {k: 0 for k in parts}
    raw = {k: total * v / s for k, v in parts.items()}
    out = {k: int(v) for k, v in raw.items()}
    rest = total - sum(out.values())
    for k in sorted(raw, key=lambda k: raw[k] - out[k], reverse=True)[:rest]:
        out[k] += 1
    return out


def printable_runs(data, minlen=4):
    return [m.group(0) for m in re.finditer(rb"[\x20-\x7e]{%d,}" % minlen, data)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--title", required=True)
    ap.add_argument("--dist", required=True)
    ap.add_argument("--shipped", required=True)
    ap.add_argument("--named", required=True)
    ap.add_argument("--crates", required=True, help="our crate names, comma-separated (underscores)")
    ap.add_argument("--top", type=int, default=12)
    a = ap.parse_args()
    ours = set(a.crates.split(","))

    # Files of dist/.
    files = []
    for root, _, fs in os.walk(a.dist):
        for f in fs:
            p = os.path.join(root, f)
            data = open(p, "rb").read()
            files.append((os.path.relpath(p, a.dist), len(data), brotli(data)))
    files.sort(key=lambda t: -t[2])
    whole_raw = sum(f[1] for f in files)
    whole_br = sum(f[2] for f in files)
    wasm_rel = os.path.relpath(a.shipped, a.dist)

    print(f"## {a.title}: {a.dist}/ — {whole_br:,} B brotli ({whole_br / 1024:.1f} KiB), {whole_raw:,} B raw\n")
    print("| file | raw | brotli |")
    print("|---|---:|---:|")
    for rel, raw, br in files:
        print(f"| {rel} | {raw:,} | {br:,} |")
    print(f"| **total** | **{whole_raw:,}** | **{whole_br:,}** |\n")

    # Sections of the shipped wasm.
    sw = parse(a.shipped)
    buf = sw["buf"]
    wasm_br = brotli(buf)
    kinds = {"code": b"", "data": b"", "imports": b"", "rest": b""}
    for sid, name, s, e, head in sw["secs"]:
        k = {10: "code", 11: "data", 2: "imports"}.get(sid, "rest")
        kinds[k] += buf[head:e]
    kinds["rest"] = buf[:8] + kinds["rest"]
    alone = {k: brotli(v) for k, v in kinds.items()}
    sec_share = share(wasm_br, alone)
    print(f"### {a.title}: wasm sections ({wasm_rel}: {len(buf):,} B raw, {wasm_br:,} B brotli)\n")
    print("| section | raw | brotli alone | share of the wasm's brotli |")
    print("|---|---:|---:|---:|")
    for k in kinds:
        print(f"| {k} | {len(kinds[k]):,} | {alone[k]:,} | {sec_share[k]:,} |")
    print(f"| **total** | **{len(buf):,}** | {sum(alone.values()):,} | **{wasm_br:,}** |\n")

    # Data section: text and panic-location paths.
    data = kinds["data"]
    runs = printable_runs(data)
    paths = re.findall(rb"[A-Za-z0-9_./~+\-]*\.rs", data)
    by_root = defaultdict(int)
    for p in paths:
        s = p.decode()
        if "/.rustup/" in s or s.startswith("library/") or "/rustc/" in s:
            r = "std library"
        elif "/.cargo/registry/" in s or "/.cargo/git/" in s:
            r = "crates.io"
        else:
            r = "ours"
        by_root[r] += len(p)
    print(
        f"Data section: {len(data):,} B raw, of which {sum(map(len, runs)):,} B printable text "
        f"(runs of ≥ 4) and {sum(map(len, paths)):,} B `.rs` paths of panic locations "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(by_root.items()))}).\n"
    )

    # Code section per group, from the named build.
    nw = parse(a.named)
    named_code = sum(len(b) for b in nw["bodies"])
    groups = defaultdict(list)
    for i, body in enumerate(nw["bodies"]):
        name = nw["names"].get(nw["imports"] + i)
        groups[group_of(name, ours)].append((name or f"<unnamed {i}>", body))
    g_raw = {g: sum(len(b) for _, b in fs) for g, fs in groups.items()}
    g_alone = {g: brotli(b"".join(b for _, b in fs)) for g, fs in groups.items()}
    g_share = share(sec_share["code"], g_alone)
    shipped_code = len(kinds["code"])
    print(
        f"### {a.title}: the code section by group ({sec_share['code']:,} B of the wasm's brotli)\n\n"
        f"Named build (`wasm-opt -g`, same passes): {len(nw['bodies']):,} functions, {named_code:,} B of bodies "
        f"(shipped code section {shipped_code:,} B{'' if abs(named_code - shipped_code) < shipped_code * 0.01 else ' — DIFFERS by over 1 %, shares are approximate'}).\n"
    )
    print("| group | functions | raw | brotli alone | share | largest functions (raw B) |")
    print("|---|---:|---:|---:|---:|---|")
    for g in sorted(groups, key=lambda g: -g_share[g]):
        top = sorted(groups[g], key=lambda t: -len(t[1]))[:3]
        desc = "; ".join(f"`{short(n)}` {len(b):,}" for n, b in top)
        if g == "rest":
            per = defaultdict(int)
            for n, b in groups[g]:
                per[self_crate(n) or n] += len(b)
            desc = "by crate: " + ", ".join(f"{k} {v:,}" for k, v in sorted(per.items(), key=lambda t: -t[1]))
        print(f"| {g} | {len(groups[g]):,} | {g_raw[g]:,} | {g_alone[g]:,} | {g_share[g]:,} | {desc} |")
    print(f"| **total** | {len(nw['bodies']):,} | {named_code:,} | {sum(g_alone.values()):,} | **{sum(g_share.values()):,}** | |\n")

    # Largest functions overall.
    allf = sorted(((n, len(b), g) for g, fs in groups.items() for n, b in fs), key=lambda t: -t[1])[: a.top]
    print(f"### {a.title}: the {a.top} largest functions\n")
    print("| raw B | group | function |")
    print("|---:|---|---|")
    for n, size, g in allf:
        print(f"| {size:,} | {g} | `{short(n, 140)}` |")
    print()

    # One-line summary for scripts.
    print(
        f"<!-- summary {a.title}: whole {whole_br} wasm_raw {len(buf)} wasm_br {wasm_br} "
        + " ".join(f"{k}={v}" for k, v in sec_share.items())
        + " -->\n"
    )


def short(name, n=70):
    name = name.replace("`", "'")
    return name if len(name) <= n else name[: n - 1] + "…"


if __name__ == "__main__":
    sys.exit(main())
