// sandbox.js - the sandbox phone (/app/sandbox): staff play a person writing
// to the business through wa-sim. They choose a number and a name, send text
// or a photo, tap the reply buttons and list items the business sent, and see
// ticks on what they sent. What the phone received comes from
// GET /api/v1/sandbox/people/{wa_id}/inbox, read every 2 s.
import { useState, useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';
import { api } from './api.js';

const POLL_MS = 2000;
// Who is played, and what they sent, outlive a visit to another page.
const memory = { waId: '27820000001', name: 'Sandbox Person', sent: [] };
const NUMBER = /^\d{3,40}$/;

/** Whether this workspace has a sandbox phone (its channel talks to wa-sim). */
export async function sandboxAvailable() {
  try {
    const res = await api('GET', '/api/v1/sandbox');
    return !!(res && res.available);
  } catch (e) {
    return false;
  }
}

/** What a business message (a Graph API send body) says, as text. */
function describe(m) {
  if (!m) return '';
  const part = m[m.type] || {};
  switch (m.type) {
    case 'text': return part.body || '';
    case 'interactive': return [part.header && part.header.text, part.body && part.body.text, part.footer && part.footer.text]
      .filter(Boolean).join('\n');
    case 'template': return 'Template: ' + (part.name || '');
    case 'image': case 'video': case 'document': case 'audio': case 'sticker':
      return `[${m.type}]` + (part.caption ? ' ' + part.caption : '');
    case 'location': return '[location] ' + (part.name || '');
    case 'reaction': return 'Reacted ' + (part.emoji || '');
    default: return `[${m.type || 'message'}]`;
  }
}

/** The reply buttons and list rows of an interactive message: [{kind, id, title, description}]. */
function choices(m) {
  const it = m && m.type === 'interactive' ? m.interactive || {} : null;
  if (!it || !it.action) return [];
  if (it.type === 'button') {
    return (it.action.buttons || []).map((b) => ({ kind: 'button_reply', id: b.reply && b.reply.id, title: (b.reply && b.reply.title) || '' }));
  }
  if (it.type === 'list') {
    return (it.action.sections || []).flatMap((s) => (s.rows || []).map((r) => ({ kind: 'list_reply', id: r.id, title: r.title || '', description: r.description || '' })));
  }
  return [];
}

const TICKS = { sending: ['🕓', 'Sending'], sent: ['✓', 'Sent'], delivered: ['✓✓', 'Delivered to the business'], failed: ['!', 'Not delivered'] };

function Bubble({ b, onChoose }) {
  const opts = b.out ? [] : choices(b.message);
  const tick = b.out && TICKS[b.status];
  return html`<li class=${'bubble ' + (b.out ? 'out' : 'in')}>
    <p class="text">${b.text}</p>
    ${opts.length > 0 && html`<div class="choices" role="group" aria-label="Replies">
      ${opts.map((o) => html`<button type="button" class="choice" onClick=${() => onChoose(o, b.id)}>
        ${o.title}${o.description && html`<small>${o.description}</small>`}</button>`)}</div>`}
    <span class="meta">${new Date(b.ts * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
      ${tick && html` <span class=${'tick ' + b.status} title=${tick[1]} aria-label=${tick[1]}>${tick[0]}</span>`}</span>
  </li>`;
}

/** The sandbox page: the person's settings and the phone. */
export function Sandbox() {
  const [available, setAvailable] = useState(undefined);
  const [waId, setWaId] = useState(memory.waId);
  const [name, setName] = useState(memory.name);
  const [inbox, setInbox] = useState([]);
  const [sent, setSent] = useState(memory.sent);
  const [error, setError] = useState('');
  const [text, setText] = useState('');
  const screen = useRef(null);
  const valid = NUMBER.test(waId);
  Object.assign(memory, { waId, name });
  // memory.sent first: a send that ends after the page was left still counts.
  const updateSent = (fn) => { memory.sent = fn(memory.sent); setSent(memory.sent); };

  useEffect(() => { sandboxAvailable().then(setAvailable); document.title = 'Sandbox phone · impactchat'; }, []);

  async function load() {
    if (!valid) return;
    try {
      const res = await api('GET', `/api/v1/sandbox/people/${waId}/inbox`);
      setInbox((res && res.messages) || []);
    } catch (e) {
      setError(e.message);
    }
  }
  useEffect(() => {
    if (!available) return undefined;
    setInbox([]);
    load();
    const t = setInterval(() => { if (document.visibilityState === 'visible') load(); }, POLL_MS);
    return () => clearInterval(t);
  }, [available, waId]);

  const bubbles = [
    ...inbox.map((m) => ({ id: m.id, out: false, ts: m.timestamp, text: describe(m.message), message: m.message })),
    ...sent.filter((s) => s.waId === waId),
  ].sort((a, b) => a.ts - b.ts);
  useEffect(() => { if (screen.current) screen.current.scrollTop = screen.current.scrollHeight; }, [bubbles.length]);

  async function send(body, shown) {
    if (!valid) { setError('The number must be 3 to 40 digits.'); return; }
    const key = Date.now() + Math.random();
    const item = { id: key, waId, out: true, ts: Date.now() / 1000, text: shown, status: 'sending' };
    updateSent((l) => [...l, item]);
    setError('');
    let status = 'failed';
    try {
      const res = await api('POST', `/api/v1/sandbox/people/${waId}/send`, { ...body, name: name || undefined });
      status = res && res.acknowledged ? 'delivered' : res && res.http_status ? 'sent' : 'failed';
      if (status === 'failed') setError('The business did not answer the webhook; wa-sim will retry.');
    } catch (e) {
      setError(e.message);
    }
    updateSent((l) => l.map((s) => (s.id === key ? { ...s, status } : s)));
  }

  function submit(e) {
    e.preventDefault();
    const t = text.trim();
    if (!t) return;
    setText('');
    send({ type: 'text', text: t }, t);
  }

  function choose(o, wamid) {
    const body = { type: o.kind, title: o.title, context: { id: wamid } };
    if (o.id) body.reply_id = o.id;
    if (o.description) body.description = o.description;
    send(body, o.title);
  }

  if (available === undefined) return html`<p class="loading">Loading…</p>`;
  if (!available) {
    return html`<main class="admin-main"><section class="admin-page"><h2>Sandbox phone</h2>
      <p>There is no sandbox here: the workspace's channel talks to Meta, not to the WhatsApp simulator.</p></section></main>`;
  }
  return html`<main class="sandbox">
    <section class="sandbox-side" aria-labelledby="h-sandbox">
      <h2 id="h-sandbox">Sandbox phone</h2>
      <p class="muted">Write to the business as a person would, through the WhatsApp simulator. What you send arrives in the inbox.</p>
      <div class="field"><label for="sb-number">Phone number (digits)</label>
        <input id="sb-number" inputmode="numeric" value=${waId} aria-invalid=${!valid}
          onInput=${(e) => setWaId(e.currentTarget.value.replace(/[^0-9]/g, ''))} /></div>
      ${!valid && html`<p class="error" role="alert">The number must be 3 to 40 digits.</p>`}
      <div class="field"><label for="sb-name">Name on WhatsApp</label>
        <input id="sb-name" value=${name} maxlength="100" onInput=${(e) => setName(e.currentTarget.value)} /></div>
      <button type="button" onClick=${() => send({ type: 'image', caption: text.trim() || undefined }, '[photo]' + (text.trim() ? ' ' + text.trim() : ''))}>Send a photo</button>
    </section>
    <section class="phone" aria-label=${'Phone of ' + (name || waId)}>
      <div class="phone-head"><strong>Business</strong><span class="small">${name || 'Person'} · +${waId}</span></div>
      <ol class="phone-screen" ref=${screen} aria-live="polite">
        ${bubbles.length === 0 && html`<li class="muted empty">No messages yet. Say hello.</li>`}
        ${bubbles.map((b) => html`<${Bubble} key=${b.id} b=${b} onChoose=${choose} />`)}
      </ol>
      ${error && html`<p class="error phone-error" role="alert">${error}</p>`}
      <form class="phone-compose" onSubmit=${submit}>
        <label class="visually-hidden" for="sb-text">Message</label>
        <input id="sb-text" value=${text} onInput=${(e) => setText(e.currentTarget.value)} placeholder="Message" autocomplete="off" maxlength="4096" />
        <button type="submit" class="primary" disabled=${!text.trim()}>Send</button>
      </form>
    </section>
  </main>`;
}
