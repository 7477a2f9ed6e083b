/* auth.h - who is calling the REST API, and whether they may.
 *
 * A request is authenticated one of two ways:
 * - "Authorization: Bearer <token>": an API token, hashed with SHA-256 and
 *   looked up (ic_store_token_lookup) on the calling thread's own read
 *   connection. A token acts as an admin of its workspace. The token itself
 *   is never stored or logged.
 * - the session cookie of a signed-in user (the web app): the user's role in
 *   the session's workspace; a request that changes anything (any method but
 *   GET and HEAD) must also carry the session's CSRF token in X-CSRF-Token.
 */
#ifndef IC_API_AUTH_H
#define IC_API_AUTH_H

#include "app.h"
#include "base/err.h"
#include "core/roles.h"
#include "http/http.h"

#include <stddef.h>
#include <stdint.h>

/* The longest token accepted (ours are 51 characters). */
#define IC_API_TOKEN_MAX 512

/* Extracts the token from an Authorization header value: the scheme
 * "Bearer" (any case), one or more spaces, then 1..IC_API_TOKEN_MAX
 * characters of RFC 6750's token68 set. On success *tok points into header
 * (borrowed) and *len is its length. IC_ERR_AUTH otherwise, also for NULL. */
ic_err ic_api_bearer_token(const char *header, const char **tok, size_t *len);

/* The caller of a request, as ic_api_authorize found it. */
typedef struct ic_principal {
    int64_t ws;         /* the workspace every read and write is confined to */
    ic_role role;       /* IC_ROLE_ADMIN for an API token */
    int64_t user_id;    /* the signed-in user; 0 for an API token */
    int64_t token_id;   /* the API token; 0 for a session */
    int64_t session_id; /* the session; 0 for an API token */
} ic_principal;

/* Authenticates r (a Bearer token or a session cookie, as above) and checks
 * that the caller's role is at least min_role. On success fills *p and
 * returns IC_OK. Otherwise it has already answered and returns the error:
 * 401 unauthorized (no or a bad token, no or an expired session, with
 * WWW-Authenticate: Bearer for token callers), 403 forbidden (the role is
 * below min_role, or the CSRF token is missing or wrong), 503 when the
 * database cannot be read. The caller then returns without answering. Call
 * on a poll thread; app is borrowed. */
ic_err ic_api_authorize(ic_req *r, ic_app *app, ic_role min_role, ic_principal *p);

#endif
