// admin-settings.js - the workspace's settings: time zone, business hours
// (per day, "08:00-12:00, 13:00-17:00"; empty is closed), away message and
// greeting (admin only).
import { html, useState, useEffect, api, Form, Field } from './admin-ui.js';

const DAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'],
  ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];
const SPAN = /^([0-2]\d:[0-5]\d)\s*[-–]\s*([0-2]\d:[0-5]\d)$/;

/** [["08:00","17:00"], ...] as "08:00-17:00, ...". */
function showDay(spans) {
  return (spans || []).map((s) => s[0] + '-' + s[1]).join(', ');
}

/** "08:00-12:00, 13:00-17:00" as intervals; throws a sentence when malformed. */
function parseDay(text, dayName) {
  if (!text) return [];
  return text.split(',').map((part) => {
    const m = SPAN.exec(part.trim());
    if (!m) throw new Error(`${dayName}: write the hours as 08:00-17:00 (several separated by commas)`);
    return [m[1], m[2]];
  });
}

/** The settings page. */
export function Settings() {
  const [s, setS] = useState(null);
  const [error, setError] = useState('');
  const [saved, setSaved] = useState('');
  useEffect(() => { api('GET', '/api/v1/settings').then(setS, (e) => setError(e.message)); }, []);
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];

  async function save(v) {
    setSaved('');
    const body = {
      time_zone: v.time_zone || null,
      away_message: v.away_message || null,
      greeting: v.greeting || null,
    };
    if (v.always_open) body.business_hours = null;
    else {
      const hours = {};
      for (const [d, name] of DAYS) {
        const spans = parseDay(v['day_' + d], name);
        if (spans.length) hours[d] = spans;
      }
      body.business_hours = hours;
    }
    setS(await api('PATCH', '/api/v1/settings', body));
    setSaved('Saved.');
  }

  const bh = (s && s.business_hours) || null;
  return html`<section class="admin-page" aria-labelledby="h-settings">
    <h2 id="h-settings">Business hours and messages</h2>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${s && html`<${Form} id="settings" submit="Save settings" keep onSubmit=${save}>
      <${Field} label="Time zone" name="time_zone" defaultValue=${s.time_zone || ''} list="zones"
        placeholder="Africa/Johannesburg" autocomplete="off" />
      <datalist id="zones">${zones.map((z) => html`<option value=${z} />`)}</datalist>
      <fieldset class="hours"><legend>Business hours</legend>
        <div class="field check"><label for="f-always_open">Always open (no business hours)</label>
          <input id="f-always_open" name="always_open" type="checkbox" defaultChecked=${!bh} /></div>
        ${DAYS.map(([d, name]) => html`<div class="field day" key=${d}><label for=${'f-day_' + d}>${name}</label>
          <input id=${'f-day_' + d} name=${'day_' + d} defaultValue=${showDay(bh && bh[d])} placeholder="closed" /></div>`)}
        <small class="muted">For example 08:00-17:00, or 08:00-12:00, 13:00-17:00. An empty day is closed.</small>
      </fieldset>
      <${Field} label="Away message (sent outside business hours)" name="away_message" kind="textarea"
        maxlength="1024" defaultValue=${s.away_message || ''} />
      <${Field} label="Greeting (sent to a person who writes for the first time)" name="greeting" kind="textarea"
        maxlength="1024" defaultValue=${s.greeting || ''} />
      <small class="muted">Kept now; impactchat starts sending them with its automation (chatbot flows
        and triggers), which is not built yet.</small>
    </${Form}>`}
    ${saved && html`<p class="ok" role="status">${saved}</p>`}
  </section>`;
}
