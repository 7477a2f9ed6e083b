// admin-teams.js - teams: create, choose members, automatic assignment on/off.
import { html, useState, api, useList, Form, Field, attempt } from './admin-ui.js';

function TeamCard({ t, users, reload }) {
  const [error, setError] = useState('');
  const ids = new Set((t.members || []).map((m) => m.id));
  async function saveMembers(e) {
    e.preventDefault();
    const chosen = [...e.currentTarget.querySelectorAll('input[name=member]:checked')].map((el) => Number(el.value));
    await attempt(async () => { await api('PUT', `/api/v1/teams/${t.id}/members`, { user_ids: chosen }); await reload(); }, setError);
  }
  return html`<li class="card">
    <div class="card-head"><strong>${t.name}</strong>
      <label class="inline"><input type="checkbox" checked=${t.auto_assign}
        onChange=${(e) => attempt(async () => { await api('PATCH', `/api/v1/teams/${t.id}`, { auto_assign: e.currentTarget.checked }); await reload(); }, setError)} />
        Automatic assignment</label>
      <button type="button" class="danger"
        onClick=${() => attempt(async () => { await api('DELETE', `/api/v1/teams/${t.id}`); await reload(); }, setError)}>Delete</button></div>
    <form onSubmit=${saveMembers} aria-label=${'Members of ' + t.name}>
      <fieldset><legend>Members</legend>
        ${(users || []).map((u) => html`<label class="inline" key=${u.id}>
          <input type="checkbox" name="member" value=${u.id} checked=${ids.has(u.id)} /> ${u.name}</label>`)}
      </fieldset>
      <button type="submit">Save members</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </li>`;
}

/** The teams page. */
export function Teams() {
  const [items, reload, error] = useList('/api/v1/teams');
  const [users] = useList('/api/v1/users');
  return html`<section class="admin-page" aria-labelledby="h-teams">
    <h2 id="h-teams">Teams</h2>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${items && items.length === 0 && html`<p class="muted">No teams yet.</p>`}
    ${items && html`<ul class="cards">${items.map((t) => html`<${TeamCard} key=${t.id} t=${t} users=${users} reload=${reload} />`)}</ul>`}
    <${Form} id="add-team" title="Create a team" submit="Create team"
      onSubmit=${async (v) => { await api('POST', '/api/v1/teams', v); await reload(); }}>
      <${Field} label="Name" name="name" required maxlength="100" />
      <${Field} label="Automatic assignment" name="auto_assign" type="checkbox" />
    </${Form}>
  </section>`;
}
