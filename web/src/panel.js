// panel.js - the open conversation's header: who it is, its status, assignee,
// team, labels and urgency, and the actions on it (a assign to me, t transfer,
// c close / reopen, l label, n note), each a button and a shortcut.
import { useState, useLayoutEffect, useRef } from 'preact/hooks';
import { html } from './html.js';
import { api } from './api.js';
import { personName, atLeast } from './format.js';

/** A modal dialog: focuses its first field, Esc or a click outside closes it. */
function Dialog({ title, onClose, children }) {
  const ref = useRef(null);
  // Before the next key press is handled, so no key lands behind the dialog.
  useLayoutEffect(() => {
    const first = ref.current && ref.current.querySelector('input, select, textarea, button');
    if (first) first.focus();
  }, []);
  function onKey(e) {
    if (e.key === 'Escape') { e.stopPropagation(); onClose(); }
  }
  return html`
    <div class="overlay" onClick=${onClose}>
      <div class="dialog" role="dialog" aria-modal="true" aria-label=${title} ref=${ref}
        onClick=${(e) => e.stopPropagation()} onKeyDown=${onKey}>
        <h2>${title}</h2>
        ${children}
      </div>
    </div>`;
}

function Transfer({ dir, conv, user, onDone, onClose }) {
  // Operators may only release their own; supervisors move anyone's anywhere.
  const boss = atLeast(user, 'supervisor');
  const [to, setTo] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState('');
  async function submit(e) {
    e.preventDefault();
    if (!to) return;
    const [kind, id] = to.split(':');
    const body = kind === 'u' ? { user_id: Number(id) } : kind === 't' ? { team_id: Number(id), user_id: null } : { user_id: null };
    if (note.trim()) body.note = note.trim();
    try {
      await api('POST', `/api/v1/conversations/${conv.id}/transfer`, body);
      onDone();
    } catch (err) { setError(err.message); }
  }
  return html`
    <${Dialog} title="Transfer the conversation" onClose=${onClose}>
      <form onSubmit=${submit}>
        <label for="transfer-to">To</label>
        <select id="transfer-to" value=${to} onChange=${(e) => setTo(e.currentTarget.value)}>
          <option value="">${boss ? 'Choose a person or a team…' : 'Choose…'}</option>
          ${conv.assignee && html`<option value="n:0">Nobody (back to Unassigned)</option>`}
          ${boss && html`<optgroup label="People">
            ${dir.users.filter((u) => !u.disabled).map((u) => html`<option key=${'u' + u.id} value=${'u:' + u.id}>${u.name || u.email}</option>`)}
          </optgroup>
          <optgroup label="Teams">
            ${dir.teams.map((t) => html`<option key=${'t' + t.id} value=${'t:' + t.id}>${t.name}</option>`)}
          </optgroup>`}
        </select>
        ${!boss && html`<p class="muted small">Only a supervisor can hand a conversation to someone else; ask one with a note (n).</p>`}
        <label for="transfer-note">Note for them (optional)</label>
        <textarea id="transfer-note" rows="2" maxlength="4000" value=${note}
          onInput=${(e) => setNote(e.currentTarget.value)}></textarea>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <div class="buttons">
          <button type="button" onClick=${onClose}>Cancel</button>
          <button type="submit" class="primary" disabled=${!to}>Transfer</button>
        </div>
      </form>
    <//>`;
}

function Labels({ dir, conv, onDone, onClose }) {
  const [error, setError] = useState('');
  const has = new Set((conv.labels || []).map((l) => l.id));
  async function toggle(label) {
    try {
      if (has.has(label.id)) await api('DELETE', `/api/v1/conversations/${conv.id}/labels/${label.id}`);
      else await api('POST', `/api/v1/conversations/${conv.id}/labels`, { label_id: label.id });
      onDone(true);
    } catch (err) { setError(err.message); }
  }
  return html`
    <${Dialog} title="Labels" onClose=${onClose}>
      ${dir.labels.length === 0 && html`<p class="muted">This workspace has no labels yet (a supervisor adds them).</p>`}
      <ul class="checks">
        ${dir.labels.map((l) => html`
          <li key=${l.id}><label>
            <input type="checkbox" checked=${has.has(l.id)} onChange=${() => toggle(l)} />
            <span class="label-dot" style=${{ background: l.color }}></span>${l.name}
          </label></li>`)}
      </ul>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="buttons"><button type="button" onClick=${onClose}>Done</button></div>
    <//>`;
}

function Note({ conv, onDone, onClose }) {
  const [body, setBody] = useState('');
  const [error, setError] = useState('');
  async function submit(e) {
    if (e) e.preventDefault();
    if (!body.trim()) return;
    try {
      await api('POST', `/api/v1/conversations/${conv.id}/notes`, { body: body.trim() });
      onDone();
    } catch (err) { setError(err.message); }
  }
  return html`
    <${Dialog} title="Internal note" onClose=${onClose}>
      <form onSubmit=${submit}>
        <p class="muted small">Only your colleagues see notes; they are never sent to the person. @Name mentions someone.</p>
        <label for="note-body" class="visually-hidden">Note</label>
        <textarea id="note-body" rows="4" maxlength="4000" value=${body}
          onInput=${(e) => setBody(e.currentTarget.value)}
          onKeyDown=${(e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) submit(e); }}></textarea>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <div class="buttons">
          <button type="button" onClick=${onClose}>Cancel</button>
          <button type="submit" class="primary" disabled=${!body.trim()}>Add note</button>
        </div>
      </form>
    <//>`;
}

/**
 * The header of conversation conv for user. dir is {users, teams, labels};
 * onChanged() reloads the conversation; actionsRef.current is set to the
 * shortcut actions {a, t, c, l, n} (inbox.js calls them).
 */
export function ConvHead({ conv, user, dir, onChanged, onBack, actionsRef }) {
  const [dialog, setDialog] = useState(null);
  const [error, setError] = useState('');
  const canWork = atLeast(user, 'operator');
  const closed = conv.status === 'closed';
  const mine = conv.assignee && conv.assignee.id === user.id;

  async function call(path, body) {
    setError('');
    try {
      await api('POST', `/api/v1/conversations/${conv.id}/${path}`, body);
      onChanged();
    } catch (err) {
      setError(err.status === 403 ? 'Someone else has this conversation; a supervisor can move it.' : err.message);
    }
  }

  const actions = {
    a: () => { if (!mine) call('assign', { user_id: user.id }); },
    t: () => setDialog('t'),
    c: () => call(closed ? 'reopen' : 'close'),
    l: () => setDialog('l'),
    n: () => setDialog('n'),
  };
  if (actionsRef) actionsRef.current = canWork ? actions : null;

  const done = (keep) => { if (!keep) setDialog(null); onChanged(); };
  const number = conv.contact && conv.contact.wa_id ? '+' + conv.contact.wa_id : '';
  return html`
    <header class="pane-head">
      <button type="button" class="ghost back" onClick=${onBack} title="Back to the list (Esc)">←</button>
      <div class="who-block">
        <h2 id="conv-title">${personName(conv.contact)}
          ${conv.urgent && html` <span class="tag urgent">Urgent</span>`}
          ${closed && html` <span class="tag closed">Closed</span>`}</h2>
        <p class="muted small facts">
          <span class="number" title=${conv.contact && conv.contact.wa_id_masked ? 'Only supervisors see the whole number' : ''}>${number}</span>
          <span class="assignee">${conv.assignee ? 'Assigned to ' + conv.assignee.name : 'Unassigned'}</span>
          ${conv.team && html`<span class="team">Team ${conv.team.name}</span>`}
          ${(conv.labels || []).map((l) => html`<span key=${l.id} class="tag label"><span class="label-dot" style=${{ background: l.color }}></span>${l.name}</span>`)}
        </p>
      </div>
      <span class="spacer"></span>
      ${canWork && html`
        <div class="actions" role="toolbar" aria-label="Conversation actions">
          ${!mine && html`<button type="button" onClick=${actions.a} title="Assign to me (a)">Take</button>`}
          <button type="button" onClick=${actions.t} title="Transfer (t)">Transfer</button>
          <button type="button" onClick=${actions.l} title="Labels (l)">Label</button>
          <button type="button" onClick=${actions.n} title="Internal note (n)">Note</button>
          <button type="button" onClick=${actions.c} title=${closed ? 'Reopen (c)' : 'Close (c)'}>${closed ? 'Reopen' : 'Close'}</button>
        </div>`}
      ${error && html`<p class="error head-error" role="alert">${error}</p>`}
      ${dialog === 't' && html`<${Transfer} dir=${dir} conv=${conv} user=${user} onDone=${done} onClose=${() => setDialog(null)} />`}
      ${dialog === 'l' && html`<${Labels} dir=${dir} conv=${conv} onDone=${done} onClose=${() => setDialog(null)} />`}
      ${dialog === 'n' && html`<${Note} conv=${conv} onDone=${done} onClose=${() => setDialog(null)} />`}
    </header>`;
}
