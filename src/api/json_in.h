/* json_in.h - reading REST API requests: JSON bodies, fields, ids, pages,
 * and the error answers every endpoint shares.
 *
 * Bad input never aborts: every reader returns IC_ERR_INVALID (or
 * IC_ERR_TOO_BIG) with one sentence in em that the client sees in a 400
 * answer, e.g. "name must be a string of at most 200 characters". All
 * functions are thread-safe; they keep no state.
 */
#ifndef IC_API_JSON_IN_H
#define IC_API_JSON_IN_H

#include "base/err.h"
#include "http/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The deepest nesting of arrays and objects a request body may have. */
#define IC_API_MAX_DEPTH 32

/* Page sizes: limit is 1..100, 50 when absent. */
#define IC_API_LIMIT_DEFAULT 50
#define IC_API_LIMIT_MAX 100

/* Parses body (len bytes) as one JSON object: UTF-8, no duplicate keys, no
 * trailing data, at most IC_API_MAX_DEPTH levels deep. On success *out is an
 * owned object. Errors: IC_ERR_INVALID with em naming the problem and its
 * place ("the body is not valid JSON: ... (line 1, column 9)"). */
ic_err ic_api_parse_object(const char *body, size_t len, json_t **out, ic_errmsg *em);

/* Refuses members of obj whose names are not in allowed (a NULL-terminated
 * list): IC_ERR_INVALID "unknown field \"x\"". Typos then fail loudly instead
 * of being ignored. */
ic_err ic_api_only_keys(const json_t *obj, const char *const *allowed, ic_errmsg *em);

/* Reads r's body as one JSON object (ic_api_parse_object) whose members
 * are all in allowed (ic_api_only_keys); an empty body counts as {} when
 * empty_ok. On success *out is an owned object, else NULL. Errors:
 * IC_ERR_INVALID with em, as those two give. Does not answer r: the caller
 * passes the error to ic_api_fail with em. */
ic_err ic_api_read_object(const ic_req *r, const char *const *allowed, bool empty_ok, json_t **out,
                          ic_errmsg *em);

/* Reads member key of obj as a string of 1..max_chars characters (Unicode
 * code points). *out is borrowed from obj, or NULL when the member is absent
 * and not required. A JSON null counts as absent. Errors: IC_ERR_INVALID
 * "key must be a string of at most N characters", "key must not be
 * empty", or "key is required" when missing and required. */
ic_err ic_api_get_string(const json_t *obj, const char *key, bool required, size_t max_chars,
                         const char **out, ic_errmsg *em);

/* Reads member key of obj as an integer in lo..hi. *out keeps its value
 * when the member is absent (or null) and not required. Errors:
 * IC_ERR_INVALID "key must be an integer from lo to hi". */
ic_err ic_api_get_int(const json_t *obj, const char *key, bool required, int64_t lo, int64_t hi,
                      int64_t *out, ic_errmsg *em);

/* True when s is 1..max_len ASCII digits. */
bool ic_api_is_digits(const char *s, size_t max_len);

/* Parses a path or query id: a positive decimal integer without sign or
 * leading zeros. IC_ERR_INVALID otherwise. */
ic_err ic_api_parse_id(const char *s, int64_t *out);

/* Reads the "limit" and "cursor" query arguments of r: limit 1..100 (50 when
 * absent), cursor the next_cursor of an earlier page (0 when absent).
 * Errors: IC_ERR_INVALID with em explaining the bound. */
ic_err ic_api_page(const ic_req *r, int *limit, int64_t *cursor, ic_errmsg *em);

/* Returns a new list answer {"items": items, "next_cursor": "N" | null};
 * steals items. next 0 means there is no further page. */
json_t *ic_api_list_json(json_t *items, int64_t next);

/* Returns v serialised compactly (keys in insertion order) as an owned
 * string allocated with ic_malloc (free with ic_free). Never NULL. */
char *ic_api_json_dumps(const json_t *v);

/* The error code the API shows for e ("bad_request", "unauthorized",
 * "not_found", "conflict", "too_large", "limit", "window_closed", "busy",
 * "internal", ...). Static string. */
const char *ic_api_error_code(ic_err e);

/* Answers r with the API error for e: the status (400 for IC_ERR_INVALID and
 * IC_ERR_PARSE, 401, 403, 404, 409, 413, 422, 503 with Retry-After, 500) and
 * {"error":{"code","message"}}, the message taken from em when it holds one
 * and e is a client error, else a generic sentence. 401 adds
 * WWW-Authenticate: Bearer. Server errors are logged with the request id.
 * Answers exactly once; any thread. */
void ic_api_fail(ic_req *r, ic_err e, const ic_errmsg *em);

#endif
