/* sessions.c - sessions and failed sign-in counters; see sessions.h. */
#include "store/sessions.h"

#include "base/str.h"
#include "store/sql.h"

#include <string.h>

static const char SQL_GET[] =
    "SELECT s.id, s.user_id, s.workspace_id, s.csrf_token, s.created_us, s.last_seen_us,"
    " s.expires_us, s.revoked_us, u.role, u.disabled_us, u.sessions_valid_after_us"
    " FROM sessions s JOIN users u ON u.id = s.user_id AND u.workspace_id = s.workspace_id"
    " WHERE s.token_sha256 = $1";
static const char SQL_INSERT[] =
    "INSERT INTO sessions (workspace_id, user_id, token_sha256, csrf_token, created_us,"
    " last_seen_us, expires_us) VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING id";
static const char SQL_TOUCH[] =
    "UPDATE sessions SET last_seen_us = $1 WHERE id = $2 AND last_seen_us < $1";
static const char SQL_REVOKE[] =
    "UPDATE sessions SET revoked_us = $1 WHERE id = $2 AND revoked_us = 0";
static const char SQL_FORGET_DEAD[] =
    "DELETE FROM sessions WHERE user_id = $1 AND (revoked_us <> 0 OR expires_us <= $2"
    " OR last_seen_us <= $3 OR created_us < $4)";
static const char SQL_LOCKED[] = "SELECT locked_until_us FROM login_attempts WHERE key = $1";
/* A failure outside the window (window_start_us <= $3) starts a new one. */
static const char SQL_FAILED[] =
    "INSERT INTO login_attempts (key, failures, window_start_us) VALUES ($1, 1, $2)"
    " ON CONFLICT (key) DO UPDATE SET"
    " failures = CASE WHEN login_attempts.window_start_us <= $3 THEN 1"
    " ELSE login_attempts.failures + 1 END,"
    " window_start_us = CASE WHEN login_attempts.window_start_us <= $3 THEN $2"
    " ELSE login_attempts.window_start_us END"
    " RETURNING failures";
static const char SQL_LOCK[] =
    "UPDATE login_attempts SET locked_until_us = $1, failures = 0, window_start_us = $2"
    " WHERE key = $3";
static const char SQL_RESET[] = "DELETE FROM login_attempts WHERE key = $1";
static const char SQL_SWEEP[] =
    "DELETE FROM login_attempts WHERE window_start_us < $1 AND locked_until_us <= $2";

ic_err ic_store_session_get(ic_conn *c, const char *token_sha256, ic_session_row *out)
{
    ic_stmt *s = NULL;
    memset(out, 0, sizeof *out);
    if (!token_sha256 || strlen(token_sha256) != 64)
        return IC_ERR_NOT_FOUND;
    ic_err e = ic_sql_row(c, SQL_GET, IC_ARGS(IC_TXT(token_sha256)), &s);
    if (e != IC_OK)
        return e;
    out->id = ic_sql_col_i64(s, 0);
    out->user_id = ic_sql_col_i64(s, 1);
    out->ws = ic_sql_col_i64(s, 2);
    const char *t = ic_sql_col_text(s, 3);
    ic_strlcpy(out->csrf, t ? t : "", sizeof out->csrf);
    out->created_us = ic_sql_col_i64(s, 4);
    out->last_seen_us = ic_sql_col_i64(s, 5);
    out->expires_us = ic_sql_col_i64(s, 6);
    out->revoked_us = ic_sql_col_i64(s, 7);
    t = ic_sql_col_text(s, 8);
    ic_strlcpy(out->role, t ? t : "", sizeof out->role);
    out->user_disabled_us = ic_sql_col_i64(s, 9);
    out->sessions_valid_after_us = ic_sql_col_i64(s, 10);
    ic_sql_done(s);
    return IC_OK;
}

bool ic_store_session_valid(const ic_session_row *s, int64_t now, int64_t idle_us)
{
    return s->revoked_us == 0 && now < s->expires_us && now - s->last_seen_us < idle_us &&
           s->user_disabled_us == 0 && s->created_us >= s->sessions_valid_after_us;
}

ic_err ic_store_session_insert(ic_conn *c, int64_t ws, int64_t user_id, const char *token_sha256,
                               const char *csrf, int64_t now, int64_t expires_us, int64_t *id)
{
    if (!token_sha256 || strlen(token_sha256) != 64 || !csrf || !*csrf)
        return IC_ERR_INVALID;
    return ic_sql_one_i64(c, SQL_INSERT,
                          IC_ARGS(IC_I64(ws), IC_I64(user_id), IC_TXT(token_sha256), IC_TXT(csrf),
                                  IC_I64(now), IC_I64(expires_us)),
                          id);
}

ic_err ic_store_session_touch(ic_conn *c, int64_t id, int64_t now)
{
    return ic_sql_run(c, SQL_TOUCH, IC_ARGS(IC_I64(now), IC_I64(id)), NULL);
}

ic_err ic_store_session_revoke(ic_conn *c, int64_t id, int64_t now)
{
    return ic_sql_run(c, SQL_REVOKE, IC_ARGS(IC_I64(now), IC_I64(id)), NULL);
}

ic_err ic_store_sessions_forget_dead(ic_conn *c, int64_t user_id, int64_t now, int64_t idle_us,
                                     int64_t valid_after_us)
{
    return ic_sql_run(
        c, SQL_FORGET_DEAD,
        IC_ARGS(IC_I64(user_id), IC_I64(now), IC_I64(now - idle_us), IC_I64(valid_after_us)), NULL);
}

ic_err ic_store_login_locked(ic_conn *c, const char *key, int64_t now, int64_t *locked_until_us)
{
    int64_t until = 0;
    *locked_until_us = 0;
    ic_err e = ic_sql_one_i64(c, SQL_LOCKED, IC_ARGS(IC_TXT(key)), &until);
    if (e == IC_ERR_NOT_FOUND)
        return IC_OK;
    if (e == IC_OK && until > now)
        *locked_until_us = until;
    return e;
}

ic_err ic_store_login_failed(ic_conn *c, const char *key, int64_t now, int64_t window_us,
                             int64_t max_failures, int64_t lock_us, int64_t *locked_until_us)
{
    int64_t failures = 0;
    *locked_until_us = 0;
    ic_err e = ic_sql_one_i64(
        c, SQL_FAILED, IC_ARGS(IC_TXT(key), IC_I64(now), IC_I64(now - window_us)), &failures);
    if (e != IC_OK || failures < max_failures)
        return e;
    e = ic_sql_run(c, SQL_LOCK, IC_ARGS(IC_I64(now + lock_us), IC_I64(now), IC_TXT(key)), NULL);
    if (e == IC_OK)
        *locked_until_us = now + lock_us;
    return e;
}

ic_err ic_store_login_reset(ic_conn *c, const char *key)
{
    return ic_sql_run(c, SQL_RESET, IC_ARGS(IC_TXT(key)), NULL);
}

ic_err ic_store_login_sweep(ic_conn *c, int64_t window_start_us, int64_t now)
{
    return ic_sql_run(c, SQL_SWEEP, IC_ARGS(IC_I64(window_start_us), IC_I64(now)), NULL);
}
