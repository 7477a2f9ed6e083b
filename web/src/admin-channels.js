// admin-channels.js - WhatsApp numbers: the list, and connecting a Meta
// number; after connecting, the webhook URL and verify token to paste into
// Meta's dashboard, with copy buttons (the verify token is shown only once).
import { html, useState, api, useList, Form, Field, Secret } from './admin-ui.js';

/** The channels page; admin is true when the user may connect numbers. */
export function Channels({ admin }) {
  const [items, reload, error] = useList('/api/v1/channels');
  const [made, setMade] = useState(null);

  async function connect(v) {
    const body = {};
    for (const k of Object.keys(v)) if (v[k] !== '') body[k] = v[k];
    if (body.throughput_mps) body.throughput_mps = Number(body.throughput_mps);
    const ch = await api('POST', '/api/v1/channels', body);
    setMade(ch);
    await reload();
  }

  return html`<section class="admin-page" aria-labelledby="h-channels">
    <h2 id="h-channels">Channels</h2>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${items && items.length === 0 && html`<p class="muted">No WhatsApp number is connected yet.</p>`}
    ${items && items.length > 0 && html`<table class="admin-table"><thead><tr><th>Name</th><th>Number</th>
      <th>Phone number id</th><th>WABA id</th><th>Messages/s</th><th>Webhook path</th></tr></thead>
      <tbody>${items.map((c) => html`<tr key=${c.id}><td>${c.name}</td><td>${c.display_phone || ''}</td>
        <td><code>${c.phone_number_id}</code></td><td>${c.waba_id || ''}</td><td>${c.throughput_mps}</td>
        <td><code class="small">${c.webhook_path}</code></td></tr>`)}</tbody></table>`}
    ${made && html`<div class="notice" role="status" id="channel-made">
      <h3>${made.name} is connected</h3>
      <p>In Meta's App Dashboard (WhatsApp → Configuration), paste these as the callback URL and the verify token,
        then subscribe to the "messages" field.${made.verify_token ? ' The verify token is shown only now.' : ''}</p>
      <${Secret} label="Webhook URL" name="webhook_url" value=${made.webhook_url || made.webhook_path} />
      ${made.verify_token && html`<${Secret} label="Verify token" name="verify_token" value=${made.verify_token} />`}
      <button type="button" onClick=${() => setMade(null)}>Done</button>
    </div>`}
    ${admin && html`<${Form} id="add-channel" title="Connect a Meta number" submit="Connect number" onSubmit=${connect}>
      <${Field} label="Name" name="name" required maxlength="200" placeholder="Clinic line" />
      <${Field} label="Phone number id" name="phone_number_id" required pattern="[0-9]{1,32}" inputmode="numeric" />
      <${Field} label="WhatsApp Business Account id" name="waba_id" pattern="[0-9]*" inputmode="numeric" />
      <${Field} label="Number as people see it" name="display_phone" maxlength="32" placeholder="+27 82 555 0100" />
      <${Field} label="Access token" name="access_token" type="password" required autocomplete="off" />
      <${Field} label="App secret" name="app_secret" type="password" required autocomplete="off" />
      <${Field} label="Throughput (messages per second)" name="throughput_mps" type="number" min="80" max="1000" placeholder="80" />
      <${Field} label="Graph API URL (optional)" name="graph_url" type="url" hint="Only for a simulator or a pinned API version" />
    </${Form}>`}
  </section>`;
}
