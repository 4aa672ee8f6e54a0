#!/usr/bin/env node
// Compares V8 heap snapshots (BENCH_HEAP_SNAPSHOT=1 writes bench/results/heap-*.heapsnapshot):
// self size per class (DevTools' "Summary" grouping), the largest single nodes, and the retained
// size of the given scripts' top-level objects. Usage: node bench/heap-summary.mjs a.heapsnapshot b.heapsnapshot ...
import fs from 'node:fs';
import path from 'node:path';

function load(file) {
  const snap = JSON.parse(fs.readFileSync(file, 'utf8'));
  const m = snap.snapshot.meta;
  const nf = m.node_fields;
  const ef = m.edge_fields;
  const types = m.node_types[0];
  const etypes = m.edge_types[0];
  const N = nf.length;
  const E = ef.length;
  const iType = nf.indexOf('type'), iName = nf.indexOf('name'), iSelf = nf.indexOf('self_size'), iEdges = nf.indexOf('edge_count'), iId = nf.indexOf('id');
  const eType = ef.indexOf('type'), eName = ef.indexOf('name_or_index'), eTo = ef.indexOf('to_node');
  const nodes = snap.nodes, edges = snap.edges, strings = snap.strings;
  const count = nodes.length / N;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) { firstEdge[i] = e; e += nodes[i * N + iEdges] * E; firstEdge[i + 1] = e; }
  const node = (i) => ({ type: types[nodes[i * N + iType]], name: strings[nodes[i * N + iName]], self: nodes[i * N + iSelf], id: nodes[i * N + iId] });
  const children = (i, fn) => {
    for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += E) {
      const t = etypes[edges[e + eType]];
      const nm = t === 'element' || t === 'hidden' ? edges[e + eName] : strings[edges[e + eName]];
      fn(edges[e + eTo] / N, t, nm);
    }
  };
  return { count, node, children, N };
}

function cls(n) {
  switch (n.type) {
    case 'object': case 'native': return n.name;
    case 'closure': return '(closure)';
    case 'string': case 'concatenated string': case 'sliced string': return '(string)';
    case 'code': return '(compiled code)';
    case 'hidden': return '(system)';
    case 'array': return '(array)';
    case 'regexp': return '(regexp)';
    case 'number': case 'heap number': return '(number)';
    case 'object shape': return '(object shape)';
    default: return `(${n.type})`;
  }
}

// Dominators (Cooper, Harvey, Kennedy) over non-weak edges from the root (node 0), for retained sizes.
function retained(g) {
  const { count, node, children } = g;
  const order = new Int32Array(count).fill(-1);
  const post = [];
  const preds = Array.from({ length: count }, () => []);
  const stack = [[0, null]];
  const seen = new Uint8Array(count);
  // Iterative DFS for postorder.
  const it = [];
  seen[0] = 1;
  it.push({ n: 0, kids: kidsOf(0), k: 0 });
  function kidsOf(i) { const k = []; children(i, (c, t) => { if (t !== 'weak') k.push(c); }); return k; }
  while (it.length) {
    const top = it[it.length - 1];
    if (top.k < top.kids.length) {
      const c = top.kids[top.k++];
      preds[c].push(top.n);
      if (!seen[c]) { seen[c] = 1; it.push({ n: c, kids: kidsOf(c), k: 0 }); }
    } else { order[top.n] = post.length; post.push(top.n); it.pop(); }
  }
  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  const intersect = (a, b) => { while (a !== b) { while (order[a] < order[b]) a = idom[a]; while (order[b] < order[a]) b = idom[b]; } return a; };
  let changed = true;
  while (changed) {
    changed = false;
    for (let p = post.length - 1; p >= 0; p--) {
      const b = post[p];
      if (b === 0) continue;
      let nd = -1;
      for (const q of preds[b]) if (idom[q] !== -1) nd = nd === -1 ? q : intersect(q, nd);
      if (nd !== -1 && idom[b] !== nd) { idom[b] = nd; changed = true; }
    }
  }
  const ret = new Float64Array(count);
  for (const b of post) { ret[b] += node(b).self; if (b !== 0 && idom[b] >= 0) ret[idom[b]] += ret[b]; }
  return { ret, idom, reachable: seen };
}

const files = process.argv.slice(2);
const all = [];
for (const f of files) {
  const g = load(f);
  const { ret, reachable } = retained(g);
  const byCls = new Map();
  let total = 0;
  const big = [];
  for (let i = 0; i < g.count; i++) {
    if (!reachable[i]) continue;
    const n = g.node(i);
    total += n.self;
    const c = cls(n);
    const v = byCls.get(c) || { self: 0, count: 0 };
    v.self += n.self; v.count++;
    byCls.set(c, v);
    big.push([n.self, ret[i], i]);
  }
  big.sort((a, b) => b[0] - a[0]);
  all.push({ f: path.basename(f), g, ret, byCls, total, big });
}
const kib = (b) => (b / 1024).toFixed(1);
console.log('reachable self total KiB: ' + all.map((a) => `${a.f} ${kib(a.total)}`).join(' | '));
const classes = new Set(); for (const a of all) for (const c of a.byCls.keys()) classes.add(c);
const rows = [...classes].map((c) => [c, ...all.map((a) => (a.byCls.get(c)?.self || 0))]);
rows.sort((x, y) => Math.max(...y.slice(1)) - Math.max(...x.slice(1)));
console.log(['class', ...all.map((a) => a.f)].join('\t'));
for (const r of rows.slice(0, Number(process.env.TOP || 40))) console.log([r[0], ...r.slice(1).map(kib)].join('\t'));
for (const a of all) {
  console.log(`\n== ${a.f}: largest nodes (self KiB / retained KiB)`);
  for (const [self, ret, i] of a.big.slice(0, Number(process.env.BIG || 25))) {
    const n = a.g.node(i);
    console.log(`${kib(self)}\t${kib(ret)}\t${n.type}\t${String(n.name).slice(0, 90).replace(/\s+/g, ' ')}`);
  }
}

// Each node's retainer on a shortest path from the root (weak edges skipped) and the edge to it
// (`type:name`; array elements as `element` when `elementIndex` is false).
function shortestRetainers(g, elementIndex = true) {
  const parent = new Int32Array(g.count).fill(-1);
  const via = new Array(g.count);
  const q = [0]; parent[0] = 0;
  for (let h = 0; h < q.length; h++) {
    const i = q[h];
    g.children(i, (c, t, nm) => {
      if (t !== 'weak' && parent[c] === -1) { parent[c] = i; via[c] = !elementIndex && t === 'element' ? 'element' : `${t}:${nm}`; q.push(c); }
    });
  }
  return { parent, via };
}

// CLASS=<class> [PATHS=n]: the largest nodes of that class in each snapshot, with one retainer
// path each (shortest from the root).
if (process.env.CLASS) {
  for (const a of all) {
    const g = a.g;
    const { parent, via } = shortestRetainers(g);
    const list = [];
    for (let i = 0; i < g.count; i++) { const n = g.node(i); if (cls(n) === process.env.CLASS && parent[i] !== -1) list.push([n.self, i]); }
    list.sort((x, y) => y[0] - x[0]);
    console.log(`\n== ${a.f}: ${process.env.CLASS}, ${list.length} nodes, largest with a path`);
    for (const [self, i] of list.slice(0, Number(process.env.PATHS || 15))) {
      const chain = [];
      for (let j = i, k = 0; j !== 0 && k < 8; j = parent[j], k++) { const n = g.node(j); chain.push(`${via[j]} <- ${n.type}:${String(n.name).slice(0, 40).replace(/\s+/g, ' ')}`); }
      console.log(`${kib(self)} ret ${kib(a.ret[i])}: ${chain.join(' | ')}`);
    }
  }
}

// V8-heap view: node types other than 'native' (Blink objects and off-heap data are 'native'),
// per class, with the difference of each snapshot to the first.
if (process.env.V8ONLY) {
  const v8 = all.map((a) => {
    const m = new Map(); let tot = 0;
    for (let i = 0; i < a.g.count; i++) { const n = a.g.node(i); if (n.type === 'synthetic') continue; if (n.type === 'native' && (!String(n.name).startsWith('system / ') || /JSArrayBufferData|CppGCManaged|ExternalStringData/.test(n.name))) continue; tot += n.self; const c = cls(n); m.set(c, (m.get(c) || 0) + n.self); }
    return { m, tot };
  });
  console.log('\nV8 heap (non-native) self KiB: ' + v8.map((v, k) => `${all[k].f} ${kib(v.tot)}`).join(' | '));
  const cs = new Set(); for (const v of v8) for (const c of v.m.keys()) cs.add(c);
  const rows = [...cs].map((c) => [c, ...v8.map((v) => v.m.get(c) || 0)]);
  rows.sort((x, y) => Math.abs(y[y.length - 1] - y[1]) - Math.abs(x[x.length - 1] - x[1]));
  for (const r of rows.slice(0, 40)) console.log([r[0].slice(0, 50), ...r.slice(1).map(kib), ...r.slice(2).map((x) => '+' + kib(x - r[1]))].join('\t'));
}

// BYNAME=<class>: within that class, self KiB per node name (first 60 characters), largest
// difference of the last snapshot to the first first.
if (process.env.BYNAME) {
  const want = process.env.BYNAME.split(',');
  const per = all.map((a) => {
    const m = new Map();
    for (let i = 0; i < a.g.count; i++) {
      const n = a.g.node(i);
      const c = cls(n);
      if (!want.includes(c)) continue;
      const k = `${c} ${String(n.name).slice(0, 60).replace(/\s+/g, ' ').replace(/@\d+/g, '@')}`;
      const v = m.get(k) || [0, 0]; v[0] += n.self; v[1]++; m.set(k, v);
    }
    return m;
  });
  const ks = new Set(); for (const m of per) for (const k of m.keys()) ks.add(k);
  const rows = [...ks].map((k) => [k, ...per.map((m) => m.get(k) || [0, 0])]);
  const last = rows[0].length - 1;
  rows.sort((x, y) => (y[last][0] - y[1][0]) - (x[last][0] - x[1][0]));
  console.log(`\n== by name: ${want.join(',')} (KiB/count per snapshot)`);
  for (const r of rows.slice(0, Number(process.env.ROWS || 30))) console.log([...r.slice(1).map((v) => `${kib(v[0])}/${v[1]}`), r[0]].join('\t'));
}

// BYPARENT=<class>: that class's self KiB grouped by its retaining edge and the retainer's class
// (shortest path from the root), per snapshot.
if (process.env.BYPARENT) {
  const want = process.env.BYPARENT.split(',');
  const per = all.map((a) => {
    const g = a.g;
    const { parent, via } = shortestRetainers(g, false);
    const m = new Map();
    for (let i = 0; i < g.count; i++) {
      const n = g.node(i);
      if (!want.includes(cls(n)) || parent[i] === -1) continue;
      const p = g.node(parent[i]);
      let k = `${cls(n)} <-${via[i]}- ${cls(p).slice(0, 40)}`;
      if (p.type === 'array' || p.type === 'hidden') { const pp = g.node(parent[parent[i]]); k += ` <-${via[parent[i]]}- ${cls(pp).slice(0, 30)}`; }
      k = k.replace(/@\d+/g, '@');
      const v = m.get(k) || [0, 0]; v[0] += a.ret[i]; v[1]++; m.set(k, v);
    }
    return m;
  });
  const ks = new Set(); for (const m of per) for (const k of m.keys()) ks.add(k);
  const rows = [...ks].map((k) => [k, ...per.map((m) => m.get(k) || [0, 0])]);
  const last = rows[0].length - 1;
  rows.sort((x, y) => (y[last][0] - y[1][0]) - (x[last][0] - x[1][0]));
  console.log(`\n== by retainer (retained KiB/count): ${want.join(',')}`);
  for (const r of rows.slice(0, Number(process.env.ROWS || 30))) console.log([...r.slice(1).map((v) => `${kib(v[0])}/${v[1]}`), r[0]].join('\t'));
}

// SOURCES=1: the script source strings (retained by compiled code's `source` edge) of each snapshot.
if (process.env.SOURCES) {
  for (const a of all) {
    const g = a.g;
    console.log(`\n== ${a.f}: script sources`);
    const seen = new Set();
    for (let i = 0; i < g.count; i++) {
      g.children(i, (c, t, nm) => {
        if (nm !== 'source' || seen.has(c)) return;
        seen.add(c);
        const n = g.node(c);
        if (!n.type.includes('string')) return;
        let ext = 0; g.children(c, (cc) => { const x = g.node(cc); if (x.type === 'native') ext += x.self; });
        console.log(`${kib(n.self)} on-heap + ${kib(ext)} external, ret ${kib(a.ret[c])}\t${n.type}\t${String(n.name).slice(0, 70).replace(/\s+/g, ' ')}`);
      });
    }
  }
}

