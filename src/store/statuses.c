/* statuses.c - the state machine of the messages we send: the sender's
 * marks, Meta's status webhooks (forward only), statuses that arrive before
 * we know the message's WhatsApp id, and the status history. Also channel
 * errors. */
#include "store/sql.h"
#include "store/store.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <string.h>

#define WA_ID_MAX_LEN 256
#define TEXT_MAX_LEN 4096

static const char SQL_MSG_BY_ID[] =
    "SELECT channel_id, status, wa_id, sent_us FROM messages WHERE id = $1 AND direction = 'out'";
static const char SQL_MSG_BY_WA_ID[] =
    "SELECT id, status, wa_id, sent_us FROM messages"
    " WHERE channel_id = $1 AND wa_id = $2 AND workspace_id = $3 AND direction = 'out'";
static const char SQL_MSG_BY_OPAQUE[] =
    "SELECT id, status, wa_id, sent_us FROM messages"
    " WHERE id = $1 AND workspace_id = $2 AND channel_id = $3 AND direction = 'out'";
static const char SQL_SET_WA_ID[] = "UPDATE messages SET wa_id = $1, updated_us = $2 WHERE id = $3";
static const char SQL_MOVE[] =
    "UPDATE messages SET status = $1, error_code = $2, error_reason = $3, updated_us = $4,"
    " sent_us = $5 WHERE id = $6";
static const char SQL_MARK[] =
    "UPDATE messages SET status = $1, wa_id = $2, error_code = $3, error_reason = $4,"
    " updated_us = $5, sent_us = $6 WHERE id = $7";
static const char SQL_PENDING[] =
    "SELECT status, wa_us, error_code, error_title FROM message_statuses"
    " WHERE channel_id = $1 AND wa_id = $2 AND message_id IS NULL ORDER BY id";
static const char SQL_PENDING_ATTACH[] =
    "UPDATE message_statuses SET message_id = $1"
    " WHERE channel_id = $2 AND wa_id = $3 AND message_id IS NULL";
static const char SQL_HISTORY_INSERT[] =
    "INSERT INTO message_statuses (workspace_id, message_id, channel_id, wa_id, status, wa_us,"
    " error_code, error_title, raw_json, received_us)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
static const char SQL_MSG_IN_WS[] = "SELECT id FROM messages WHERE workspace_id = $1 AND id = $2";
static const char SQL_HISTORY[] =
    "SELECT status, wa_us, error_code, error_title, received_us FROM message_statuses"
    " WHERE message_id = $1 ORDER BY id";
static const char SQL_CHANNEL_ERROR[] =
    "INSERT INTO channel_errors (workspace_id, channel_id, code, title, details, raw_json,"
    " created_us) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/* ---- the order of states ------------------------------------------------- */

/* 0 for the states before Meta took the message (queued, sending, unknown,
 * and unknown names); failed ranks with sent. */
static int rank(const char *st)
{
    if (!st)
        return 0;
    if (strcmp(st, "sent") == 0 || strcmp(st, "failed") == 0)
        return 1;
    if (strcmp(st, "delivered") == 0)
        return 2;
    if (strcmp(st, "read") == 0)
        return 3;
    if (strcmp(st, "played") == 0)
        return 4;
    return 0;
}

static bool is_failed(const char *st)
{
    return st && strcmp(st, "failed") == 0;
}

/* Whether a message in state cur moves to state next reported by Meta:
 * forward only; failed only before delivered; delivery after a failure is
 * proof that it arrived, a late "sent" is not. */
static bool forward(const char *cur, const char *next)
{
    if (is_failed(next))
        return !is_failed(cur) && rank(cur) <= 1;
    return rank(next) > rank(cur);
}

static bool webhook_status_valid(const char *st)
{
    return st && (rank(st) > 0);
}

static bool mark_status_valid(const char *st)
{
    static const char *const ok[] = {"queued", "sending", "sent", "failed", "unknown"};
    for (size_t i = 0; st && i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(st, ok[i]) == 0)
            return true;
    return false;
}

/* The message as the state machine needs it. */
typedef struct msg_state {
    int64_t id;
    int64_t channel_id;
    char status[16];
    char *wa_id; /* owned, may be NULL */
    int64_t sent_us;
} msg_state;

static void msg_state_clear(msg_state *m)
{
    ic_free(m->wa_id);
    m->wa_id = NULL;
}

/* Reads one message row (id or channel, status, wa_id, sent_us). */
static ic_err msg_load(ic_conn *c, const char *sql, const ic_sql_arg *args, size_t n,
                       bool first_is_channel, msg_state *m)
{
    ic_stmt *s = NULL;
    ic_err err = ic_sql_row(c, sql, args, n, &s);
    if (err != IC_OK)
        return err;
    if (first_is_channel)
        m->channel_id = ic_sql_col_i64(s, 0);
    else
        m->id = ic_sql_col_i64(s, 0);
    ic_strlcpy(m->status, ic_sql_col_text(s, 1), sizeof m->status);
    m->wa_id = ic_strdup(ic_sql_col_text(s, 2));
    m->sent_us = ic_sql_col_i64(s, 3);
    ic_sql_done(s);
    return IC_OK;
}

/* Moves m to next (already checked with forward), keeping m in step. */
static ic_err msg_move(ic_conn *c, msg_state *m, const char *next, int64_t wa_us, int err_code,
                       const char *err_title)
{
    bool failed = is_failed(next);
    if (!failed && m->sent_us == 0)
        m->sent_us = wa_us > 0 ? wa_us : ic_now_us();
    ic_err err = ic_sql_run(c, SQL_MOVE,
                            IC_ARGS(IC_TXT(next), IC_I64(failed ? err_code : 0),
                                    IC_TXT(failed ? err_title : NULL), IC_I64(ic_now_us()),
                                    IC_I64(m->sent_us), IC_I64(m->id)),
                            NULL);
    if (err == IC_OK)
        ic_strlcpy(m->status, next, sizeof m->status);
    return err;
}

/* Applies the statuses kept for (m's channel, wa_id) before the id was
 * known, in arrival order, and attaches them to m's history. */
static ic_err apply_pending(ic_conn *c, msg_state *m, const char *wa_id)
{
    ic_stmt *s = NULL;
    bool row = false, moved = false;
    char best[16] = "";
    int64_t best_us = 0;
    int best_code = 0;
    char *best_title = NULL;
    ic_strlcpy(best, m->status, sizeof best);
    ic_err err = ic_sql_query(c, SQL_PENDING, IC_ARGS(IC_I64(m->channel_id), IC_TXT(wa_id)), &s);
    if (err != IC_OK)
        goto out;
    for (;;) {
        err = ic_sql_step(s, &row);
        if (err != IC_OK || !row)
            break;
        const char *st = ic_sql_col_text(s, 0);
        if (!forward(best, st))
            continue;
        ic_strlcpy(best, st, sizeof best);
        best_us = ic_sql_col_i64(s, 1);
        best_code = (int)ic_sql_col_i64(s, 2);
        ic_free(best_title);
        best_title = ic_strdup(ic_sql_col_text(s, 3));
        moved = true;
    }
    ic_sql_done(s);
    s = NULL;
    if (err != IC_OK)
        goto out;
    if (moved) {
        err = msg_move(c, m, best, best_us, best_code, best_title);
        if (err != IC_OK)
            goto out;
    }
    err = ic_sql_run(c, SQL_PENDING_ATTACH,
                     IC_ARGS(IC_I64(m->id), IC_I64(m->channel_id), IC_TXT(wa_id)), NULL);
out:
    ic_sql_done(s);
    ic_free(best_title);
    return err;
}

ic_err ic_store_message_mark(ic_conn *c, int64_t msg_id, const char *status, const char *wa_id,
                             int err_code, const char *err_reason)
{
    msg_state m = {.id = msg_id};
    ic_err err = IC_OK;
    if (!mark_status_valid(status) || (wa_id && (!*wa_id || strlen(wa_id) > WA_ID_MAX_LEN)) ||
        (err_reason && strlen(err_reason) > TEXT_MAX_LEN))
        return IC_ERR_INVALID;
    err = msg_load(c, SQL_MSG_BY_ID, IC_ARGS(IC_I64(msg_id)), true, &m);
    if (err != IC_OK)
        goto out;
    bool new_wa_id = wa_id && !ic_str_eq(wa_id, m.wa_id);
    const char *final_wa_id = wa_id ? wa_id : m.wa_id;
    /* Once Meta has the message, only its statuses move it on: the sender's
     * late answer never takes a delivered message back to sent. */
    bool proven = rank(m.status) > 0 && !is_failed(m.status);
    bool allowed = proven ? forward(m.status, status) : true;
    if (allowed) {
        int64_t sent_us = m.sent_us;
        if (strcmp(status, "sent") == 0 && sent_us == 0)
            sent_us = ic_now_us();
        err = ic_sql_run(c, SQL_MARK,
                         IC_ARGS(IC_TXT(status), IC_TXT(final_wa_id), IC_I64(err_code),
                                 IC_TXT(err_reason), IC_I64(ic_now_us()), IC_I64(sent_us),
                                 IC_I64(msg_id)),
                         NULL);
        if (err != IC_OK)
            goto out;
        ic_strlcpy(m.status, status, sizeof m.status);
        m.sent_us = sent_us;
    } else if (new_wa_id) {
        err = ic_sql_run(c, SQL_SET_WA_ID,
                         IC_ARGS(IC_TXT(wa_id), IC_I64(ic_now_us()), IC_I64(msg_id)), NULL);
        if (err != IC_OK)
            goto out;
    }
    if (new_wa_id)
        err = apply_pending(c, &m, wa_id);
out:
    msg_state_clear(&m);
    return err;
}

/* Finds the message a status is about: by WhatsApp id, else by our own id
 * echoed in biz_opaque. *by_opaque says which. */
static ic_err find_status_message(ic_conn *c, int64_t ws, int64_t channel_id, const char *wa_id,
                                  const char *biz_opaque, msg_state *m, bool *by_opaque)
{
    ic_err err = IC_ERR_NOT_FOUND;
    int64_t our_id = 0;
    *by_opaque = false;
    m->channel_id = channel_id;
    if (wa_id)
        err = msg_load(c, SQL_MSG_BY_WA_ID, IC_ARGS(IC_I64(channel_id), IC_TXT(wa_id), IC_I64(ws)),
                       false, m);
    if (err != IC_ERR_NOT_FOUND)
        return err;
    if (!biz_opaque || ic_parse_i64(biz_opaque, &our_id) != IC_OK || our_id <= 0)
        return IC_ERR_NOT_FOUND;
    m->id = our_id;
    err = msg_load(c, SQL_MSG_BY_OPAQUE, IC_ARGS(IC_I64(our_id), IC_I64(ws), IC_I64(channel_id)),
                   true, m);
    if (err == IC_OK)
        *by_opaque = true;
    return err;
}

ic_err ic_store_status_apply(ic_conn *c, int64_t ws, int64_t channel_id, const char *wa_id,
                             const char *biz_opaque, const char *status, int64_t wa_us,
                             int err_code, const char *err_title, const char *raw_json,
                             bool *applied)
{
    msg_state m = {0};
    bool by_opaque = false;
    ic_err err = IC_OK;
    *applied = false;
    if (!webhook_status_valid(status) || (wa_id && (!*wa_id || strlen(wa_id) > WA_ID_MAX_LEN)) ||
        (!wa_id && !biz_opaque) || (err_title && strlen(err_title) > TEXT_MAX_LEN))
        return IC_ERR_INVALID;
    err = find_status_message(c, ws, channel_id, wa_id, biz_opaque, &m, &by_opaque);
    if (err != IC_OK && err != IC_ERR_NOT_FOUND)
        goto out;
    bool found = err == IC_OK;
    err = IC_OK;
    if (found && by_opaque && wa_id && !m.wa_id) {
        /* Reconciliation: the send answer never came (crash, timeout), but
         * Meta's status names our message; learn its WhatsApp id now. */
        IC_INFO("message_reconciled", "message=%lld status=%s", (long long)m.id, status);
        err = ic_sql_run(c, SQL_SET_WA_ID,
                         IC_ARGS(IC_TXT(wa_id), IC_I64(ic_now_us()), IC_I64(m.id)), NULL);
        if (err == IC_OK)
            err = apply_pending(c, &m, wa_id);
        if (err != IC_OK)
            goto out;
    }
    if (found && forward(m.status, status)) {
        err = msg_move(c, &m, status, wa_us, err_code, err_title);
        if (err != IC_OK)
            goto out;
        *applied = true;
    }
    err = ic_sql_run(c, SQL_HISTORY_INSERT,
                     IC_ARGS(IC_I64(ws), found ? IC_I64(m.id) : IC_NUL, IC_I64(channel_id),
                             IC_TXT(wa_id), IC_TXT(status), IC_I64(wa_us), IC_I64(err_code),
                             IC_TXT(err_title), IC_TXT(raw_json), IC_I64(ic_now_us())),
                     NULL);
out:
    msg_state_clear(&m);
    return err;
}

static json_t *history_json(ic_stmt *s)
{
    json_t *o = json_object();
    int64_t code = ic_sql_col_i64(s, 2);
    ic_sql_json_col_str(o, "status", s, 0);
    ic_sql_json_time(o, "timestamp", ic_sql_col_i64(s, 1));
    json_object_set_new(o, "error_code", code ? json_integer(code) : json_null());
    ic_sql_json_col_str(o, "error_title", s, 3);
    ic_sql_json_time(o, "received_at", ic_sql_col_i64(s, 4));
    return o;
}

ic_err ic_store_message_statuses(ic_conn *c, int64_t ws, int64_t id, json_t **out)
{
    int64_t found = 0;
    *out = NULL;
    ic_err err = ic_sql_one_i64(c, SQL_MSG_IN_WS, IC_ARGS(IC_I64(ws), IC_I64(id)), &found);
    if (err != IC_OK)
        return err;
    return ic_sql_all_json(c, SQL_HISTORY, IC_ARGS(IC_I64(id)), history_json, out);
}

ic_err ic_store_channel_error_insert(ic_conn *c, int64_t ws, int64_t channel_id, int code,
                                     const char *title, const char *details, const char *raw_json)
{
    if ((title && strlen(title) > TEXT_MAX_LEN) || (details && strlen(details) > TEXT_MAX_LEN))
        return IC_ERR_INVALID;
    return ic_sql_run(c, SQL_CHANNEL_ERROR,
                      IC_ARGS(IC_I64(ws), IC_I64(channel_id), IC_I64(code), IC_TXT(title),
                              IC_TXT(details), IC_TXT(raw_json), IC_I64(ic_now_us())),
                      NULL);
}
