// composer.js - writing to the person: free text while the 24-hour window is
// open (with the time left, and "/" for canned replies), an approved
// WhatsApp template once it has closed.
import { useState, useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';
import { api } from './api.js';
import { timeLeft } from './format.js';

let cannedCache = null;

async function cannedReplies() {
  if (!cannedCache) {
    cannedCache = api('GET', '/api/v1/canned-replies').then((r) => (r && r.items) || [])
      .catch((err) => { cannedCache = null; throw err; });
  }
  return cannedCache;
}

/** The canned replies whose shortcut or title contains q (any case). */
function filterCanned(list, q) {
  const s = q.toLowerCase();
  return list.filter((c) => c.shortcut.includes(s) || c.title.toLowerCase().includes(s)).slice(0, 8);
}

function windowOpen(conv) {
  if (conv.window && typeof conv.window.open === 'boolean') {
    return conv.window.open && !!timeLeft(conv.window.expires_at || conv.window_expires_at);
  }
  return !!timeLeft(conv.window_expires_at);
}

/** The free-text composer: Enter sends, Shift+Enter a new line, "/" canned replies. */
function TextComposer({ conv, onSent, replyRef }) {
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [canned, setCanned] = useState(null); // the full list once loaded
  const [pick, setPick] = useState(0);

  const lastTyping = useRef(0);
  const slash = /^\/([a-z0-9_-]*)$/i.exec(text);

  // Tells the others viewing this conversation that we are typing: at most
  // every 3 s (the server allows one a second); a refusal does not matter.
  function typed(value) {
    setText(value);
    const now = Date.now();
    if (!value || value.startsWith('/') || now - lastTyping.current < 3000) return;
    lastTyping.current = now;
    api('POST', `/api/v1/conversations/${conv.id}/typing`).catch(() => {});
  }
  const matches = slash && canned ? filterCanned(canned, slash[1]) : [];
  const menu = slash && canned !== null;

  useEffect(() => {
    if (slash && canned === null) cannedReplies().then(setCanned).catch((err) => setError(err.message));
  }, [!!slash]);
  useEffect(() => setPick(0), [slash && slash[1]]);

  async function insert(c) {
    try {
      const res = await api('POST', `/api/v1/canned-replies/${c.id}/render`, { conversation_id: conv.id });
      setText((res && res.text) || '');
      if (replyRef.current) replyRef.current.focus();
    } catch (err) { setError(err.message); }
  }

  async function send(e) {
    if (e) e.preventDefault();
    const body = text.trim();
    if (!body || busy) return;
    setBusy(true);
    setError('');
    try {
      await api('POST', `/api/v1/conversations/${conv.id}/messages`, { message: { type: 'text', text: { body } } });
      setText('');
      onSent();
    } catch (err) {
      setError(err.code === 'window_closed'
        ? 'The 24-hour window is closed: only an approved template can be sent now.'
        : err.message);
      if (err.code === 'window_closed') onSent();
    }
    setBusy(false);
  }

  function onKey(e) {
    if (menu && matches.length) {
      if (e.key === 'ArrowDown') { e.preventDefault(); setPick((pick + 1) % matches.length); return; }
      if (e.key === 'ArrowUp') { e.preventDefault(); setPick((pick + matches.length - 1) % matches.length); return; }
      if (e.key === 'Enter' || e.key === 'Tab') { e.preventDefault(); insert(matches[pick]); return; }
    }
    if (menu && e.key === 'Escape') { e.stopPropagation(); setText(''); return; }
    if (e.key === 'Enter' && !e.shiftKey && !slash) send(e);
  }

  return html`
    <form class="composer" onSubmit=${send}>
      ${menu && html`
        <ul class="canned" id="canned-list" role="listbox" aria-label="Canned replies">
          ${matches.length === 0 && html`<li class="muted">No canned reply matches.</li>`}
          ${matches.map((c, i) => html`
            <li key=${c.id} role="option" id=${'canned-' + c.id} aria-selected=${i === pick ? 'true' : 'false'}
              class=${i === pick ? 'picked' : ''} onMouseDown=${(e) => { e.preventDefault(); insert(c); }}>
              <b>/${c.shortcut}</b> <span>${c.title}</span>
            </li>`)}
        </ul>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <label for="reply" class="visually-hidden">Reply</label>
      <textarea id="reply" ref=${replyRef} rows="2" placeholder="Write a reply (r); / for canned replies…" maxlength="4096"
        value=${text} onInput=${(e) => typed(e.currentTarget.value)} onKeyDown=${onKey}
        aria-controls=${menu ? 'canned-list' : undefined}
        aria-activedescendant=${menu && matches[pick] ? 'canned-' + matches[pick].id : undefined}></textarea>
      <button type="submit" class="primary" disabled=${busy || !text.trim() || !!slash}>Send</button>
    </form>`;
}

/** Once the window has closed: an approved template by name and language. */
function TemplateComposer({ conv, onSent, replyRef }) {
  const [name, setName] = useState('');
  const [lang, setLang] = useState('en');
  const [params, setParams] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function send(e) {
    e.preventDefault();
    if (!name.trim() || busy) return;
    const template = { name: name.trim(), language: { code: lang.trim() || 'en' } };
    const values = params.split('\n').map((s) => s.trim()).filter(Boolean);
    if (values.length) template.components = [{ type: 'body', parameters: values.map((text) => ({ type: 'text', text })) }];
    setBusy(true);
    setError('');
    try {
      await api('POST', `/api/v1/conversations/${conv.id}/messages`, { message: { type: 'template', template } });
      setName('');
      setParams('');
      onSent();
    } catch (err) { setError(err.message); }
    setBusy(false);
  }

  return html`
    <form class="composer template" onSubmit=${send}>
      <p class="window closed">The 24-hour window is closed: WhatsApp only delivers an approved template now.
        Name one of your WhatsApp Business templates.</p>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="fields">
        <label>Template name<input id="template-name" ref=${replyRef} value=${name} maxlength="512"
          placeholder="clinic_reminder" onInput=${(e) => setName(e.currentTarget.value)} /></label>
        <label>Language<input id="template-lang" value=${lang} maxlength="15"
          onInput=${(e) => setLang(e.currentTarget.value)} /></label>
        <label class="wide">Body values, one a line ({{1}}, {{2}}…)<textarea id="template-params" rows="2"
          value=${params} onInput=${(e) => setParams(e.currentTarget.value)}></textarea></label>
      </div>
      <button type="submit" class="primary" disabled=${busy || !name.trim()}>Send template</button>
    </form>`;
}

/** The composer for conv: free text with the window's time left, or a template. */
export function Composer({ conv, onSent, replyRef, canSend }) {
  const [, setNow] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setNow((n) => n + 1), 30000);
    return () => clearInterval(t);
  }, []);
  if (!canSend) return html`<p class="composer muted small">Viewers read conversations; operators answer them.</p>`;
  if (conv.status === 'closed') {
    return html`<p class="composer muted small">This conversation is closed. Reopen it (c) to write.</p>`;
  }
  if (!windowOpen(conv)) return html`<${TemplateComposer} conv=${conv} onSent=${onSent} replyRef=${replyRef} />`;
  const left = timeLeft(conv.window_expires_at || (conv.window && conv.window.expires_at));
  return html`
    <div class="composer-wrap">
      <p class="window open small">Window open for ${left}</p>
      <${TextComposer} conv=${conv} onSent=${onSent} replyRef=${replyRef} />
    </div>`;
}
