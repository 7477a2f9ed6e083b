// inbox.test.mjs - the web app in a real browser (Debian's Chromium) against
// a real impactchat on loopback: sign-in, the lists, a person writing in,
// opening the conversation and replying. Steps run in order and share one
// sandbox; each leaves a screenshot in SHOTS (build/screenshots).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, launchBrowser, newPage, shot, focused, postJson, stepper } from './lib.mjs';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
  "media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const PERSON = '27820001111';

let sb;
let browser;
let page;

// Before signing in, GET /api/v1/me answers 401: that is how the app learns
// it must show the sign-in page, not an error.
function expected401(msg) {
  return /status of 401/.test(msg.text()) && /\/api\/v1\/(me|auth\/login)$/.test(msg.location().url || '');
}

before(async () => {
  sb = await startSandbox();
  browser = await launchBrowser();
  page = await newPage(browser, expected401);
});

// The steps build on each other: once one fails, the rest are skipped
// rather than each waiting out its timeouts.
const step = stepper();

after(async () => {
  if (browser) await browser.close();
  if (sb) assert.equal(await sb.stop(), 0, 'the sandbox stopped cleanly');
});

step('the app is served from the binary: index for /app/..., gzip, ETag and 304, 404 for unknown files', async () => {
  const page1 = await fetch(sb.url + '/app/inbox/all/12');
  assert.equal(page1.status, 200);
  assert.match(page1.headers.get('content-type'), /^text\/html/);
  assert.equal(page1.headers.get('content-security-policy'), CSP);
  assert.match(await page1.text(), /<script type="module" src="\/static\/app.js">/);
  const etag = page1.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{32}(-gz)?"$/);
  assert.match(page1.headers.get('cache-control'), /no-cache/);
  const again = await fetch(sb.url + '/app/inbox/all/12', { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  // Node's fetch asks for gzip and unpacks it: the script arrives whole.
  const js = await fetch(sb.url + '/static/app.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-encoding'), 'gzip');
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.equal(js.headers.get('content-security-policy'), null);
  assert.ok((await js.text()).length > 1000);
  const missing = await fetch(sb.url + '/static/nope.js');
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: { code: 'not_found', message: 'no such file' } });
});

step('the sign-in page loads with the CSP, no console errors and a sensible focus order', async () => {
  const res = await page.goto(sb.url + '/');
  assert.equal(res.status(), 200);
  const h = res.headers();
  assert.equal(h['content-security-policy'], CSP);
  assert.equal(h['x-content-type-options'], 'nosniff');
  assert.equal(h['referrer-policy'], 'no-referrer');
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/app/sign-in');
  assert.equal(await page.title(), 'Sign in · impactchat');
  // The email box has the focus; Tab goes password, then the button.
  assert.equal(await focused(page), 'email');
  await page.keyboard.press('Tab');
  assert.equal(await focused(page), 'password');
  await page.keyboard.press('Tab');
  assert.equal(await focused(page), 'button[submit]');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await focused(page), 'password');
  await shot(page, '01-sign-in');
  assert.deepEqual(page.errors, []);
});

step('a wrong password is refused with a message, by keyboard alone', async () => {
  await page.locator('#email').focus();
  await page.keyboard.type(sb.email);
  await page.keyboard.press('Tab');
  await page.keyboard.type('not-the-password');
  await page.keyboard.press('Enter');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /do not match/);
  await shot(page, '02-sign-in-refused');
  assert.deepEqual(page.errors, []);
});

step('the admin signs in and sees the lists', async () => {
  await page.locator('#password').fill(sb.password);
  await page.keyboard.press('Enter');
  await page.getByRole('navigation', { name: 'Lists' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/app/inbox/unassigned');
  const views = await page.getByRole('navigation', { name: 'Lists' }).getByRole('link').allTextContents();
  assert.deepEqual(views, ['Unassigned', 'Mine', 'My teams', 'All', 'Urgent', 'Closed']);
  await page.getByText('No conversations here.').waitFor();
  await page.getByRole('link', { name: 'All' }).click();
  await page.waitForURL('**/app/inbox/all');
  await shot(page, '03-inbox-empty');
  assert.deepEqual(page.errors, []);
});

step('a person writes in and the conversation appears; j and Enter open it', async () => {
  const [st] = await postJson(`${sb.sim_url}/sim/people/${PERSON}/send`, { type: 'text', text: 'Hello, is the clinic open on Saturday?' });
  assert.equal(st, 200);
  const row = page.locator('a.conv').first();
  await row.waitFor({ timeout: 15000 }); // the list updates live (60 s fallback poll)
  assert.match(await row.textContent(), /Sim Person|27820001111/);
  await shot(page, '04-conversation-arrives');
  await page.locator('body').click({ position: { x: 700, y: 400 } });
  await page.keyboard.press('j');
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('conv')), true);
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/app\/inbox\/all\/\d+$/);
  await page.locator('.bubble.in', { hasText: 'Hello, is the clinic open on Saturday?' }).waitFor();
  await shot(page, '05-conversation-open');
  assert.deepEqual(page.errors, []);
});

step('r focuses the reply box; Enter sends; the reply shows its ticks', async () => {
  await page.keyboard.press('r');
  assert.equal(await focused(page), 'reply');
  await page.keyboard.type('Yes, from 9am to 1pm.');
  await page.keyboard.press('Enter');
  const mine = page.locator('.bubble.out', { hasText: 'Yes, from 9am to 1pm.' });
  await mine.waitFor();
  assert.equal(await page.locator('#reply').inputValue(), '');
  // wa-sim accepts it and reports it delivered: the ticks move on.
  await mine.locator('.ticks.sent, .ticks.delivered, .ticks.read').waitFor({ timeout: 20000 });
  await shot(page, '06-reply-sent');
  assert.deepEqual(page.errors, []);
});

step('? shows and hides the shortcuts; Esc closes them, and Esc goes back to the list', async () => {
  await page.keyboard.press('Escape'); // leave the reply box
  await page.keyboard.press('?');
  const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await dialog.waitFor();
  // The dialog moves the focus to its Close button once it has rendered.
  await page.waitForFunction(() => document.activeElement?.closest('[role=dialog]') != null);
  assert.equal(await focused(page), 'button[button]', 'the focus moves into the dialog');
  await shot(page, '07-shortcuts');
  await page.keyboard.press('?');
  await dialog.waitFor({ state: 'detached' });
  await page.keyboard.press('?');
  await dialog.waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await page.keyboard.press('Escape');
  await page.waitForURL('**/app/inbox/all');
  await page.getByText('Choose a conversation').waitFor();
  assert.deepEqual(page.errors, []);
});
