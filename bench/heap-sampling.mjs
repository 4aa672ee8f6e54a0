#!/usr/bin/env node
// Lists the live allocations of a sampling heap profile (BENCH_HEAP_SAMPLING=1 writes
// bench/results/heap-sampling-<client>-<run>.json) at least MIN bytes large (default 16384),
// each with the JS stack that allocated it. Usage: MIN=16384 node bench/heap-sampling.mjs file...
import fs from 'node:fs';

const min = Number(process.env.MIN || 16384);
for (const file of process.argv.slice(2)) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const parent = new Map();
  const byId = new Map();
  const walk = (node, up) => {
    byId.set(node.id, node);
    parent.set(node.id, up);
    for (const child of node.children || []) walk(child, node);
  };
  walk(profile.head, null);
  const frame = (n) => {
    const f = n.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}:${f.columnNumber + 1}` : '';
    return `${f.functionName || '(anonymous)'} ${where}`.trim();
  };
  const total = profile.samples.reduce((s, x) => s + x.size, 0);
  console.log(`== ${file}: ${profile.samples.length} samples, ${(total / 1024).toFixed(1)} KiB sampled live`);
  for (const sample of [...profile.samples].sort((a, b) => b.size - a.size)) {
    if (sample.size < min) break;
    console.log(`${sample.size} B`);
    for (let n = byId.get(sample.nodeId); n && n.callFrame.functionName !== '(root)'; n = parent.get(n.id)) {
      console.log(`    ${frame(n)}`);
    }
  }
}
