// Accessibility helpers for the e2e tests: an axe-core audit of a page (WCAG 2.1 A/AA + best
// practice) with the violations printed in full when it fails, and a recorder of what the page's
// ARIA live regions would announce (the rules of WAI-ARIA 1.2 applied to DOM mutations).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
let axeSource;

/** The rule tags the audit runs: WCAG 2.0/2.1 A and AA, and axe's best practices. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/**
 * Runs axe-core in `page` (its main frame; `include` narrows it to selectors) and resolves to the
 * violations, each `{ id, impact, help, helpUrl, nodes: [{ target, html, summary }] }`. The script
 * is evaluated through the DevTools protocol, so the page's Content-Security-Policy does not apply
 * to it (nothing is added to the page's own scripts).
 */
export async function audit(page, { include = null } = {}) {
  axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
  return page.evaluate(async ({ tags, include }) => {
    const result = await window.axe.run(include ? { include } : document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html, summary: n.failureSummary })),
    }));
  }, { tags: AXE_TAGS, include });
}

/** The violations as readable text: rule, impact, help, then each element with what fails. */
export function formatViolations(violations) {
  return violations.map((v) => [
    `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})`,
    ...v.nodes.map((n) => `    at ${n.target}\n      ${n.html}\n      ${(n.summary || '').replace(/\n/g, '\n      ')}`),
  ].join('\n')).join('\n');
}

/**
 * Fails when any violation is serious or critical, printing all of them; minor and moderate ones
 * are printed as a warning (they are reported, not failed).
 */
export function assertNoSeriousViolations(what, violations) {
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const rest = violations.filter((v) => !serious.includes(v));
  if (rest.length) console.warn(`axe (${what}): ${rest.length} minor/moderate violation(s):\n${formatViolations(rest)}`);
  assert.ok(serious.length === 0,
    `axe (${what}): ${serious.length} serious or critical violation(s):\n${formatViolations(serious)}`);
}

/**
 * Starts recording what the page's live regions announce. Each batch of DOM mutations (one
 * MutationObserver callback, as a screen reader coalesces one rendering) gives at most one
 * announcement per live region, following WAI-ARIA: the region is the nearest ancestor with
 * `aria-live` (not "off") or a live role (log, status: polite; alert: assertive); additions of
 * nodes count when `aria-relevant` includes "additions", text changes when it includes "text",
 * removals when it includes "removals" (default "additions text"); an atomic region
 * (`aria-atomic="true"`, implicit for status and alert) is read whole, otherwise only the changed
 * nodes' text is. Text under `aria-hidden="true"` is not read.
 */
export async function recordLiveRegions(page) {
  await page.evaluate(() => {
    window.__announcements = [];
    window.__liveObserver?.disconnect();
    const implicit = { log: 'polite', status: 'polite', alert: 'assertive', marquee: 'off', timer: 'off' };
    const regionOf = (node) => {
      for (let el = node.nodeType === 1 ? node : node.parentElement; el; el = el.parentElement) {
        const live = el.getAttribute('aria-live') || implicit[el.getAttribute('role')];
        if (live) return live === 'off' ? null : el;
      }
      return null;
    };
    const politeness = (el) => el.getAttribute('aria-live') || implicit[el.getAttribute('role')];
    const atomic = (el) => (el.getAttribute('aria-atomic') ?? (['status', 'alert'].includes(el.getAttribute('role')) ? 'true' : 'false')) === 'true';
    const relevant = (el) => (el.getAttribute('aria-relevant') || 'additions text').split(/\s+/);
    const spoken = (node) => {
      if (node.nodeType === 3) return node.parentElement?.closest('[aria-hidden="true"]') ? '' : node.data;
      if (node.nodeType !== 1 || node.closest('[aria-hidden="true"]')) return '';
      const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
      let text = '';
      while (walker.nextNode()) if (!walker.currentNode.parentElement.closest('[aria-hidden="true"]')) text += walker.currentNode.data;
      return text;
    };
    const clean = (s) => s.replace(/\s+/g, ' ').trim();
    window.__liveObserver = new MutationObserver((records) => {
      // Per region: the nodes added, the text nodes changed, the text removed, in this batch.
      // A node added and then filled (a renderer inserts an element, then its children) is one
      // addition, read as it is now; a change inside an added node is part of that addition.
      const batch = new Map();
      const of = (region) => {
        if (!batch.has(region)) batch.set(region, { added: [], changed: [], removed: [] });
        return batch.get(region);
      };
      for (const r of records) {
        const region = regionOf(r.target);
        if (!region) continue;
        if (r.type === 'characterData') of(region).changed.push(r.target);
        for (const n of r.addedNodes) of(region).added.push(n);
        for (const n of r.removedNodes) of(region).removed.push(n.textContent || '');
      }
      for (const [region, { added, changed, removed }] of batch) {
        const rel = relevant(region);
        const wants = (kind) => rel.includes(kind) || rel.includes('all');
        const live = (n) => region.contains(n);
        const roots = added.filter((n) => live(n) && !added.some((o) => o !== n && o.contains(n)));
        const parts = [];
        if (wants('additions')) parts.push(...roots.map(spoken));
        if (wants('text')) parts.push(...changed.filter((n) => live(n) && !roots.some((o) => o.contains(n))).map(spoken));
        if (wants('removals')) parts.push(...removed);
        if (!parts.some((p) => clean(p))) continue;
        const text = clean(atomic(region) ? spoken(region) : parts.join(' '));
        if (text) {
          window.__announcements.push({
            politeness: politeness(region),
            region: region.getAttribute('aria-label') || region.getAttribute('role') || region.className,
            text,
          });
        }
      }
    });
    window.__liveObserver.observe(document.body, { childList: true, characterData: true, subtree: true });
  });
}

/** Stops recording; resolves to the announcements since `recordLiveRegions`. */
export async function takeAnnouncements(page) {
  return page.evaluate(() => {
    window.__liveObserver?.disconnect();
    window.__liveObserver = null;
    return window.__announcements || [];
  });
}
