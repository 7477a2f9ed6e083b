/* auth.h - who is calling the REST API.
 *
 * Every /api/v1 request carries "Authorization: Bearer <token>". The token
 * is hashed with SHA-256 and looked up (ic_store_token_lookup) on the
 * calling thread's own read connection: one hash and one indexed read per
 * request. The token itself is never stored or logged.
 */
#ifndef IC_API_AUTH_H
#define IC_API_AUTH_H

#include "app.h"
#include "base/err.h"
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

/* Authenticates r and sets *ws to the token's workspace. On any failure
 * (missing, malformed, unknown or revoked token) it has already answered
 * 401 unauthorized with WWW-Authenticate: Bearer, and returns IC_ERR_AUTH;
 * a database failure answers 500 and returns IC_ERR_DB. The caller then
 * returns without answering. Call on a poll thread; app is borrowed. */
ic_err ic_api_auth(ic_req *r, ic_app *app, int64_t *ws);

#endif
