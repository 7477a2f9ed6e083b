// main.js - the app: who is signed in, and which page the URL names.
//   /app/sign-in                   the sign-in page
//   /app/inbox/{view}[/{id}]       the inbox (view: see inbox.js VIEWS)
// Anything else under / goes to the inbox's first list.
import { render } from 'preact';
import { useState, useEffect } from 'preact/hooks';
import { html } from './html.js';
import { api, setCsrf, whenSignedOut } from './api.js';
import { SignIn } from './signin.js';
import { Inbox, VIEWS } from './inbox.js';

function App() {
  const [path, setPath] = useState(location.pathname);
  const [user, setUser] = useState(undefined); // undefined: not known yet

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

  if (user === undefined) return html`<p class="loading">Loading…</p>`;

  if (user === null) {
    if (path !== '/app/sign-in') navigate('/app/sign-in', true);
    return html`<${SignIn} onSignedIn=${(u) => { setUser(u); navigate('/app/inbox/unassigned', true); }} />`;
  }

  const m = /^\/app\/inbox\/([a-z_]+)(?:\/(\d+))?\/?$/.exec(path);
  if (!m || !VIEWS.some((v) => v[0] === m[1])) {
    navigate('/app/inbox/unassigned', true);
    return null;
  }

  async function signOut() {
    try { await api('POST', '/api/v1/auth/logout', undefined, { quiet401: true }); } catch (e) { /* gone already */ }
    setCsrf(null);
    setUser(null);
  }

  return html`<${Inbox} user=${user} view=${m[1]} convId=${m[2] || null} navigate=${navigate} onSignOut=${signOut} />`;
}

render(html`<${App} />`, document.getElementById('app'));
