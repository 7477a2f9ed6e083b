// main.js - the app: who is signed in, and which page the URL names.
//   /app/sign-in                   the sign-in page
//   /app/inbox/{view}[/{id}]       the inbox (view: see inbox.js VIEWS)
//   /app/admin[/{section}]         the admin pages (see admin.js SECTIONS)
//   /app/sandbox                   the sandbox phone (when the channel has one)
// Anything else under / goes to the inbox's first list.
import { render } from 'preact';
import { useState, useEffect } from 'preact/hooks';
import { html } from './html.js';
import { api, setCsrf, whenSignedOut } from './api.js';
import { SignIn } from './signin.js';
import { Inbox, VIEWS } from './inbox.js';
import { Admin, Frame, Link, sectionsFor } from './admin.js';
import { Sandbox, sandboxAvailable } from './sandbox.js';

/** The links between the app's parts that user may use. */
function AppLinks({ user, sandbox, page, navigate }) {
  const admin = sectionsFor(user.role);
  return html`<nav class="appnav" aria-label="App">
    <${Link} to="/app/inbox/unassigned" navigate=${navigate} current=${page === 'inbox'}>Inbox</${Link}>
    ${sandbox && html`<${Link} to="/app/sandbox" navigate=${navigate} current=${page === 'sandbox'} id="nav-sandbox">Sandbox phone</${Link}>`}
    ${admin.length > 0 && html`<${Link} to=${'/app/admin/' + admin[0][0]} navigate=${navigate} current=${page === 'admin'} id="nav-admin">Admin</${Link}>`}
  </nav>`;
}

function App() {
  const [path, setPath] = useState(location.pathname);
  const [user, setUser] = useState(undefined); // undefined: not known yet
  const [sandbox, setSandbox] = useState(false);

  function navigate(to, replace) {
    if (to !== location.pathname) history[replace ? 'replaceState' : 'pushState'](null, '', to);
    setPath(to);
  }

  useEffect(() => {
    const pop = () => setPath(location.pathname);
    addEventListener('popstate', pop);
    whenSignedOut(() => { setUser(null); setCsrf(null); });
    api('GET', '/api/v1/me', undefined, { quiet401: true })
      .then((me) => { setCsrf(me && me.csrf_token); setUser((me && me.user) || me); })
      .catch(() => setUser(null));
    return () => removeEventListener('popstate', pop);
  }, []);

  const role = user && user.role;
  useEffect(() => {
    if (role && role !== 'viewer') sandboxAvailable().then(setSandbox);
    else setSandbox(false);
  }, [role]);

  if (user === undefined) return html`<p class="loading">Loading…</p>`;

  if (user === null) {
    if (path !== '/app/sign-in') navigate('/app/sign-in', true);
    return html`<${SignIn} onSignedIn=${(u) => { setUser(u); navigate('/app/inbox/unassigned', true); }} />`;
  }

  async function signOut() {
    try { await api('POST', '/api/v1/auth/logout', undefined, { quiet401: true }); } catch (e) { /* gone already */ }
    setCsrf(null);
    setUser(null);
  }

  const links = (page) => html`<${AppLinks} user=${user} sandbox=${sandbox} page=${page} navigate=${navigate} />`;

  const a = /^\/app\/admin(?:\/([a-z_]+))?\/?$/.exec(path);
  if (a) {
    const mine = sectionsFor(user.role);
    if (!a[1] && mine.length) {
      navigate('/app/admin/' + mine[0][0], true);
      return null;
    }
    document.title = 'Admin · impactchat';
    return html`<${Frame} user=${user} links=${links('admin')} onSignOut=${signOut}>
      <${Admin} user=${user} section=${a[1] || ''} navigate=${navigate} /></${Frame}>`;
  }
  if (/^\/app\/sandbox\/?$/.test(path)) {
    return html`<${Frame} user=${user} links=${links('sandbox')} onSignOut=${signOut}><${Sandbox} /></${Frame}>`;
  }

  const m = /^\/app\/inbox\/([a-z_]+)(?:\/(\d+))?\/?$/.exec(path);
  if (!m || !VIEWS.some((v) => v[0] === m[1])) {
    navigate('/app/inbox/unassigned', true);
    return null;
  }

  // The inbox draws its own top bar (inbox.js), with the links in it.
  return html`<${Inbox} user=${user} links=${links('inbox')} view=${m[1]} convId=${m[2] || null} navigate=${navigate} onSignOut=${signOut} />`;
}

render(html`<${App} />`, document.getElementById('app'));
