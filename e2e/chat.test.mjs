// Two users chat both ways; XSS payloads stay text; the forbidden room is refused in words; a
// screenshot of a live conversation is saved for the README.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { repo, startStack, openUser, waitConnected, waitUntil, send, messageTexts, statusText } from './helpers.mjs';

let stack;
const opened = [];
const open = async (...args) => { const u = await openUser(...args); opened.push(u); return u; };

before(async () => { stack = await startStack(); });
after(async () => {
  for (const u of opened) await u.close();
  await stack?.stop();
});

test('two signed-in users chat both ways', async () => {
  const alice = await open(stack, 'alice', '/?room=e2e-both');
  const bob = await open(stack, 'bob', '/?room=e2e-both');
  await Promise.all([waitConnected(alice.page), waitConnected(bob.page)]);

  await send(alice.page, 'Hello Bob, this is Alice');
  await waitUntil(async () => (await messageTexts(bob.page)).includes('Hello Bob, this is Alice'),
    { what: 'Alice\'s message at Bob' });
  await send(bob.page, 'Hi Alice!');
  await waitUntil(async () => (await messageTexts(alice.page)).includes('Hi Alice!'),
    { what: 'Bob\'s message at Alice' });

  // Own messages are styled apart, and reach "delivered".
  const own = alice.page.locator('.lc-msg.lc-own', { hasText: 'Hello Bob' });
  await waitUntil(async () => (await own.locator('.lc-delivery').innerText()) === 'delivered',
    { what: 'delivered mark on Alice\'s message' });
  assert.equal(await bob.page.locator('.lc-msg.lc-other', { hasText: 'Hello Bob' }).count(), 1);
  // Each message exactly once on both sides.
  for (const u of [alice, bob]) {
    const texts = await messageTexts(u.page);
    assert.equal(texts.filter((t) => t === 'Hi Alice!').length, 1);
    assert.equal(texts.filter((t) => t === 'Hello Bob, this is Alice').length, 1);
  }

  await alice.page.screenshot({ path: path.join(repo, 'docs', 'screenshot.png') });

  // Empty messages are not sent; the composer works from the keyboard alone.
  const before = (await messageTexts(alice.page)).length;
  await send(alice.page, '   ');
  await alice.page.keyboard.press('Tab'); // to the Send button
  await alice.page.keyboard.press('Enter');
  assert.equal((await messageTexts(alice.page)).length, before);

  assert.deepEqual(alice.errors, []);
});

test('signed out, the dev sign-in form signs the user in and comes back to the room', async () => {
  const carol = await open(stack, 'carol', null);
  await carol.context.clearCookies();
  await carol.page.goto(`${stack.base}/?room=e2e-sign-in`);
  await waitUntil(async () => /Signed out/.test(await statusText(carol.page)), { what: 'status "Signed out"' });
  await carol.page.getByLabel('Dev sign-in as').fill('carol');
  await carol.page.getByRole('button', { name: 'Sign in' }).click();
  await waitConnected(carol.page);
  assert.equal(new URL(carol.page.url()).pathname + new URL(carol.page.url()).search, '/?room=e2e-sign-in');
  assert.equal(await carol.page.getByLabel('Dev sign-in as').count(), 0, 'no sign-in offered once signed in');
});

test('XSS payloads appear as plain text', async () => {
  const mallory = await open(stack, 'mallory', '/?room=e2e-xss');
  const victim = await open(stack, 'victim', '/?room=e2e-xss');
  await Promise.all([waitConnected(mallory.page), waitConnected(victim.page)]);
  let fired = false;
  await victim.page.exposeFunction('__xssFired', () => { fired = true; });
  const payloads = [
    '<img src=x onerror="window.__xssFired()">',
    '<script>window.__xssFired()</script>',
    '<a href="javascript:window.__xssFired()">click me</a>',
    '"><svg onload=window.__xssFired()>',
  ];
  for (const p of payloads) await send(mallory.page, p);
  await waitUntil(async () => (await messageTexts(victim.page)).length >= payloads.length,
    { what: 'all payloads at the victim' });
  assert.deepEqual(await messageTexts(victim.page), payloads);
  const log = victim.page.locator('[role="log"]');
  assert.equal(await log.locator('img, script, svg, a').count(), 0, 'no element was created from a message');
  await victim.page.waitForTimeout(300);
  assert.equal(fired, false);
});

test('a user opening the room "admin" sees the refusal in words', async () => {
  const eve = await open(stack, 'eve', '/?room=admin');
  await waitUntil(async () => (await statusText(eve.page)).includes("You don't have access to this room"),
    { what: 'the refusal in the status line' });
  assert.equal(await eve.page.getByRole('textbox', { name: 'Message' }).isDisabled(), true);
});

test('an invalid configuration names the bad setting', async () => {
  const u = await open(stack, 'carol', '/?room=no%20spaces');
  const alert = u.page.getByRole('alert');
  await waitUntil(async () => (await alert.innerText()).includes('room'), { what: 'the error screen' });
  assert.match(await alert.innerText(), /room \(data-room\)/);
});
