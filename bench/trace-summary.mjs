#!/usr/bin/env node
// What the page's main thread did from navigation to connected, from a BENCH_TRACE=1 trace
// (bench/results/trace-<client>-<run>.json): every main-thread task of at least MIN_MS (default 1),
// in page time (ms after navigationStart), with the named work inside it that took longest, the
// page's marks, and the busy total of the top-level tasks. Attribution only.
//
//   node bench/trace-summary.mjs bench/results/trace-ours-ui-1.json [more.json ...]
//   MIN_MS=0.5 UNTIL_MS=400 node bench/trace-summary.mjs ...
import fs from 'node:fs';

const MIN_MS = Number(process.env.MIN_MS || 1);
const UNTIL_MS = Number(process.env.UNTIL_MS || 600);
const TASKS = new Set(['ThreadControllerImpl::RunTask', 'RunTask']);
// Wrappers that say nothing about the work itself.
const WRAPPERS = new Set([...TASKS, 'RunMicrotasks', 'ScheduledAction::execute', 'v8.callFunction', 'V8.HandleInterrupts']);

function summarize(file) {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  const events = Array.isArray(raw) ? raw : raw.traceEvents;
  const threadName = new Map();
  for (const e of events) {
    if (e.ph === 'M' && e.name === 'thread_name') threadName.set(`${e.pid}:${e.tid}`, e.args.name);
  }
  // The page's renderer: the main thread with a navigationStart of an http(s) document.
  const nav = events.filter((e) => e.name === 'navigationStart'
    && /^https?:/.test(e.args?.data?.documentLoaderURL || '')
    && threadName.get(`${e.pid}:${e.tid}`) === 'CrRendererMain');
  if (!nav.length) throw new Error(`${file}: no navigationStart of an http document on a renderer main thread`);
  const start = nav[nav.length - 1];
  const key = `${start.pid}:${start.tid}`;
  const t0 = start.ts;
  const ms = (ts) => (ts - t0) / 1000;
  const main = events.filter((e) => `${e.pid}:${e.tid}` === key && e.ts >= t0 && ms(e.ts) <= UNTIL_MS);
  const complete = main.filter((e) => e.ph === 'X' && typeof e.dur === 'number');
  // Top-level tasks only: both task event names are recorded, one nested in the other.
  let end = -Infinity;
  const tasks = complete.filter((e) => TASKS.has(e.name)).sort((a, b) => a.ts - b.ts || b.dur - a.dur)
    .filter((t) => (t.ts >= end ? ((end = t.ts + t.dur), true) : false));
  const marks = main.filter((e) => (e.ph === 'R' || e.ph === 'I' || e.ph === 'i' || e.ph === 'n')
    && /navigationStart|responseEnd|domInteractive|domContentLoaded|loadEventEnd|MarkDOMContent|MarkLoad|firstContentfulPaint|TimeStamp/.test(e.name))
    .map((e) => ({ at: ms(e.ts), name: e.name === 'TimeStamp' ? `mark ${e.args?.data?.message}` : e.name }));
  console.log(`== ${file}: renderer ${key}, ${tasks.length} tasks in the first ${UNTIL_MS} ms`);
  let busy = 0;
  const lines = [];
  for (const t of tasks) {
    const dur = t.dur / 1000;
    busy += dur;
    if (dur < MIN_MS) continue;
    const inner = complete.filter((e) => e !== t && e.ts >= t.ts && e.ts + e.dur <= t.ts + t.dur && !WRAPPERS.has(e.name));
    // Self-ish attribution: the longest events that are not inside a longer one of the same name.
    const byName = new Map();
    for (const e of inner) {
      const label = e.name === 'EvaluateScript' || e.name === 'v8.compile' || e.name === 'v8.compileModule' || e.name === 'ResourceSendRequest'
        ? `${e.name}(${(e.args?.data?.url || e.args?.fileName || '').split('/').pop()})`
        : e.name === 'FunctionCall' ? `FunctionCall(${e.args?.data?.functionName || ''}@${(e.args?.data?.url || '').split('/').pop()})`
          : e.name === 'EventDispatch' ? `EventDispatch(${e.args?.data?.type})` : e.name;
      byName.set(label, Math.max(byName.get(label) || 0, e.dur / 1000));
    }
    const top = [...byName].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([n, d]) => `${n} ${d.toFixed(1)}`);
    lines.push({ at: ms(t.ts), text: `${ms(t.ts).toFixed(1).padStart(7)} +${dur.toFixed(1).padStart(6)}  ${top.join('; ')}` });
  }
  for (const m of marks) lines.push({ at: m.at, text: `${m.at.toFixed(1).padStart(7)}  ·  ${m.name}` });
  lines.sort((a, b) => a.at - b.at);
  for (const l of lines) console.log(l.text);
  console.log(`busy ${busy.toFixed(1)} ms in tasks over the first ${UNTIL_MS} ms`);
}

for (const f of process.argv.slice(2)) summarize(f);
