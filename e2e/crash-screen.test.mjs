// The crash screen, against real traps of the release build, and the load failure panel. Its std is built with
// panic=immediate-abort (README, "Release build"), so a panic is a bare wasm trap with no message
// and no Rust hook: static/boot.js draws the screen from the uncaught WebAssembly.RuntimeError.
//
// How a test makes the app's module trap: a release build has no panic it can be asked for, so the
// test calls one of the module's own exports the way no caller ever would.
// `__externref_table_dealloc` (wasm-bindgen's externref slab) with an index past the table ends in
// a trap inside our module (out of bounds, or its internal abort), as a panic does. It is called
// from a timer, so the trap ends that JS task uncaught, like a trap in any event handler of the
// app. The module's exports come from boot.js's `TrunkApplicationStarted` event.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openUser, waitConnected, waitUntil, statusText } from './helpers.mjs';

let stack;
const opened = [];

before(async () => {
  stack = await startStack();
});
after(async () => {
  for (const u of opened) await u.close();
  await stack?.stop();
});

const KEEP_EXPORTS = () => {
  addEventListener('TrunkApplicationStarted', (e) => { globalThis.__e2eWasm = e.detail.wasm; });
};

/** Makes the app's module trap in a timer task of its own. */
const trapInATimer = (page) => page.evaluate(() => {
  setTimeout(() => globalThis.__e2eWasm.__externref_table_dealloc(0x7fffffff), 0);
});

const runtimeErrors = (errors) => errors.filter((e) => /RuntimeError/.test(e));

test('a trap of the app\'s module shows the crash screen once, with a focused Reload that brings the chat back', async () => {
  const u = await openUser(stack, 'crash', '/?room=e2e-crash', { initScript: KEEP_EXPORTS });
  opened.push(u);
  await waitConnected(u.page);
  assert.ok(await u.page.evaluate(() => typeof globalThis.__e2eWasm?.__externref_table_dealloc === 'function'),
    'the module exports __externref_table_dealloc');
  assert.deepEqual(runtimeErrors(u.errors), []);

  await trapInATimer(u.page);
  const alert = u.page.getByRole('alert');
  await alert.waitFor({ timeout: 10000 });
  // The trap is reported, not swallowed: the console keeps it.
  await waitUntil(async () => runtimeErrors(u.errors).length === 1, { what: 'the RuntimeError reported' });
  assert.match(await alert.innerText(), /Something went wrong[\s\S]*internal error/);
  const reload = alert.getByRole('button', { name: 'Reload' });
  assert.ok(await reload.evaluate((b) => b === document.activeElement), 'Reload has the focus');
  // The dead app is hidden: only the panel is shown in the mount element.
  const mount = u.page.locator('[data-livechat-mounted]');
  assert.match(await mount.getAttribute('class'), /\blc-crashed\b/);
  assert.equal(await u.page.locator('[role="status"]').isVisible(), false, 'the dead chat is hidden');
  assert.equal(await mount.locator('.lc-crash').count(), 1);

  // A second trap draws nothing more.
  await trapInATimer(u.page);
  await waitUntil(async () => runtimeErrors(u.errors).length === 2, { what: 'the second RuntimeError reported' });
  assert.equal(await u.page.getByRole('alert').count(), 1, 'one panel after two traps');

  await Promise.all([u.page.waitForNavigation(), reload.click()]);
  await waitConnected(u.page);
  assert.equal(await u.page.locator('.lc-crash').count(), 0);
  assert.match(await statusText(u.page), /connected/i);
});

test('a trap of another wasm module on the page leaves the chat running', async () => {
  const u = await openUser(stack, 'crash-host', '/?room=e2e-crash-host');
  opened.push(u);
  // A module of the host's, served from its own .wasm URL: one function that traps
  // (`(func (export "boom") unreachable)`).
  const boom = Buffer.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
    0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
    0x07, 0x08, 0x01, 0x04, 0x62, 0x6f, 0x6f, 0x6d, 0x00, 0x00, // export "boom" = func 0
    0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b, // code: no locals, unreachable, end
  ]);
  await u.page.route('**/host-widget.wasm', (route) => route.fulfill({ body: boom, contentType: 'application/wasm' }));
  await waitConnected(u.page);
  await u.page.evaluate(async () => {
    const { instance } = await WebAssembly.instantiateStreaming(fetch('/host-widget.wasm'));
    setTimeout(() => instance.exports.boom(), 0);
  });
  await waitUntil(async () => runtimeErrors(u.errors).length === 1, { what: 'the host module\'s RuntimeError' });
  assert.match(runtimeErrors(u.errors)[0], /unreachable/);
  // The crash screen would be drawn in the same task as the error event: after the error is
  // reported, it is either there or never will be.
  await u.page.evaluate(() => new Promise((r) => setTimeout(r, 100)));
  assert.equal(await u.page.locator('.lc-crash').count(), 0, 'no crash screen for a host module\'s trap');
  assert.match(await statusText(u.page), /connected/i);
});

test('a wasm that does not arrive shows "could not load" with Reload instead of "Loading chat…" for ever', async () => {
  const u = await openUser(stack, 'crash-load', null);
  opened.push(u);
  // The network fails for the module (its preload and boot.js's fetch) until the reload.
  let refuse = true;
  let served = 0;
  await u.page.route('**/livechat_bg.wasm', (route) => {
    if (refuse) return route.abort('connectionreset');
    served++;
    return route.fallback();
  });
  await u.page.goto(`${stack.base}/?room=e2e-crash-load`);
  const alert = u.page.getByRole('alert');
  await alert.waitFor({ timeout: 15000 });
  assert.match(await alert.innerText(), /could not load/);
  assert.equal(await u.page.locator('.lc-loading').isVisible(), false, 'the placeholder is hidden');
  const reload = alert.getByRole('button', { name: 'Reload' });
  assert.ok(await reload.evaluate((b) => b === document.activeElement), 'Reload has the focus');
  refuse = false;
  await Promise.all([u.page.waitForNavigation(), reload.click()]);
  await waitConnected(u.page);
  assert.ok(served >= 1, 'the reload fetched the module again');
  assert.equal(await u.page.locator('.lc-crash').count(), 0);
});
