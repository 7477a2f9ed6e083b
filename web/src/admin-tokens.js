// admin-tokens.js - API tokens: list, create (the token is shown once, with a
// copy button), revoke (admin only).
import { html, useState, api, useList, Form, Field, Secret, attempt, when } from './admin-ui.js';

function TokenRow({ t, reload }) {
  const [error, setError] = useState('');
  return html`<tr><td>${t.name}</td><td>${when(t.created_at)}</td>
    <td>${t.revoked_at ? 'Revoked ' + when(t.revoked_at) : 'Active'}</td>
    <td>${!t.revoked_at && html`<button type="button" class="danger"
      onClick=${() => attempt(async () => { await api('DELETE', `/api/v1/tokens/${t.id}`); await reload(); }, setError)}>Revoke</button>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}</td></tr>`;
}

/** The API tokens page. */
export function Tokens() {
  const [items, reload, error] = useList('/api/v1/tokens');
  const [made, setMade] = useState(null);
  return html`<section class="admin-page" aria-labelledby="h-tokens">
    <h2 id="h-tokens">API tokens</h2>
    <p class="muted">A token acts as an admin of this workspace: give it only to programs you trust.</p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${made && html`<div class="notice" role="status" id="token-made">
      <h3>Token "${made.name}" created</h3>
      <p>Copy it now: it is not shown again.</p>
      <${Secret} label="Token" name="token" value=${made.token} />
      <button type="button" onClick=${() => setMade(null)}>Done</button></div>`}
    ${items && items.length === 0 && html`<p class="muted">No tokens yet.</p>`}
    ${items && items.length > 0 && html`<table class="admin-table"><thead><tr><th>Name</th><th>Created</th><th>Status</th><th></th></tr></thead>
      <tbody>${items.map((t) => html`<${TokenRow} key=${t.id} t=${t} reload=${reload} />`)}</tbody></table>`}
    <${Form} id="add-token" title="Create a token" submit="Create token"
      onSubmit=${async (v) => { setMade(await api('POST', '/api/v1/tokens', v)); await reload(); }}>
      <${Field} label="Name" name="name" required maxlength="200" placeholder="crm sync" />
    </${Form}>
  </section>`;
}
