// conversation.js - one conversation: its header (panel.js), its history
// (messages as bubbles with delivery ticks, internal notes, and what was done
// to it: assigned, transferred, closed...) oldest at the top, and the composer.
import { useState, useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';
import { api } from './api.js';
import { shortTime, messageText, messageKind, ticks, atLeast } from './format.js';
import { ConvHead } from './panel.js';
import { Composer } from './composer.js';

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

function NoteItem({ n }) {
  return html`
    <li class="note">
      <span class="kind">Internal note · ${(n.author && n.author.name) || 'someone'} · not sent to the person</span>
      <span class="text">${n.body}</span>
      <span class="meta"><time datetime=${n.created_at}>${shortTime(n.created_at)}</time></span>
    </li>`;
}

/** What an event (GET .../events) says, in words; '' for those not shown. */
function describe(ev, names) {
  const who = (ev.actor && ev.actor.name) || (ev.data && ev.data.auto ? 'Automatic assignment' : 'impactchat');
  const d = ev.data || {};
  const user = (id) => names.users.get(id) || 'someone';
  const team = (id) => names.teams.get(id) || 'a team';
  const target = () => {
    const parts = [];
    if (d.to_user_id) parts.push(user(d.to_user_id));
    if (d.to_team_id && d.to_team_id !== d.from_team_id) parts.push('team ' + team(d.to_team_id));
    return parts.join(', ');
  };
  switch (ev.kind) {
    case 'assign':
      if (!d.to_user_id && d.from_user_id && !d.to_team_id) return `${who} released it`;
      if (ev.actor && d.to_user_id === ev.actor.id) return `${who} took it`;
      return `${who} assigned it to ${target() || 'nobody'}`;
    case 'transfer': return `${who} transferred it to ${target() || 'nobody'}` + (d.note ? `: “${d.note}”` : '');
    case 'close': return `${who} closed it`;
    case 'reopen': return `${who} reopened it`;
    case 'label_added': return `${who} added the label ${d.name || ''}`;
    case 'label_removed': return `${who} removed the label ${d.name || ''}`;
    case 'urgent': return 'Marked urgent: an urgency word matched';
    default: return '';
  }
}

async function all(path) {
  const res = await api('GET', path);
  return (res && res.items) || [];
}

/** The history of conversation id: messages, notes and events by time, oldest first. */
async function history(id, canNotes) {
  const [msgs, notes, events] = await Promise.all([
    all(`/api/v1/conversations/${id}/messages?limit=50`),
    canNotes ? all(`/api/v1/conversations/${id}/notes?limit=50`).catch(() => []) : [],
    all(`/api/v1/conversations/${id}/events?limit=50`).catch(() => []),
  ]);
  // Each list comes newest first; oldest first keeps the stable sort's ties
  // (messages of the same second) in the order they were stored.
  const rows = [];
  msgs.reverse();
  notes.reverse();
  events.reverse();
  for (const m of msgs) rows.push({ key: 'm' + m.id, at: m.timestamp || m.created_at, m });
  for (const n of notes) rows.push({ key: 'n' + n.id, at: n.created_at, n });
  for (const e of events) if (e.kind !== 'note') rows.push({ key: 'e' + e.id, at: e.created_at, e });
  rows.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return rows;
}

/**
 * The conversation pane for convId. first is its row from the list (shown
 * until the conversation itself has loaded) or null; user the signed-in user;
 * dir {users, teams, labels}; tick changes when it should reload (a live
 * event about it); actionsRef gets the header's shortcut actions; typist the
 * id of a colleague typing a reply here (a live `typing` event), or null.
 */
export function Conversation({ convId, first, user, dir, replyRef, actionsRef, onBack, onChanged, tick, typist }) {
  const [conv, setConv] = useState(first);
  const [rows, setRows] = useState(null);
  const [error, setError] = useState('');
  const endRef = useRef(null);

  const seq = useRef(0);

  async function load() {
    const mine = ++seq.current; // an older answer that arrives late is dropped
    try {
      const [c, h] = await Promise.all([
        api('GET', `/api/v1/conversations/${convId}`),
        history(convId, atLeast(user, 'viewer')),
      ]);
      if (mine !== seq.current) return;
      setConv(c);
      setRows(h);
      setError('');
    } catch (err) {
      if (mine === seq.current) setError(err.message);
    }
  }

  useEffect(() => { setConv(first); setRows(null); load(); }, [convId]);
  useEffect(() => { if (tick) load(); }, [tick]);
  useEffect(() => {
    if (endRef.current) endRef.current.scrollIntoView({ block: 'end' });
  }, [rows && rows.length]);

  const names = {
    users: new Map(dir.users.map((u) => [u.id, u.name || u.email])),
    teams: new Map(dir.teams.map((t) => [t.id, t.name])),
  };
  const changed = () => { load(); if (onChanged) onChanged(); };

  if (!conv) {
    return html`<section class="pane empty"><p class=${error ? 'error' : 'muted'}>${error || 'Loading…'}</p></section>`;
  }
  return html`
    <section class="pane" aria-labelledby="conv-title">
      <${ConvHead} conv=${conv} user=${user} dir=${dir} onChanged=${changed} onBack=${onBack} actionsRef=${actionsRef} />
      <ol class="messages" aria-live="polite" aria-label="Messages">
        ${rows === null && !error && html`<li class="muted">Loading…</li>`}
        ${rows && rows.length === 0 && html`<li class="muted">No messages yet.</li>`}
        ${rows && rows.map((r) => {
          if (r.m) return html`<${Bubble} key=${r.key} m=${r.m} />`;
          if (r.n) return html`<${NoteItem} key=${r.key} n=${r.n} />`;
          const words = describe(r.e, names);
          return words && html`<li key=${r.key} class="event"><span>${words}</span>
            <time datetime=${r.at}>${shortTime(r.at)}</time></li>`;
        })}
        <li ref=${endRef} class="end" aria-hidden="true"></li>
      </ol>
      ${typist != null && html`<p class="typing small" role="status">${names.users.get(typist) || 'A colleague'} is typing…</p>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <${Composer} conv=${conv} replyRef=${replyRef} onSent=${changed} canSend=${atLeast(user, 'operator')} />
    </section>`;
}
