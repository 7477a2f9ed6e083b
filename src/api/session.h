/* session.h - signed-in users of the web app: sessions, their cookies and
 * the sign-in endpoints.
 *
 * A session is a random 256-bit id sent as the HttpOnly, SameSite=Lax
 * cookie IC_SESSION_COOKIE (Secure when the public URL is https); the
 * database keeps only its SHA-256 (sessions.token_sha256), with the
 * session's CSRF token, which the web app reads from the sign-in answer or
 * GET /api/v1/me and sends back in X-CSRF-Token.
 */
#ifndef IC_API_SESSION_H
#define IC_API_SESSION_H

#include "api/auth.h"

#define IC_SESSION_COOKIE "ic_session"

/* Finds the caller of r by its session cookie: fills p (ws, role, user_id,
 * session_id) and returns IC_OK. A request that changes anything (not GET
 * or HEAD) must carry the session's CSRF token in X-CSRF-Token (compared in
 * constant time). Errors, with em filled: IC_ERR_AUTH "sign in first ..."
 * (no cookie, an unknown or revoked session, one unused for 12 hours or
 * older than 7 days, a disabled user, a session created before the user's
 * sessions_valid_after_us), IC_ERR_FORBIDDEN "the CSRF token is missing or
 * wrong", IC_ERR_BUSY or IC_ERR_DB. Reads on the thread's own connection;
 * at most once a minute per session it also queues a write job that moves
 * last_seen_us (never waiting for it). Never answers r (ic_api_authorize
 * does). Call on a poll thread. */
ic_err ic_api_session_principal(ic_req *r, ic_app *app, ic_principal *p, ic_errmsg *em);

/* Registers the sign-in endpoints (/api/v1/auth/...) and the user's own
 * (/api/v1/me...); see docs/api.md. */
void ic_api_session_routes(ic_http *h, ic_app *app);

/* Registers the admin's users endpoints (/api/v1/users...; users_api.c);
 * see docs/api.md. */
void ic_api_users_routes(ic_http *h, ic_app *app);

#endif
