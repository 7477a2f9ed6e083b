// signin.js - the sign-in page: email and password, POST /api/v1/auth/login.
import { useState, useRef, useEffect } from 'preact/hooks';
import { html } from './html.js';
import { api, setCsrf } from './api.js';

/** The sign-in form; calls onSignedIn(user) once the session is open. */
export function SignIn({ onSignedIn }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const emailRef = useRef(null);

  useEffect(() => {
    document.title = 'Sign in · impactchat';
    if (emailRef.current) emailRef.current.focus();
  }, []);

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const res = await api('POST', '/api/v1/auth/login', { email, password }, { quiet401: true });
      setCsrf(res.csrf_token);
      onSignedIn(res.user);
    } catch (err) {
      setError(err.status === 401 || err.status === 400
        ? 'That email and password do not match an account.'
        : err.status === 429 ? 'Too many tries. Wait a few minutes, then try again.' : err.message);
      setBusy(false);
    }
  }

  return html`
    <main class="signin">
      <form class="signin-card" onSubmit=${submit} aria-labelledby="signin-title">
        <h1 id="signin-title"><span class="logo" aria-hidden="true"></span>impactchat</h1>
        <p class="muted">Sign in to answer your helpline's conversations.</p>
        <label for="email">Email</label>
        <input id="email" ref=${emailRef} type="email" autocomplete="username" required
          value=${email} onInput=${(e) => setEmail(e.currentTarget.value)} />
        <label for="password">Password</label>
        <input id="password" type="password" autocomplete="current-password" required
          value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
        ${error && html`<p class="error" role="alert">${error}</p>`}
        <button type="submit" class="primary" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>`;
}
