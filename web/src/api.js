// api.js - the one way the app talks to impactchat: fetch with the session
// cookie, the CSRF token on every request that changes something, JSON in and
// out, and a 401 sends the person to the sign-in page.

let csrf = null;
let onSignedOut = () => {};

/** Keeps the session's CSRF token (from sign-in or GET /api/v1/me). */
export function setCsrf(token) {
  csrf = token || null;
}

/** fn() is called when an answer says the session is gone (401). */
export function whenSignedOut(fn) {
  onSignedOut = fn;
}

/** An API error: status, code ("window_closed") and the server's message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * Calls the API at path ("/api/v1/...") and resolves with the parsed JSON
 * answer (null for an empty one). Rejects with ApiError; a 401 also calls the
 * signed-out handler, unless opts.quiet401.
 */
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError(0, 'network', 'impactchat cannot be reached; check the connection');
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (res.ok) return data;
  const err = (data && data.error) || {};
  if (res.status === 401 && !opts.quiet401) onSignedOut();
  throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || res.statusText);
}
