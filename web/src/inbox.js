// inbox.js - the main layout: the lists on the left, the chosen list's
// conversations, and the open conversation; keyboard shortcuts (see HELP).
import { useState, useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';
import { api } from './api.js';
import { shortTime, personName, atLeast } from './format.js';
import { Conversation } from './conversation.js';
import { useLive } from './live.js';

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
  ['r', 'Write a reply (/ for canned replies)'],
  ['a', 'Assign the conversation to me'],
  ['t', 'Transfer it to a person or team'],
  ['c', 'Close or reopen it'],
  ['l', 'Labels'],
  ['n', 'Write an internal note'],
  ['Esc', 'Back to the list'],
  ['?', 'Show or hide these shortcuts'],
];

function typing(el) {
  return el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

/** Urgent open conversations first, otherwise the server's order. */
function urgentFirst(list) {
  const hot = (c) => (c.urgent && c.status !== 'closed' ? 0 : 1);
  return list.map((c, i) => [c, i]).sort((a, b) => hot(a[0]) - hot(b[0]) || a[1] - b[1]).map((x) => x[0]);
}

/** The people, teams and labels of the workspace, for names and pickers. */
function useDirectory(user) {
  const [dir, setDir] = useState({ users: [], teams: [], labels: [] });
  useEffect(() => {
    const items = (p) => api('GET', p).then((r) => (r && r.items) || []).catch(() => []);
    Promise.all([
      atLeast(user, 'operator') ? items('/api/v1/users') : [],
      items('/api/v1/teams'),
      items('/api/v1/labels'),
    ]).then(([users, teams, labels]) => setDir({ users, teams, labels }));
  }, [user.id]);
  return dir;
}

/** Supervisors' alerts: urgent conversations that appeared since the page
 * loaded and that they have not opened yet. check() looks again. */
function useUrgentAlerts(user, convId) {
  const [alerts, setAlerts] = useState([]);
  const known = useRef(null);
  const on = atLeast(user, 'supervisor');
  async function check() {
    if (!on) return;
    try {
      const res = await api('GET', '/api/v1/conversations?view=urgent&limit=50');
      const items = (res && res.items) || [];
      if (known.current === null) { known.current = new Set(items.map((c) => c.id)); return; }
      const fresh = items.filter((c) => !known.current.has(c.id));
      fresh.forEach((c) => known.current.add(c.id));
      if (fresh.length) setAlerts((a) => a.concat(fresh));
    } catch (err) { /* the list shows errors */ }
  }
  useEffect(() => { check(); }, []);
  useEffect(() => {
    if (convId) setAlerts((a) => a.filter((c) => String(c.id) !== String(convId)));
  }, [convId]);
  return [alerts, check];
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
export function Inbox({ user, links, view, convId, navigate, onSignOut }) {
  const [items, setItems] = useState(null);
  const [error, setError] = useState('');
  const [cursor, setCursor] = useState(0);
  const [help, setHelp] = useState(false);
  const [tick, setTick] = useState(0);
  const replyRef = useRef(null);
  const listRef = useRef(null);
  const actionsRef = useRef(null);
  const dir = useDirectory(user);
  const [alerts, checkUrgent] = useUrgentAlerts(user, convId);
  const reloadTimer = useRef(null);

  const seq = useRef(0);

  async function load() {
    const mine = ++seq.current; // an older answer that arrives late is dropped
    try {
      const res = await api('GET', `/api/v1/conversations?view=${encodeURIComponent(view)}&limit=50`);
      if (mine !== seq.current) return;
      setItems(urgentFirst(res.items || []));
      setError('');
    } catch (err) {
      if (err.status !== 401) setError(err.message);
    }
  }

  useEffect(() => { setItems(null); setCursor(0); load(); }, [view]);

  // A burst of events (a message and its statuses) reloads the list once.
  // The open conversation reloads with it when an event concerned it.
  const convDirty = useRef(false);
  function reloadSoon() {
    clearTimeout(reloadTimer.current);
    reloadTimer.current = setTimeout(() => {
      latest.current.load();
      checkUrgent();
      if (convDirty.current) { convDirty.current = false; setTick((n) => n + 1); }
    }, 150);
  }

  const [typist, setTypist] = useState(null); // {conversation_id, user_id} for a few seconds
  const typistTimer = useRef(null);
  const live = useLive((type, data) => {
    if (type === 'typing') {
      if (!data || data.user_id == null || data.user_id === user.id) return;
      setTypist(data);
      clearTimeout(typistTimer.current);
      typistTimer.current = setTimeout(() => setTypist(null), 6000);
      return;
    }
    if (type === 'message.created' && data && data.direction === 'out') setTypist(null);
    const openId = latest.current.convId;
    const about = data && data.conversation_id != null && String(data.conversation_id) === String(openId);
    const unknown = !data || data.conversation_id == null;
    if (openId && (about || unknown || type === 'resync' || type === 'poll')) convDirty.current = true;
    reloadSoon();
  });

  useEffect(() => {
    document.title = (alerts.length ? `(${alerts.length}) Urgent · ` : '') + 'Inbox · impactchat';
  }, [alerts.length]);

  const open = items && convId ? items.find((c) => String(c.id) === String(convId)) || null : null;

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
  latest.current = { items, cursor, help, convId, view, load };

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
    if (typing(e.target) || helpOpen || (e.target && e.target.closest && e.target.closest('[role=dialog]'))) return;
    if (e.key === 'j') { e.preventDefault(); move(1); }
    else if (e.key === 'k') { e.preventDefault(); move(-1); }
    else if (e.key === 'Enter' && list && list[at] && !(e.target && e.target.closest('a,button'))) {
      e.preventDefault();
      navigate(`/app/inbox/${v}/${list[at].id}`);
    } else if (e.key === 'r' && openId && replyRef.current) { e.preventDefault(); replyRef.current.focus(); }
    else if (openId && 'atcln'.includes(e.key) && e.key.length === 1 && actionsRef.current) {
      e.preventDefault();
      actionsRef.current[e.key]();
    }
  }

  useEffect(() => {
    const handler = (e) => onKey(e);
    document.addEventListener('keydown', handler);
    return () => document.removeEventListener('keydown', handler);
  }, []);

  function link(e, path) {
    e.preventDefault();
    if (path === location.pathname) load(); // choosing the list again reloads it
    navigate(path);
  }

  return html`
    <div class=${'inbox' + (convId ? ' has-open' : '')}>
      <header class="topbar">
        <span class="brand"><span class="logo" aria-hidden="true"></span>impactchat</span>
        ${links}
        <span class="spacer"></span>
        ${live === 'reconnecting' && html`<span class="live-state" role="status">Reconnecting…</span>`}
        <button type="button" class="ghost" onClick=${() => setHelp(true)} title="Keyboard shortcuts (?)">?</button>
        <span class="muted small who">${user.name || user.email}</span>
        <button type="button" class="ghost" onClick=${onSignOut}>Sign out</button>
      </header>
      ${alerts.length > 0 && html`
        <div class="alert-banner" role="alert">
          <strong>Urgent:</strong>
          ${alerts.map((c) => html`<a key=${c.id} href=${`/app/inbox/${view}/${c.id}`}
            onClick=${(e) => link(e, `/app/inbox/${view}/${c.id}`)}>${personName(c.contact)}</a>`)}
          <span class="small">needs someone now.</span>
        </div>`}
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
                <span class="snippet">${c.last_message && c.last_message.direction === 'out' ? 'You: ' : ''}${(c.last_message && c.last_message.text) || ''}</span>
                <span class="row-tags">
                  ${c.urgent && html`<span class="tag urgent">Urgent</span>`}
                  ${c.assignee && html`<span class="tag who-tag" title="Assigned to">→ ${c.assignee.name}</span>`}
                  ${(c.labels || []).map((l) => html`<span key=${l.id} class="tag label">${l.name}</span>`)}
                </span>
              </a>
            </li>`)}
        </ul>
      </section>
      ${convId
        ? html`<${Conversation} key=${convId} convId=${convId} first=${open} user=${user} dir=${dir}
            replyRef=${replyRef} actionsRef=${actionsRef} tick=${tick} onChanged=${reloadSoon}
            typist=${typist && String(typist.conversation_id) === String(convId) ? typist.user_id : null}
            onBack=${() => navigate(`/app/inbox/${view}`)} />`
        : html`<section class="pane empty"><p class="muted">Choose a conversation. Press ? for shortcuts.</p></section>`}
      ${help && html`<${Help} onClose=${() => setHelp(false)} />`}
    </div>`;
}
