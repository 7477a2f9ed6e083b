// inbox.js - the main layout: the lists on the left, the chosen list's
// conversations, and the open conversation; keyboard shortcuts (see HELP).
import { useState, useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';
import { api } from './api.js';
import { shortTime, personName } from './format.js';
import { Conversation } from './conversation.js';

export const VIEWS = [
  ['unassigned', 'Unassigned'],
  ['mine', 'Mine'],
  ['my_teams', 'My teams'],
  ['all', 'All'],
  ['urgent', 'Urgent'],
  ['closed', 'Closed'],
];

const HELP = [
  ['j / k', 'Next / previous conversation'],
  ['Enter', 'Open the conversation'],
  ['r', 'Write a reply'],
  ['Esc', 'Back to the list'],
  ['?', 'Show or hide these shortcuts'],
];

const POLL_MS = 5000;

function typing(el) {
  return el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.isContentEditable);
}

function Help({ onClose }) {
  const ref = useRef(null);
  useEffect(() => { if (ref.current) ref.current.focus(); }, []);
  return html`
    <div class="overlay" onClick=${onClose}>
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="help-title"
        onClick=${(e) => e.stopPropagation()}>
        <h2 id="help-title">Keyboard shortcuts</h2>
        <dl>${HELP.map(([k, v]) => html`<div key=${k}><dt><kbd>${k}</kbd></dt><dd>${v}</dd></div>`)}</dl>
        <button type="button" ref=${ref} onClick=${onClose}>Close</button>
      </div>
    </div>`;
}

/** The inbox for user; view is a VIEWS id, convId the open conversation or null. */
export function Inbox({ user, view, convId, navigate, onSignOut }) {
  const [items, setItems] = useState(null);
  const [error, setError] = useState('');
  const [cursor, setCursor] = useState(0);
  const [help, setHelp] = useState(false);
  const [tick, setTick] = useState(0);
  const replyRef = useRef(null);
  const listRef = useRef(null);

  async function load() {
    try {
      const res = await api('GET', `/api/v1/conversations?view=${encodeURIComponent(view)}&limit=50`);
      setItems(res.items || []);
      setError('');
    } catch (err) {
      if (err.status !== 401) setError(err.message);
    }
  }

  useEffect(() => { setItems(null); setCursor(0); load(); }, [view]);
  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') { load(); setTick((n) => n + 1); }
    }, POLL_MS);
    return () => clearInterval(t);
  }, [view]);
  useEffect(() => { document.title = 'Inbox · impactchat'; }, []);

  const open = items && convId ? items.find((c) => String(c.id) === String(convId)) : null;

  function focusRow(i) {
    const rows = listRef.current ? listRef.current.querySelectorAll('a.conv') : [];
    if (rows[i]) rows[i].focus();
  }

  function move(d) {
    const { items: list, cursor: at } = latest.current;
    if (!list || list.length === 0) return;
    const i = Math.max(0, Math.min(list.length - 1, at + d));
    setCursor(i);
    focusRow(i);
  }

  // The key handler is registered once and reads the latest render's state
  // through this ref (set while rendering, so never a render behind).
  const latest = useRef(null);
  latest.current = { items, cursor, help, convId, view };

  function onKey(e) {
    const { items: list, cursor: at, help: helpOpen, convId: openId, view: v } = latest.current;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'Escape') {
      if (helpOpen) { setHelp(false); return; }
      if (typing(e.target)) { e.target.blur(); focusRow(at); return; }
      if (openId) { navigate(`/app/inbox/${v}`); setTimeout(() => focusRow(at), 0); }
      return;
    }
    if (e.key === '?' && !typing(e.target)) { e.preventDefault(); setHelp((open) => !open); return; }
    if (typing(e.target) || helpOpen) return;
    if (e.key === 'j') { e.preventDefault(); move(1); }
    else if (e.key === 'k') { e.preventDefault(); move(-1); }
    else if (e.key === 'Enter' && list && list[at] && !(e.target && e.target.closest('a,button'))) {
      e.preventDefault();
      navigate(`/app/inbox/${v}/${list[at].id}`);
    } else if (e.key === 'r' && openId && replyRef.current) { e.preventDefault(); replyRef.current.focus(); }
  }

  useEffect(() => {
    const handler = (e) => onKey(e);
    document.addEventListener('keydown', handler);
    return () => document.removeEventListener('keydown', handler);
  }, []);

  function link(e, path) {
    e.preventDefault();
    navigate(path);
  }

  return html`
    <div class=${'inbox' + (convId ? ' has-open' : '')}>
      <header class="topbar">
        <span class="brand"><span class="logo" aria-hidden="true"></span>impactchat</span>
        <span class="spacer"></span>
        <button type="button" class="ghost" onClick=${() => setHelp(true)} title="Keyboard shortcuts (?)">?</button>
        <span class="muted small who">${user.name || user.email}</span>
        <button type="button" class="ghost" onClick=${onSignOut}>Sign out</button>
      </header>
      <nav class="views" aria-label="Lists">
        <ul>
          ${VIEWS.map(([id, label]) => html`
            <li key=${id}><a href=${'/app/inbox/' + id} aria-current=${id === view ? 'page' : undefined}
              onClick=${(e) => link(e, '/app/inbox/' + id)}>${label}</a></li>`)}
        </ul>
      </nav>
      <section class="list" aria-label=${'Conversations: ' + (VIEWS.find((v) => v[0] === view) || [0, view])[1]}>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        ${items === null && !error && html`<p class="muted pad">Loading…</p>`}
        ${items && items.length === 0 && html`<p class="muted pad">No conversations here.</p>`}
        <ul ref=${listRef}>
          ${items && items.map((c, i) => html`
            <li key=${c.id}>
              <a class=${'conv' + (i === cursor ? ' cursor' : '') + (String(c.id) === String(convId) ? ' open' : '')}
                href=${`/app/inbox/${view}/${c.id}`} onFocus=${() => setCursor(i)}
                aria-current=${String(c.id) === String(convId) ? 'true' : undefined}
                onClick=${(e) => link(e, `/app/inbox/${view}/${c.id}`)}>
                <span class="who">${personName(c.contact)}</span>
                <time datetime=${c.last_message_at}>${shortTime(c.last_message_at)}</time>
                ${c.urgent && html`<span class="tag urgent">Urgent</span>`}
              </a>
            </li>`)}
        </ul>
      </section>
      ${open
        ? html`<${Conversation} conv=${open} replyRef=${replyRef} tick=${tick}
            onBack=${() => navigate(`/app/inbox/${view}`)} />`
        : html`<section class="pane empty"><p class="muted">
            ${convId && items ? 'This conversation is not in this list.' : 'Choose a conversation. Press ? for shortcuts.'}</p></section>`}
      ${help && html`<${Help} onClose=${() => setHelp(false)} />`}
    </div>`;
}
