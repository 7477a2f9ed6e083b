// actions.test.mjs - working conversations together, live: two operators and
// a supervisor signed in at once (three browser contexts) against one
// sandbox. A conversation appears without a reload, is taken, answered with a
// canned reply (the person's phone gets it, the ticks move on), noted,
// labelled, transferred, closed and reopened; an urgency word puts a
// conversation on top and alerts the supervisor; operators see masked numbers.
// A colleague typing shows live. Steps share the sandbox and run in order;
// screenshots 08- onwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, launchBrowser, newPage, shot, postJson, stepper } from './lib.mjs';

const P1 = '27820002222';
const P2 = '27820003333';
const P3 = '27820004444';

let sb;
let browser;
let thandi; // operator
let sipho; // operator
let sam; // supervisor

function expected401(msg) {
  return /status of 401/.test(msg.text()) && /\/api\/v1\/(me|auth\/login)$/.test(msg.location().url || '');
}

function admin(method, path, body) {
  const headers = { Authorization: 'Bearer ' + sb.token };
  if (body === undefined) return fetch(sb.url + path, { method, headers }).then(async (r) => [r.status, await r.json()]);
  return postJson(sb.url + path, body, headers);
}

function personWrites(waId, text, name) {
  return postJson(`${sb.sim_url}/sim/people/${waId}/send`, { type: 'text', text, name });
}

async function signIn(email) {
  const page = await newPage(browser, expected401);
  await page.goto(sb.url + '/app/sign-in');
  await page.locator('#email').fill(email);
  await page.locator('#password').fill(sb.password);
  await page.keyboard.press('Enter');
  await page.getByRole('navigation', { name: 'Lists' }).waitFor();
  return page;
}

/** Waits until the focus is inside the open dialog (it moves there on render). */
function focusInDialog(page) {
  return page.waitForFunction(() => document.activeElement?.closest('[role=dialog]') != null);
}

const row = (page, name) => page.locator('a.conv', { hasText: name });

// Choosing a list in the navigation (to see another list than the one open).
async function reloadList(page, name) {
  await page.getByRole('navigation', { name: 'Lists' }).getByRole('link', { name }).click();
}

before(async () => {
  sb = await startSandbox();
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (sb) assert.equal(await sb.stop(), 0, 'the sandbox stopped cleanly');
});

// What each person saw when a step failed, to look at.
const step = stepper(async () => {
  for (const [who, p] of [['thandi', thandi], ['sipho', sipho], ['sam', sam]]) {
    if (p) await shot(p, 'failed-' + who).catch(() => {});
  }
});

function noErrors() {
  for (const p of [thandi, sipho, sam]) if (p) assert.deepEqual(p.errors, []);
}

step('set-up: a label and a canned reply; two operators and a supervisor sign in', async () => {
  let [st] = await admin('POST', '/api/v1/labels', { name: 'follow-up', color: '#b45309' });
  assert.equal(st, 201);
  [st] = await admin('POST', '/api/v1/canned-replies',
    { shortcut: 'hours', title: 'Opening hours', body: 'Hi {{contact.first_name}}, we are open 08:00 to 17:00.' });
  assert.equal(st, 201);
  const email = (name) => sb.users.find((u) => u.name === name).email;
  thandi = await signIn(email('Thandi'));
  sipho = await signIn(email('Sipho'));
  sam = await signIn(email('Sam Super'));
  await sam.goto(sb.url + '/app/inbox/all');
  await sam.getByText('No conversations here.').waitFor();
  noErrors();
});

step('a person writes in: both operators see the conversation appear live, without a reload', async () => {
  const [st] = await personWrites(P1, 'Hello, can I book a test?', 'Nomsa Dlamini');
  assert.equal(st, 200);
  // The fallback poll is 60 s: seeing it within 10 s means the live stream did it.
  await row(thandi, 'Nomsa').waitFor({ timeout: 10000 });
  await row(sipho, 'Nomsa').waitFor({ timeout: 10000 });
  await shot(thandi, '08-live-arrival');
  noErrors();
});

step('Thandi opens it and takes it with a; it leaves Sipho\'s unassigned list; her number is masked', async () => {
  await row(thandi, 'Nomsa').click();
  await thandi.locator('.bubble.in', { hasText: 'Hello, can I book a test?' }).waitFor();
  await thandi.locator('body').click({ position: { x: 700, y: 300 } });
  await thandi.keyboard.press('a');
  await thandi.locator('.pane-head .assignee', { hasText: 'Assigned to Thandi' }).waitFor();
  await thandi.locator('.event', { hasText: 'Thandi took it' }).waitFor();
  // Sipho's Unassigned list drops it live (conversation.assigned).
  await row(sipho, 'Nomsa').waitFor({ state: 'detached', timeout: 10000 });
  const number = await thandi.locator('.pane-head .number').textContent();
  assert.match(number, /\*/, 'an operator sees the number masked');
  assert.ok(!number.includes(P1));
  assert.match(await thandi.locator('.window.open').textContent(), /Window open for 2[34] h/);
  await shot(thandi, '09-taken');
  noErrors();
});

step('"/" offers canned replies; Enter inserts the rendered text; the person receives the reply; ticks move on', async () => {
  await thandi.keyboard.press('r');
  await thandi.keyboard.type('/hou');
  await thandi.getByRole('listbox', { name: 'Canned replies' }).getByText('/hours').waitFor();
  await shot(thandi, '10-canned-replies');
  await thandi.keyboard.press('Enter');
  await thandi.waitForFunction(() => document.getElementById('reply').value.startsWith('Hi Nomsa, we are open'));
  await thandi.keyboard.press('Enter');
  const mine = thandi.locator('.bubble.out', { hasText: 'Hi Nomsa, we are open 08:00 to 17:00.' });
  await mine.waitFor();
  await mine.locator('.ticks.delivered, .ticks.read').waitFor({ timeout: 20000 });
  const res = await fetch(`${sb.url}/api/v1/sandbox/people/${P1}/inbox`, { headers: { Authorization: 'Bearer ' + sb.token } });
  assert.equal(res.status, 200);
  assert.match(await res.text(), /Hi Nomsa, we are open 08:00 to 17:00\./);
  await shot(thandi, '11-reply-delivered');
  noErrors();
});

step('n writes an internal note, l puts a label on: both show, the note apart from the messages', async () => {
  await thandi.keyboard.press('Escape'); // leave the reply box
  await thandi.keyboard.press('n');
  const note = thandi.getByRole('dialog', { name: 'Internal note' });
  await note.waitFor();
  await thandi.waitForFunction(() => document.activeElement && document.activeElement.id === 'note-body');
  await thandi.keyboard.type('She wants the Saturday slot; @Sipho can you confirm?');
  await thandi.keyboard.press('Control+Enter');
  await note.waitFor({ state: 'detached' });
  await thandi.locator('.note', { hasText: 'She wants the Saturday slot' }).waitFor();
  assert.match(await thandi.locator('.note .kind').first().textContent(), /not sent to the person/);
  await thandi.keyboard.press('l');
  const labels = thandi.getByRole('dialog', { name: 'Labels' });
  await labels.waitFor();
  await focusInDialog(thandi);
  await labels.getByLabel('follow-up').check();
  await thandi.locator('.pane-head .tag.label', { hasText: 'follow-up' }).waitFor();
  await labels.getByRole('button', { name: 'Done' }).click();
  await thandi.locator('.event', { hasText: 'added the label follow-up' }).waitFor();
  const res = await fetch(`${sb.url}/api/v1/sandbox/people/${P1}/inbox`, { headers: { Authorization: 'Bearer ' + sb.token } });
  assert.doesNotMatch(await res.text(), /Saturday slot/, 'a note never reaches the person');
  await shot(thandi, '12-note-and-label');
  noErrors();
});

step('an operator may only release it; the supervisor transfers it to Sipho with t; it is in his Mine list', async () => {
  await sipho.getByRole('link', { name: 'Mine' }).click();
  await sipho.getByText('No conversations here.').waitFor();
  await thandi.locator('body').click({ position: { x: 700, y: 300 } });
  await thandi.keyboard.press('t');
  let dlg = thandi.getByRole('dialog', { name: 'Transfer the conversation' });
  await dlg.waitFor();
  await focusInDialog(thandi);
  await dlg.getByText('Only a supervisor can hand a conversation to someone else').waitFor();
  assert.equal(await dlg.locator('option', { hasText: 'Sipho' }).count(), 0);
  await thandi.keyboard.press('Escape');
  await dlg.waitFor({ state: 'detached' });
  const id = /\/(\d+)$/.exec(thandi.url())[1];
  await sam.goto(`${sb.url}/app/inbox/all/${id}`);
  await sam.locator('.pane-head .assignee', { hasText: 'Assigned to Thandi' }).waitFor();
  await sam.locator('body').click({ position: { x: 700, y: 300 } });
  await sam.keyboard.press('t');
  dlg = sam.getByRole('dialog', { name: 'Transfer the conversation' });
  await dlg.waitFor();
  await focusInDialog(sam);
  await dlg.getByLabel('To').selectOption({ label: 'Sipho' });
  await dlg.getByLabel('Note for them (optional)').fill('Please confirm Saturday');
  await dlg.getByRole('button', { name: 'Transfer' }).click();
  await sam.locator('.pane-head .assignee', { hasText: 'Assigned to Sipho' }).waitFor();
  await sam.locator('.event', { hasText: 'Sam Super transferred it to Sipho: “Please confirm Saturday”' }).waitFor();
  await reloadList(sipho, 'Mine');
  await row(sipho, 'Nomsa').waitFor({ timeout: 10000 });
  await row(sipho, 'Nomsa').click();
  await sipho.locator('.note', { hasText: 'Saturday slot' }).waitFor();
  // Sam still has it open: she sees Sipho typing.
  await sipho.locator('#reply').fill('');
  await sipho.locator('#reply').focus();
  await sipho.keyboard.type('Hi Nomsa');
  await sam.locator('.typing', { hasText: 'Sipho is typing' }).waitFor({ timeout: 10000 });
  await shot(sam, '13-colleague-typing');
  await sipho.locator('#reply').fill('');
  await sipho.keyboard.press('Escape');
  await shot(sipho, '14-transferred');
  await sam.goto(`${sb.url}/app/inbox/all`); // back to the list for the urgent step
  await sam.locator('a.conv').first().waitFor();
  noErrors();
});

step('c closes it and c reopens it; the history says so', async () => {
  await sipho.locator('body').click({ position: { x: 700, y: 300 } });
  await sipho.keyboard.press('c');
  await sipho.locator('.pane-head .tag.closed').waitFor();
  await sipho.locator('.event', { hasText: 'Sipho closed it' }).waitFor();
  await sipho.getByText('This conversation is closed').waitFor();
  await shot(sipho, '15-closed');
  await sipho.keyboard.press('c');
  await sipho.locator('.pane-head .tag.closed').waitFor({ state: 'detached' });
  await sipho.locator('.event', { hasText: 'Sipho reopened it' }).waitFor();
  await sipho.locator('#reply').waitFor();
  noErrors();
});

step('an urgency word puts the conversation on top and alerts the supervisor until she opens it', async () => {
  const [st] = await admin('POST', '/api/v1/urgency-words', { phrase: 'help me now' });
  assert.equal(st, 201);
  await personWrites(P2, 'Good morning', 'Ayanda');
  await row(sam, 'Ayanda').waitFor({ timeout: 10000 });
  await personWrites(P2, 'Please help me now, I feel very sick', 'Ayanda');
  const banner = sam.locator('.alert-banner');
  await banner.waitFor({ timeout: 10000 });
  assert.match(await banner.textContent(), /Ayanda/);
  // Someone else writes after: the urgent one stays on top.
  await personWrites(P3, 'Is parking free?', 'Kabelo');
  await row(sam, 'Kabelo').waitFor({ timeout: 10000 });
  await sam.waitForFunction(() => document.querySelectorAll('a.conv').length === 3);
  const first = sam.locator('a.conv').first();
  assert.match(await first.textContent(), /Ayanda/);
  assert.equal(await first.locator('.tag.urgent').count(), 1);
  assert.match(await sam.title(), /^\(1\) Urgent · /);
  await shot(sam, '16-urgent-alert');
  await banner.getByRole('link', { name: 'Ayanda' }).click();
  await banner.waitFor({ state: 'detached' });
  await sam.waitForFunction(() => document.title === 'Inbox · impactchat');
  // A supervisor sees the whole number.
  assert.equal((await sam.locator('.pane-head .number').textContent()).trim(), '+' + P2);
  await sam.locator('.event', { hasText: 'Marked urgent' }).waitFor();
  await shot(sam, '17-urgent-opened');
  // The operators saw no alert.
  assert.equal(await thandi.locator('.alert-banner').count(), 0);
  noErrors();
});

step('once the 24-hour window has closed, the composer offers an approved template instead of free text', async () => {
  const P4 = '27820005555';
  const dayAgo = Math.floor(Date.now() / 1000) - 25 * 3600;
  const [st] = await postJson(`${sb.sim_url}/sim/people/${P4}/send`,
    { type: 'text', text: 'Are my results ready?', name: 'Zanele', timestamp: String(dayAgo) });
  assert.equal(st, 200);
  await thandi.getByRole('navigation', { name: 'Lists' }).getByRole('link', { name: 'Unassigned' }).click();
  await row(thandi, 'Zanele').waitFor({ timeout: 10000 });
  await row(thandi, 'Zanele').click();
  await thandi.locator('.bubble.in', { hasText: 'Are my results ready?' }).waitFor();
  await thandi.getByText('The 24-hour window is closed').waitFor();
  assert.equal(await thandi.locator('#reply').count(), 0, 'no free-text box');
  await thandi.getByLabel('Template name').fill('appointment_reminder');
  await thandi.getByLabel('Language').fill('en');
  await thandi.getByLabel(/Body values/).fill('Zanele\n12 March at 10:00');
  await shot(thandi, '18-window-closed-template');
  await thandi.getByRole('button', { name: 'Send template' }).click();
  const tpl = thandi.locator('.bubble.out', { hasText: 'appointment_reminder' });
  await tpl.locator('.kind', { hasText: 'Template' }).waitFor();
  await tpl.locator('.ticks.sent, .ticks.delivered, .ticks.read').waitFor({ timeout: 20000 });
  const res = await fetch(`${sb.url}/api/v1/sandbox/people/${P4}/inbox`, { headers: { Authorization: 'Bearer ' + sb.token } });
  assert.match(await res.text(), /appointment_reminder/);
  noErrors();
});

step('a viewer reads the conversation with the number masked, and has no actions and no composer', async () => {
  const vusi = await signIn(sb.users.find((u) => u.name === 'Vusi').email);
  await vusi.getByRole('navigation', { name: 'Lists' }).getByRole('link', { name: 'All' }).click();
  await row(vusi, 'Ayanda').click();
  await vusi.locator('.bubble.in', { hasText: 'Please help me now' }).waitFor();
  const number = await vusi.locator('.pane-head .number').textContent();
  assert.match(number, /\*/);
  assert.ok(!number.includes(P2));
  assert.equal(await vusi.getByRole('toolbar', { name: 'Conversation actions' }).count(), 0);
  assert.equal(await vusi.locator('#reply').count(), 0);
  await vusi.getByText('Viewers read conversations').waitFor();
  await vusi.locator('body').click({ position: { x: 700, y: 300 } });
  await vusi.keyboard.press('a'); // nothing happens
  await vusi.locator('.pane-head .assignee', { hasText: 'Unassigned' }).waitFor();
  await shot(vusi, '19-viewer');
  assert.deepEqual(vusi.errors, []);
});
