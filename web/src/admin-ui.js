// admin-ui.js - what the admin pages share: a list loaded from the API, a form
// that shows the API's error next to itself, labelled fields, a copy button.
// Everything is put on the page as text (htm + Preact), never as HTML.
import { useState, useEffect } from 'preact/hooks';
import { html } from './html.js';
import { api } from './api.js';

/** Loads GET path's items; returns [items (null while loading), reload, error]. */
export function useList(path) {
  const [items, setItems] = useState(null);
  const [error, setError] = useState('');
  async function reload() {
    try {
      const res = await api('GET', path);
      setItems((res && res.items) || []);
      setError('');
    } catch (e) {
      setError(e.message);
    }
  }
  useEffect(() => { reload(); }, [path]);
  return [items, reload, error];
}

/** Form values as an object of trimmed strings (checkboxes: true/false). */
export function values(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    out[el.name] = el.type === 'checkbox' ? el.checked : el.value.trim();
  }
  return out;
}

/**
 * A form whose submit calls onSubmit(values, formElement) (async); while it
 * runs the button is disabled, and an error it throws is shown under the
 * form (the API's error.message). The form is cleared after success unless
 * keep is set.
 */
export function Form({ id, title, submit, onSubmit, keep, children }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  async function go(e) {
    e.preventDefault();
    const form = e.currentTarget;
    setBusy(true);
    setError('');
    try {
      await onSubmit(values(form), form);
      if (!keep) form.reset();
    } catch (err) {
      setError(err.message || String(err));
    } finally {
      setBusy(false);
    }
  }
  return html`
    <form class="admin-form" id=${id} onSubmit=${go} aria-label=${title}>
      ${title && html`<h3>${title}</h3>`}
      <div class="fields">${children}</div>
      <div class="form-end">
        <button type="submit" class="primary" disabled=${busy}>${submit}</button>
        ${error && html`<p class="error" role="alert">${error}</p>`}
      </div>
    </form>`;
}

/** A labelled input; kind "textarea" or "select" (with options [[value, text]]
 * and the one first shown, selected, also after the form is reset). */
export function Field({ label, name, kind, options, hint, selected, ...rest }) {
  const id = 'f-' + name + (rest.idSuffix || '');
  delete rest.idSuffix;
  let control;
  if (kind === 'textarea') control = html`<textarea id=${id} name=${name} rows="3" ...${rest}></textarea>`;
  else if (kind === 'select') {
    control = html`<select id=${id} name=${name} ...${rest}>
      ${options.map(([v, t]) => html`<option value=${v} defaultSelected=${v === selected}>${t}</option>`)}</select>`;
  } else control = html`<input id=${id} name=${name} ...${rest} />`;
  return html`<div class=${'field' + (rest.type === 'checkbox' ? ' check' : '')}>
    <label for=${id}>${label}</label>${control}${hint && html`<small class="muted">${hint}</small>`}</div>`;
}

/** A button that copies text to the clipboard and says so. */
export function CopyButton({ text, label }) {
  const [done, setDone] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      // No clipboard (an insecure origin): select the text for Ctrl+C instead.
      const ta = document.createElement('textarea');
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 2000);
  }
  return html`<button type="button" class="copy" onClick=${copy} aria-label=${'Copy ' + (label || '')}>
    ${done ? 'Copied' : 'Copy'}</button>`;
}

/** A read-only value with a copy button: the webhook URL, a new token. */
export function Secret({ label, value, name }) {
  return html`<div class="secret">
    <label for=${'s-' + name}>${label}</label>
    <div class="secret-row"><input id=${'s-' + name} readonly value=${value} />
      <${CopyButton} text=${value} label=${label} /></div></div>`;
}

/** Runs fn(); an error goes to setError (an inline message by a row). */
export async function attempt(fn, setError) {
  try {
    setError('');
    await fn();
  } catch (e) {
    setError(e.message || String(e));
  }
}

/** "2026-11-22T04:00:00.000000Z" as a short local date and time. */
export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export { api, html, useState, useEffect };
