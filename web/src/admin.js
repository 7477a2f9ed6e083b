// admin.js - the admin pages under /app/admin/{section}: a frame with the
// top bar, the sections the user's role may manage, and the chosen section.
// Admins see every section; supervisors labels and canned replies; others none.
import { html } from './html.js';
import { Users } from './admin-users.js';
import { Teams } from './admin-teams.js';
import { Labels, Canned, Urgency } from './admin-content.js';
import { Settings } from './admin-settings.js';
import { Channels } from './admin-channels.js';
import { Tokens } from './admin-tokens.js';

// [id, title, least role, component]
export const SECTIONS = [
  ['users', 'Users and roles', 'admin', Users],
  ['teams', 'Teams', 'admin', Teams],
  ['labels', 'Labels', 'supervisor', Labels],
  ['canned', 'Canned replies', 'supervisor', Canned],
  ['urgency', 'Urgency words', 'admin', Urgency],
  ['settings', 'Business hours', 'admin', Settings],
  ['channels', 'Channels', 'admin', Channels],
  ['tokens', 'API tokens', 'admin', Tokens],
];
const RANK = { viewer: 0, operator: 1, supervisor: 2, admin: 3 };

/** The sections role may see, in order. */
export function sectionsFor(role) {
  return SECTIONS.filter((s) => (RANK[role] || 0) >= RANK[s[2]]);
}

/** A link that navigates inside the app (Enter and click; new tab still works). */
export function Link({ to, navigate, current, children, ...rest }) {
  function go(e) {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button) return;
    e.preventDefault();
    navigate(to);
  }
  return html`<a href=${to} onClick=${go} aria-current=${current ? 'page' : undefined} ...${rest}>${children}</a>`;
}

/** The top bar of the admin and sandbox pages: brand, app links, user, sign out. */
export function Frame({ user, links, onSignOut, children, wide }) {
  return html`<div class=${'frame' + (wide ? ' wide' : '')}>
    <header class="topbar frame-top">
      <span class="brand"><span class="logo" aria-hidden="true"></span>impactchat</span>
      ${links}
      <span class="spacer"></span>
      <span class="muted small who">${user.name || user.email}</span>
      <button type="button" class="ghost" onClick=${onSignOut}>Sign out</button>
    </header>
    ${children}
  </div>`;
}

/** The admin page for section (an id of SECTIONS) as user sees it. */
export function Admin({ user, section, navigate }) {
  const mine = sectionsFor(user.role);
  const sec = mine.find((s) => s[0] === section);
  if (!sec) {
    return html`<main class="admin-main"><section class="admin-page"><h2>Not available</h2>
      <p>${mine.length ? 'This page needs a higher role than yours.' : 'The admin pages are for supervisors and admins; your role is ' + user.role + '.'}</p>
      <p><${Link} to="/app/inbox/unassigned" navigate=${navigate}>Back to the inbox</${Link}></p></section></main>`;
  }
  const Page = sec[3];
  return html`<div class="admin">
    <nav class="admin-nav" aria-label="Admin">
      ${mine.map(([id, title]) => html`<${Link} key=${id} to=${'/app/admin/' + id} navigate=${navigate} current=${id === section}>${title}</${Link}>`)}
    </nav>
    <main class="admin-main"><${Page} key=${section} user=${user} admin=${user.role === 'admin'} /></main>
  </div>`;
}
