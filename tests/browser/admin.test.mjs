// admin.test.mjs - the admin pages and the sandbox phone in a real browser
// against a real impactchat on loopback: the admin adds an operator, a team,
// a label, a canned reply and an urgency word, sets business hours, creates
// and revokes an API token, connects a channel; the sandbox phone writes in;
// an operator sees none of the admin pages and the API refuses them (403).
// Steps share one sandbox; each leaves a screenshot 20-... in SHOTS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, launchBrowser, newPage, shot, stepper } from './lib.mjs';

const OPERATOR = { email: 'zanele@example.org', name: 'Zanele Admin-Added', password: 'operator-password-1' };

let sb;
let browser;
let page;

// Expected refusals: 401 before signing in, the 409 of a duplicate we make on
// purpose, the 401 of a revoked token, the operator's 403s.
function expected(msg) {
  const url = msg.location().url || '';
  return (/status of 401/.test(msg.text()) && /\/api\/v1\/(me|auth\/login)$/.test(url)) ||
    (/status of 409/.test(msg.text()) && /\/api\/v1\/users(\/\d+)?$/.test(url)) ||
    (/status of 403/.test(msg.text()) && /\/api\/v1\/(users|tokens)$/.test(url));
}

before(async () => {
  sb = await startSandbox();
  browser = await launchBrowser();
  page = await newPage(browser, expected);
});

const step = stepper();

after(async () => {
  if (browser) await browser.close();
  if (sb) assert.equal(await sb.stop(), 0, 'the sandbox stopped cleanly');
});

async function signIn(p, email, password) {
  await p.goto(sb.url + '/app/sign-in');
  await p.locator('#email').fill(email);
  await p.locator('#password').fill(password);
  await p.keyboard.press('Enter');
  try {
    await p.getByRole('navigation', { name: 'Lists' }).waitFor({ timeout: 10000 });
  } catch (e) {
    await shot(p, '39-sign-in-failed');
    throw new Error(`${email} did not get to the inbox: ${await p.locator('#app').textContent()}`);
  }
}

async function section(name) {
  await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name }).click();
  await page.getByRole('heading', { level: 2, name }).waitFor();
}

step('the admin finds the admin pages in the header and adds an operator', async () => {
  await signIn(page, sb.email, sb.password);
  await page.getByRole('navigation', { name: 'App' }).getByRole('link', { name: 'Admin' }).click();
  await page.waitForURL('**/app/admin/users');
  await page.getByRole('cell', { name: sb.email }).waitFor();
  const form = page.locator('#add-user');
  await form.locator('#f-email').fill(OPERATOR.email);
  await form.locator('#f-name').fill(OPERATOR.name);
  await form.locator('#f-role').selectOption('operator');
  await form.locator('#f-password').fill(OPERATOR.password);
  await form.locator('#f-password').press('Enter');
  await page.getByRole('cell', { name: OPERATOR.email }).waitFor();
  assert.equal(await form.getByRole('alert').count(), 0);
  // The same address again: the API's message is shown next to the form.
  await form.locator('#f-email').fill(OPERATOR.email);
  await form.locator('#f-password').fill(OPERATOR.password);
  await form.getByRole('button', { name: 'Add user' }).click();
  const alert = form.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /already|exists|taken/i);
  await shot(page, '20-admin-users');
  assert.deepEqual(page.errors, []);
});

step('the admin creates a team with the operator and automatic assignment', async () => {
  await section('Teams');
  await page.locator('#f-name').fill('Billing');
  await page.getByRole('button', { name: 'Create team' }).click();
  const card = page.locator('li.card', { hasText: 'Billing' });
  await card.waitFor();
  await card.getByLabel(OPERATOR.name).check();
  await card.getByRole('button', { name: 'Save members' }).click();
  await card.getByLabel('Automatic assignment').check();
  const teams = await (await fetch(sb.url + '/api/v1/teams', { headers: { Authorization: 'Bearer ' + sb.token } })).json();
  for (let i = 0; i < 50; i++) {
    const t = (await (await fetch(sb.url + '/api/v1/teams', { headers: { Authorization: 'Bearer ' + sb.token } })).json()).items[0];
    if (t && t.auto_assign && t.members.some((m) => m.name === OPERATOR.name)) break;
    assert.ok(i < 49, 'the team has its member and auto-assign: ' + JSON.stringify(teams));
    await new Promise((r) => setTimeout(r, 100));
  }
  // Off again, so the sandbox's conversation waits unassigned below.
  await card.getByLabel('Automatic assignment').uncheck();
  // An admin cannot demote themself: the API's message shows by the row, the select goes back.
  await section('Users and roles');
  const me = page.getByRole('row', { name: /admin@example.org/ });
  await me.getByRole('combobox').selectOption('operator');
  await me.getByRole('alert').waitFor();
  assert.equal(await me.getByRole('combobox').inputValue(), 'admin');
  await section('Teams');
  await shot(page, '21-admin-teams');
  assert.deepEqual(page.errors, []);
});

step('a label, a canned reply and an urgency word', async () => {
  await section('Labels');
  await page.locator('#f-name').fill('vip <b>');
  await page.locator('#f-color').fill('#c0392b');
  await page.getByRole('button', { name: 'Add label' }).click();
  await page.getByText('vip <b>', { exact: true }).waitFor(); // shown as text, not markup
  assert.ok(await page.getByText('#c0392b').isVisible());
  // By keyboard alone: Tab from the name to the colour to the button, Enter.
  await page.locator('#f-name').focus();
  await page.keyboard.type('follow-up');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Add label');
  await page.keyboard.press('Enter');
  await page.getByText('follow-up', { exact: true }).waitFor();
  assert.equal(await page.getByRole('listitem').filter({ hasText: 'follow-up' }).locator('code').textContent(), '#6b7280');
  await shot(page, '22-admin-labels');

  await section('Canned replies');
  await page.locator('#f-shortcut').fill('hours');
  await page.locator('#f-title').fill('Opening hours');
  await page.locator('#f-body').fill('Hi {{contact.name}}, we are open 08:00 to 17:00.');
  await page.getByRole('button', { name: 'Add canned reply' }).click();
  await page.getByText('Hi {{contact.name}}, we are open 08:00 to 17:00.').waitFor();
  await shot(page, '23-admin-canned');

  await section('Urgency words');
  await page.locator('#f-language').fill('en');
  await page.locator('#f-phrase').fill('kill myself');
  await page.getByRole('button', { name: 'Add word' }).click();
  await page.getByText('kill myself').waitFor();
  await shot(page, '24-admin-urgency');
  assert.deepEqual(page.errors, []);
});

step('business hours, time zone and messages are saved', async () => {
  await section('Business hours');
  await page.locator('#f-time_zone').fill('Africa/Johannesburg');
  await page.locator('#f-always_open').uncheck();
  await page.locator('#f-day_mon').fill('8-5');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.locator('#settings').getByRole('alert').getByText(/Monday/).waitFor();
  await page.locator('#f-day_mon').fill('08:00-17:00');
  await page.locator('#f-day_tue').fill('08:00-12:00, 13:00-17:00');
  await page.locator('#f-away_message').fill('We are closed; we answer from 08:00.');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Saved.').waitFor();
  const s = await (await fetch(sb.url + '/api/v1/settings', { headers: { Authorization: 'Bearer ' + sb.token } })).json();
  assert.equal(s.time_zone, 'Africa/Johannesburg');
  assert.deepEqual(s.business_hours, { mon: [['08:00', '17:00']], tue: [['08:00', '12:00'], ['13:00', '17:00']] });
  assert.equal(s.away_message, 'We are closed; we answer from 08:00.');
  await page.reload();
  await page.locator('#f-day_tue').waitFor();
  assert.equal(await page.locator('#f-day_tue').inputValue(), '08:00-12:00, 13:00-17:00');
  await shot(page, '25-admin-settings');
  assert.deepEqual(page.errors, []);
});

step('an API token is shown once, works, and stops working when revoked', async () => {
  await section('API tokens');
  await page.locator('#f-name').fill('crm sync');
  await page.getByRole('button', { name: 'Create token' }).click();
  const tokenBox = page.locator('#s-token');
  await tokenBox.waitFor();
  const token = await tokenBox.inputValue();
  assert.match(token, /^ic_/);
  await shot(page, '26-admin-token-created');
  const auth = { headers: { Authorization: 'Bearer ' + token } };
  assert.equal((await fetch(sb.url + '/api/v1/channels', auth)).status, 200);
  await page.getByRole('button', { name: 'Done' }).click();
  await page.getByRole('row', { name: /crm sync/ }).getByRole('button', { name: 'Revoke' }).click();
  await page.getByRole('row', { name: /crm sync/ }).getByText(/Revoked/).waitFor();
  assert.equal((await fetch(sb.url + '/api/v1/channels', auth)).status, 401);
  assert.equal(await page.locator('#s-token').count(), 0, 'the token is not shown again');
  assert.equal(await page.getByText(token).count(), 0);
  await shot(page, '27-admin-tokens');
  assert.deepEqual(page.errors, []);
});

step('the admin connects a Meta number and sees the webhook URL and verify token', async () => {
  await section('Channels');
  const form = page.locator('#add-channel');
  await form.locator('#f-name').fill('Clinic line');
  await form.locator('#f-phone_number_id').fill('106540352242922');
  await form.locator('#f-waba_id').fill('102290129340398');
  await form.locator('#f-access_token').fill('EAAGtesttoken');
  await form.locator('#f-app_secret').fill('9f2c-test-secret');
  await form.locator('#f-throughput_mps').fill('80');
  await form.getByRole('button', { name: 'Connect number' }).click();
  await page.locator('#channel-made').waitFor();
  assert.match(await page.locator('#s-webhook_url').inputValue(), /^https?:\/\/.+\/webhooks\/whatsapp\/[0-9a-f-]{36}$/);
  assert.ok((await page.locator('#s-verify_token').inputValue()).length >= 16);
  await page.getByRole('cell', { name: '106540352242922' }).waitFor();
  await page.locator('#channel-made').getByRole('button', { name: /Copy Webhook URL/ }).click();
  await page.locator('#channel-made').getByText('Copied').waitFor();
  await shot(page, '28-admin-channels');
  assert.deepEqual(page.errors, []);
});

step('the sandbox phone writes in and the message shows up in the inbox', async () => {
  await page.getByRole('navigation', { name: 'App' }).getByRole('link', { name: 'Sandbox phone' }).click();
  await page.waitForURL('**/app/sandbox');
  await page.locator('#sb-number').fill('27825550001');
  await page.locator('#sb-number').press('Tab');
  await page.locator('#sb-name').fill('Nomsa Sandbox');
  await page.locator('.phone-head').getByText('Nomsa Sandbox · +27825550001').waitFor();
  await page.locator('#sb-text').fill('Hello from the sandbox phone');
  await page.locator('#sb-text').press('Enter');
  await page.locator('.bubble.out', { hasText: 'Hello from the sandbox phone' }).locator('.tick.delivered').waitFor();
  await shot(page, '29-sandbox-phone');
  await page.getByRole('navigation', { name: 'App' }).getByRole('link', { name: 'Inbox' }).click();
  await page.getByRole('navigation', { name: 'Lists' }).getByRole('link', { name: 'All' }).click();
  await page.getByText('Nomsa Sandbox').first().waitFor();
  await shot(page, '30-sandbox-in-inbox');
  assert.deepEqual(page.errors, []);
});

step('the business sends reply buttons and a list; the phone taps them', async () => {
  const auth = { Authorization: 'Bearer ' + sb.token, 'Content-Type': 'application/json' };
  const convs = await (await fetch(sb.url + '/api/v1/conversations?view=all', { headers: auth })).json();
  const id = convs.items[0].id;
  const buttons = { type: 'interactive', interactive: { type: 'button', body: { text: 'Do you need a nurse?' },
    action: { buttons: [{ type: 'reply', reply: { id: 'yes', title: 'Yes please' } }, { type: 'reply', reply: { id: 'no', title: 'No thanks' } }] } } };
  const list = { type: 'interactive', interactive: { type: 'list', body: { text: 'Pick a clinic' },
    action: { button: 'Clinics', sections: [{ title: 'Near you', rows: [{ id: 'c1', title: 'Soweto', description: 'Open 08:00-17:00' }] }] } } };
  for (const message of [buttons, list]) {
    const res = await fetch(`${sb.url}/api/v1/conversations/${id}/messages`, { method: 'POST', headers: auth, body: JSON.stringify({ message }) });
    assert.equal(res.status, 202, await res.text());
  }
  await page.getByRole('navigation', { name: 'App' }).getByRole('link', { name: 'Sandbox phone' }).click();
  await page.locator('#sb-number').fill('27825550001');
  await page.locator('#sb-number').press('Tab');
  await page.locator('.phone-head').getByText('+27825550001').waitFor();
  try {
    await page.getByText('Do you need a nurse?').waitFor(); // outbox, wa-sim, then a 2 s poll: slow on a busy machine
  } catch (e) {
    const sim = await (await fetch(`${sb.sim_url}/sim/people/27825550001/inbox`)).text();
    const ms = await (await fetch(`${sb.url}/api/v1/conversations/${id}/messages`, { headers: auth })).text();
    await shot(page, '39-sandbox-failed');
    throw new Error(`${e.message}\nsim: ${sim.slice(0, 600)}\nmessages: ${ms.slice(0, 1500)}`);
  }
  try {
    await page.getByRole('button', { name: 'Yes please' }).click({ timeout: 8000 });
  } catch (e) {
    const sim = await (await fetch(`${sb.sim_url}/sim/people/27825550001/inbox`)).text();
    await shot(page, '39-sandbox-failed');
    throw new Error(`${e.message}\nsim: ${sim.slice(0, 1500)}`);
  }
  await page.locator('.bubble.out', { hasText: 'Yes please' }).locator('.tick.delivered').waitFor();
  await page.getByRole('button', { name: /Soweto/ }).click();
  await page.locator('.bubble.out', { hasText: 'Soweto' }).locator('.tick.delivered').waitFor();
  await shot(page, '32-sandbox-buttons');
  const msgs = await (await fetch(`${sb.url}/api/v1/conversations/${id}/messages`, { headers: auth })).json();
  const texts = JSON.stringify(msgs);
  assert.match(texts, /Yes please/);
  assert.match(texts, /Soweto/);
  assert.deepEqual(page.errors, []);
});

step('an operator sees no admin pages, and the API refuses them (403)', async () => {
  const op = await newPage(browser, expected);
  await signIn(op, OPERATOR.email, OPERATOR.password);
  const nav = op.getByRole('navigation', { name: 'App' });
  await nav.getByRole('link', { name: 'Inbox' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'Admin' }).count(), 0);
  await op.goto(sb.url + '/app/admin/users');
  await op.getByRole('heading', { name: 'Not available' }).waitFor();
  assert.equal(await op.locator('#add-user').count(), 0);
  await shot(op, '31-operator-no-admin');
  const status = await op.evaluate(async () => {
    const me = await (await fetch('/api/v1/me')).json();
    const list = await fetch('/api/v1/tokens');
    const add = await fetch('/api/v1/users', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
      body: JSON.stringify({ email: 'x@example.org', role: 'admin', password: 'long-enough-password' }),
    });
    return [list.status, add.status];
  });
  assert.deepEqual(status, [403, 403]);
  assert.deepEqual(op.errors, []);
  await op.context().close();
});

step('a supervisor sees only labels and canned replies', async (t) => {
  const sup = (sb.users || []).find((u) => u.role === 'supervisor');
  if (!sup) {
    t.skip('launch.py adds no supervisor');
    return;
  }
  const p = await newPage(browser, expected);
  await signIn(p, sup.email, sb.password);
  await p.getByRole('navigation', { name: 'App' }).getByRole('link', { name: 'Admin' }).click();
  await p.waitForURL('**/app/admin/labels');
  const sections = await p.getByRole('navigation', { name: 'Admin' }).getByRole('link').allTextContents();
  assert.deepEqual(sections, ['Labels', 'Canned replies']);
  await p.getByText('vip <b>', { exact: true }).waitFor();
  await p.goto(sb.url + '/app/admin/tokens');
  await p.getByRole('heading', { name: 'Not available' }).waitFor();
  await shot(p, '33-supervisor-admin');
  assert.deepEqual(p.errors, []);
  await p.context().close();
});
