// admin-users.js - users and roles: list, add with a first password, change
// role, disable or enable, reset password (admin only).
import { html, useState, api, useList, Form, Field, attempt } from './admin-ui.js';

export const ROLES = [['viewer', 'Viewer'], ['operator', 'Operator'], ['supervisor', 'Supervisor'], ['admin', 'Admin']];

function UserRow({ u, me, reload }) {
  const [error, setError] = useState('');
  const [resetting, setResetting] = useState(false);
  // Reloads even when refused, so the role select shows the stored role again.
  const patch = (body) => attempt(() => api('PATCH', `/api/v1/users/${u.id}`, body), setError).then(reload);
  return html`<tr class=${u.disabled ? 'disabled' : ''}>
    <td>${u.name}${u.id === me.id && html` <span class="muted">(you)</span>`}</td>
    <td>${u.email}</td>
    <td><label class="visually-hidden" for=${'role-' + u.id}>Role of ${u.name}</label>
      <select id=${'role-' + u.id} value=${u.role} onChange=${(e) => patch({ role: e.currentTarget.value })}>
        ${ROLES.map(([v, t]) => html`<option value=${v}>${t}</option>`)}</select></td>
    <td>${u.disabled ? 'Disabled' : 'Active'}</td>
    <td><div class="user-actions">
      <button type="button" onClick=${() => patch({ disabled: !u.disabled })}>${u.disabled ? 'Enable' : 'Disable'}</button>
      <button type="button" onClick=${() => setResetting(!resetting)} aria-expanded=${resetting}>Reset password</button>
      ${resetting && html`<${Form} id=${'reset-' + u.id} submit="Set password"
        onSubmit=${async (v) => { await api('POST', `/api/v1/users/${u.id}/password`, { new_password: v.new_password }); setResetting(false); }}>
        <${Field} label=${'New password for ' + u.name} name="new_password" idSuffix=${'-' + u.id} type="password"
          minlength="10" required autocomplete="new-password" /></${Form}>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </div></td></tr>`;
}

/** The users page. */
export function Users({ user }) {
  const [items, reload, error] = useList('/api/v1/users');
  return html`<section class="admin-page" aria-labelledby="h-users">
    <h2 id="h-users">Users and roles</h2>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${items && html`<table class="admin-table"><thead><tr><th>Name</th><th>Email</th><th>Role</th><th>Status</th><th></th></tr></thead>
      <tbody>${items.map((u) => html`<${UserRow} key=${u.id} u=${u} me=${user} reload=${reload} />`)}</tbody></table>`}
    <${Form} id="add-user" title="Add a user" submit="Add user"
      onSubmit=${async (v) => { if (!v.name) delete v.name; await api('POST', '/api/v1/users', v); await reload(); }}>
      <${Field} label="Email" name="email" type="email" required autocomplete="off" />
      <${Field} label="Name" name="name" />
      <${Field} label="Role" name="role" kind="select" options=${ROLES} selected="operator" />
      <${Field} label="First password" name="password" type="password" minlength="10" required
        autocomplete="new-password" hint="At least 10 characters; tell it to them, they can change it." />
    </${Form}>
  </section>`;
}
