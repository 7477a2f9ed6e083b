/* sessions.h - signed-in sessions and failed sign-in counters in the store.
 *
 * A session row keeps the SHA-256 (hex) of the cookie, never the cookie,
 * and the session's CSRF token. Reads run on a thread's own connection;
 * writes are writer only. Times are microseconds (ic_now_us).
 */
#ifndef IC_STORE_SESSIONS_H
#define IC_STORE_SESSIONS_H

#include "base/err.h"
#include "store/store.h"

#include <stdint.h>

/* A session with what its user looks like now. */
typedef struct ic_session_row {
    int64_t id;
    int64_t user_id;
    int64_t ws;
    char csrf[72]; /* the CSRF token (64 hex characters) */
    int64_t created_us, last_seen_us, expires_us, revoked_us;
    char role[16];                   /* the user's role now */
    int64_t user_disabled_us;        /* 0: enabled */
    int64_t sessions_valid_after_us; /* the session has ended when created_us < this */
} ic_session_row;

/* Finds the session whose cookie hashes to token_sha256 (64 hex), with its
 * user (of the same workspace). IC_ERR_NOT_FOUND when there is none; the
 * caller decides whether it is still valid (ic_store_session_valid). */
ic_err ic_store_session_get(ic_conn *c, const char *token_sha256, ic_session_row *out);

/* True when s may be used at time now: not revoked, not past expires_us, not
 * idle longer than idle_us since last_seen_us, its user enabled and
 * created_us >= the user's sessions_valid_after_us. */
bool ic_store_session_valid(const ic_session_row *s, int64_t now, int64_t idle_us);

/* Adds a session of user_id in ws created at now that ends at expires_us at
 * the latest; *id gets its id. IC_ERR_EXISTS when the hash is taken.
 * Writer only. */
ic_err ic_store_session_insert(ic_conn *c, int64_t ws, int64_t user_id, const char *token_sha256,
                               const char *csrf, int64_t now, int64_t expires_us, int64_t *id);

/* Moves last_seen_us of session id forward to now (never back). Writer only. */
ic_err ic_store_session_touch(ic_conn *c, int64_t id, int64_t now);

/* Revokes session id at now (a revoked one stays revoked). Writer only. */
ic_err ic_store_session_revoke(ic_conn *c, int64_t id, int64_t now);

/* Deletes the sessions of user_id that can no longer be used at now:
 * revoked, past expires_us, idle for idle_us, or created before
 * valid_after_us (the user's sessions_valid_after_us). Sign-in calls it, so
 * that a user's dead sessions do not pile up. Writer only. */
ic_err ic_store_sessions_forget_dead(ic_conn *c, int64_t user_id, int64_t now, int64_t idle_us,
                                     int64_t valid_after_us);

/* ---- failed sign-ins, by key ("email:<address>", "ip:<address>") ---------- */

/* When key is locked at now: *locked_until_us > now; otherwise 0. A key
 * never seen is not locked. */
ic_err ic_store_login_locked(ic_conn *c, const char *key, int64_t now, int64_t *locked_until_us);

/* Counts a failed sign-in of key at now. Failures count within a window of
 * window_us from the first; the max_failures-th one within it locks the key
 * until now + lock_us (then *locked_until_us gets that time, else 0) and
 * starts counting afresh. Atomic across nodes. Writer only. */
ic_err ic_store_login_failed(ic_conn *c, const char *key, int64_t now, int64_t window_us,
                             int64_t max_failures, int64_t lock_us, int64_t *locked_until_us);

/* Forgets the failures of key (a successful sign-in). Writer only. */
ic_err ic_store_login_reset(ic_conn *c, const char *key);

/* Deletes the counters whose window began before window_start_us and that
 * are not locked at now: a failed sign-in to a made-up address leaves a row
 * that nothing else removes. Reads the whole table. Writer only. */
ic_err ic_store_login_sweep(ic_conn *c, int64_t window_start_us, int64_t now);

#endif
