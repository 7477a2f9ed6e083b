// conversation.js - one conversation: its messages as bubbles (oldest at the
// top), delivery ticks on ours, and the composer.
import { useState, useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';
import { api } from './api.js';
import { shortTime, personName, messageText, messageKind, ticks } from './format.js';

function Bubble({ m }) {
  const out = m.direction === 'out';
  const kind = messageKind(m);
  const [sym, words] = ticks(m.status);
  const failed = m.status === 'failed';
  return html`
    <li class=${'bubble ' + (out ? 'out' : 'in') + (failed ? ' failed' : '')}>
      ${kind && html`<span class="kind">${kind}</span>`}
      <span class="text">${messageText(m)}</span>
      <span class="meta">
        <time datetime=${m.timestamp}>${shortTime(m.timestamp)}</time>
        ${out && html`<span class=${'ticks ' + m.status} title=${words} aria-label=${words}>${sym}</span>`}
      </span>
      ${failed && m.error && html`<span class="why">${m.error.reason || 'WhatsApp did not deliver this message'}</span>`}
    </li>`;
}

/** The composer: a text box that sends on Enter (Shift+Enter: new line). */
function Composer({ convId, onSent, replyRef }) {
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function send(e) {
    if (e) e.preventDefault();
    const body = text.trim();
    if (!body || busy) return;
    setBusy(true);
    setError('');
    try {
      await api('POST', `/api/v1/conversations/${convId}/messages`,
        { message: { type: 'text', text: { body } } });
      setText('');
      onSent();
    } catch (err) {
      setError(err.code === 'window_closed'
        ? 'The 24-hour window is closed: only an approved template can be sent now.'
        : err.message);
    }
    setBusy(false);
  }

  function onKey(e) {
    if (e.key === 'Enter' && !e.shiftKey) send(e);
  }

  return html`
    <form class="composer" onSubmit=${send}>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <label for="reply" class="visually-hidden">Reply</label>
      <textarea id="reply" ref=${replyRef} rows="2" placeholder="Write a reply (r)…" maxlength="4096"
        value=${text} onInput=${(e) => setText(e.currentTarget.value)} onKeyDown=${onKey}></textarea>
      <button type="submit" class="primary" disabled=${busy || !text.trim()}>Send</button>
    </form>`;
}

/** The conversation pane for conv (a conversation object from the list). */
export function Conversation({ conv, replyRef, onBack, tick }) {
  const [msgs, setMsgs] = useState(null);
  const [error, setError] = useState('');
  const endRef = useRef(null);

  async function load() {
    try {
      const res = await api('GET', `/api/v1/conversations/${conv.id}/messages?limit=50`);
      setMsgs((res.items || []).slice().reverse());
      setError('');
    } catch (err) {
      setError(err.message);
    }
  }

  useEffect(() => { setMsgs(null); load(); }, [conv.id]);
  useEffect(() => { if (tick) load(); }, [tick]);
  useEffect(() => {
    if (endRef.current) endRef.current.scrollIntoView({ block: 'end' });
  }, [msgs && msgs.length]);

  return html`
    <section class="pane" aria-labelledby="conv-title">
      <header class="pane-head">
        <button type="button" class="ghost back" onClick=${onBack} title="Back to the list (Esc)">←</button>
        <div>
          <h2 id="conv-title">${personName(conv.contact)}</h2>
          <p class="muted small">${conv.contact && conv.contact.wa_id ? '+' + conv.contact.wa_id : ''}
            ${conv.status === 'closed' ? ' · closed' : ''}</p>
        </div>
      </header>
      <ol class="messages" aria-live="polite" aria-label="Messages">
        ${msgs === null && !error && html`<li class="muted">Loading…</li>`}
        ${msgs && msgs.length === 0 && html`<li class="muted">No messages yet.</li>`}
        ${msgs && msgs.map((m) => html`<${Bubble} key=${m.id} m=${m} />`)}
        <li ref=${endRef} class="end" aria-hidden="true"></li>
      </ol>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <${Composer} convId=${conv.id} replyRef=${replyRef} onSent=${load} />
    </section>`;
}
