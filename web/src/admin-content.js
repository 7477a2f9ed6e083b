// admin-content.js - what operators use while answering: labels (name and
// colour), canned replies (shortcut, title, body with {{variables}}), and
// urgency words (language and phrase).
import { html, useState, api, useList, Form, Field, attempt } from './admin-ui.js';

/** A list row with a Delete button that calls DELETE path, then reload. */
function Deletable({ path, reload, children }) {
  const [error, setError] = useState('');
  return html`<li class="row">${children}
    <button type="button" class="danger" onClick=${() => attempt(async () => { await api('DELETE', path); await reload(); }, setError)}>Delete</button>
    ${error && html`<p class="error" role="alert">${error}</p>`}</li>`;
}

/** The labels page. */
export function Labels() {
  const [items, reload, error] = useList('/api/v1/labels');
  return html`<section class="admin-page" aria-labelledby="h-labels">
    <h2 id="h-labels">Labels</h2>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${items && items.length === 0 && html`<p class="muted">No labels yet.</p>`}
    ${items && html`<ul class="rows">${items.map((l) => html`<${Deletable} key=${l.id} path=${'/api/v1/labels/' + l.id} reload=${reload}>
      <span class="swatch" style=${{ background: l.color }} aria-hidden="true"></span>
      <span class="grow">${l.name}</span><code class="muted">${l.color}</code></${Deletable}>`)}</ul>`}
    <${Form} id="add-label" title="Add a label" submit="Add label"
      onSubmit=${async (v) => { await api('POST', '/api/v1/labels', v); await reload(); }}>
      <${Field} label="Name" name="name" required maxlength="100" />
      <${Field} label="Colour" name="color" type="color" defaultValue="#6b7280" />
    </${Form}>
  </section>`;
}

/** The canned replies page. */
export function Canned() {
  const [items, reload, error] = useList('/api/v1/canned-replies');
  return html`<section class="admin-page" aria-labelledby="h-canned">
    <h2 id="h-canned">Canned replies</h2>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${items && items.length === 0 && html`<p class="muted">No canned replies yet.</p>`}
    ${items && html`<ul class="rows">${items.map((c) => html`<${Deletable} key=${c.id} path=${'/api/v1/canned-replies/' + c.id} reload=${reload}>
      <code class="shortcut">/${c.shortcut}</code>
      <span class="grow"><strong>${c.title}</strong><span class="body muted">${c.body}</span></span></${Deletable}>`)}</ul>`}
    <${Form} id="add-canned" title="Add a canned reply" submit="Add canned reply"
      onSubmit=${async (v) => { await api('POST', '/api/v1/canned-replies', v); await reload(); }}>
      <${Field} label="Shortcut" name="shortcut" required maxlength="32" pattern="[a-z0-9_\\-]+"
        hint="a-z, 0-9, _ and -: operators type /shortcut" />
      <${Field} label="Title" name="title" required maxlength="200" />
      <${Field} label="Text" name="body" kind="textarea" required maxlength="4096"
        hint="Variables: {{contact.name}}, {{contact.first_name}}, {{operator.name}}, {{workspace.name}}" />
    </${Form}>
  </section>`;
}

/** The urgency words page. */
export function Urgency() {
  const [items, reload, error] = useList('/api/v1/urgency-words');
  return html`<section class="admin-page" aria-labelledby="h-urgency">
    <h2 id="h-urgency">Urgency words</h2>
    <p class="muted">A message containing one of these marks its conversation urgent.</p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${items && items.length === 0 && html`<p class="muted">No urgency words yet.</p>`}
    ${items && html`<ul class="rows">${items.map((w) => html`<${Deletable} key=${w.id} path=${'/api/v1/urgency-words/' + w.id} reload=${reload}>
      <span class="grow">${w.phrase}</span><span class="tag">${w.language || 'any language'}</span></${Deletable}>`)}</ul>`}
    <${Form} id="add-urgency" title="Add an urgency word" submit="Add word"
      onSubmit=${async (v) => { await api('POST', '/api/v1/urgency-words', v); await reload(); }}>
      <${Field} label="Language" name="language" maxlength="35" placeholder="any" hint="e.g. en, zu; empty for every language" />
      <${Field} label="Word or phrase" name="phrase" required maxlength="100" />
    </${Form}>
  </section>`;
}
