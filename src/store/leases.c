/* leases.c - the sender's lease on each channel (one node sends for a
 * channel at a time) and the outbox writes that depend on holding it: the
 * "sending" mark, the retry back to "queued", and queueing again messages
 * whose fate stayed unknown. See docs/internals/sending.md, "Several nodes". */
#include "store/sql.h"
#include "store/store.h"

#include "base/time.h"

#include <stdint.h>
#include <string.h>

#define NODE_ID_MAX_LEN 128
#define TTL_MAX_US (86400LL * 1000000) /* a day */

/* Renewal (same node and epoch) keeps the epoch; a takeover (expired, or
 * forced) bumps it, so that writes fenced by the old epoch stop working. */
static const char SQL_TAKE[] =
    "INSERT INTO sender_leases (channel_id, workspace_id, node_id, epoch, expires_us, acquired_us)"
    " VALUES ($1, $2, $3, 1, $4, $5)"
    " ON CONFLICT (channel_id) DO UPDATE SET"
    " epoch = CASE WHEN sender_leases.node_id = excluded.node_id AND sender_leases.epoch = $6"
    " THEN sender_leases.epoch ELSE sender_leases.epoch + 1 END,"
    " acquired_us = CASE WHEN sender_leases.node_id = excluded.node_id"
    " AND sender_leases.epoch = $6 THEN sender_leases.acquired_us ELSE excluded.acquired_us END,"
    " node_id = excluded.node_id, expires_us = excluded.expires_us"
    " WHERE (sender_leases.node_id = excluded.node_id AND sender_leases.epoch = $6)"
    " OR sender_leases.expires_us < $5 OR $7 = 1"
    " RETURNING epoch";
static const char SQL_RELEASE[] = "UPDATE sender_leases SET expires_us = 0"
                                  " WHERE channel_id = $1 AND node_id = $2 AND epoch = $3";

/* The fenced writes: $1 the time, $2 the message, $3 the channel, $4 the
 * node, $5 the epoch (and $6 the cutoff); placeholders appear in order. */
#define HOLDS_LEASE                                                                                \
    " AND EXISTS (SELECT 1 FROM sender_leases l WHERE l.channel_id = $3"                           \
    " AND l.node_id = $4 AND l.epoch = $5)"

static const char SQL_MARK_SENDING[] =
    "UPDATE messages SET status = 'sending', updated_us = $1"
    " WHERE id = $2 AND channel_id = $3 AND status = 'queued'" HOLDS_LEASE;
static const char SQL_BACK_TO_QUEUED[] =
    "UPDATE messages SET status = 'queued', updated_us = $1"
    " WHERE id = $2 AND channel_id = $3 AND status = 'sending'" HOLDS_LEASE;
static const char SQL_REQUEUE[] =
    "UPDATE messages SET status = 'queued', updated_us = $1, resends = resends + 1"
    " WHERE id = $2 AND channel_id = $3 AND status IN ('sending','unknown')" HOLDS_LEASE
    " AND updated_us < $6";
/* Through messages_unsettled, whose condition is the query's own term (SQLite
 * uses a partial index only then). */
static const char SQL_STALE[] =
    "SELECT id, workspace_id, contact_id, lane, type FROM messages"
    " WHERE channel_id = $1 AND status IN ('sending','unknown') AND updated_us < $2"
    " AND resends < $3 AND id > $4 ORDER BY id LIMIT $5";

static bool node_valid(const char *node_id)
{
    return node_id && *node_id && strlen(node_id) <= NODE_ID_MAX_LEN;
}

ic_err ic_store_lease_take(ic_conn *tx, int64_t ws, int64_t channel_id, const char *node_id,
                           int64_t now_us, int64_t ttl_us, bool force, int64_t *epoch, bool *held)
{
    ic_stmt *s = NULL;
    bool row = false;
    *held = false;
    if (ws <= 0 || channel_id <= 0 || !node_valid(node_id) || ttl_us <= 0 || ttl_us > TTL_MAX_US ||
        now_us < 0 || now_us > INT64_MAX - TTL_MAX_US || *epoch < 0)
        return IC_ERR_INVALID;
    ic_err err = ic_sql_query(tx, SQL_TAKE,
                              IC_ARGS(IC_I64(channel_id), IC_I64(ws), IC_TXT(node_id),
                                      IC_I64(now_us + ttl_us), IC_I64(now_us), IC_I64(*epoch),
                                      IC_I64(force ? 1 : 0)),
                              &s);
    if (err == IC_OK)
        err = ic_sql_step(s, &row);
    if (err == IC_OK && row) {
        *epoch = ic_sql_col_i64(s, 0);
        *held = true;
    }
    ic_sql_done(s);
    return err;
}

ic_err ic_store_lease_release(ic_conn *tx, int64_t channel_id, const char *node_id, int64_t epoch)
{
    if (!node_valid(node_id))
        return IC_ERR_INVALID;
    return ic_sql_run(tx, SQL_RELEASE, IC_ARGS(IC_I64(channel_id), IC_TXT(node_id), IC_I64(epoch)),
                      NULL);
}

/* Runs one of the fenced updates of message msg_id; *changed says whether
 * the row moved. */
static ic_err fenced(ic_conn *tx, const char *sql, int64_t channel_id, int64_t msg_id,
                     const char *node_id, int64_t epoch, int64_t extra, bool with_extra,
                     bool *changed)
{
    int64_t n = 0;
    *changed = false;
    if (!node_valid(node_id) || msg_id <= 0)
        return IC_ERR_INVALID;
    ic_sql_arg args[] = {IC_I64(ic_now_us()), IC_I64(msg_id), IC_I64(channel_id),
                         IC_TXT(node_id),     IC_I64(epoch),  IC_I64(extra)};
    ic_err err = ic_sql_run(tx, sql, args, with_extra ? 6 : 5, &n);
    if (err == IC_OK)
        *changed = n > 0;
    return err;
}

ic_err ic_store_outbox_mark_sending(ic_conn *tx, int64_t channel_id, int64_t msg_id,
                                    const char *node_id, int64_t epoch, bool *marked)
{
    return fenced(tx, SQL_MARK_SENDING, channel_id, msg_id, node_id, epoch, 0, false, marked);
}

ic_err ic_store_outbox_back_to_queued(ic_conn *tx, int64_t channel_id, int64_t msg_id,
                                      const char *node_id, int64_t epoch, bool *queued)
{
    return fenced(tx, SQL_BACK_TO_QUEUED, channel_id, msg_id, node_id, epoch, 0, false, queued);
}

ic_err ic_store_outbox_requeue(ic_conn *tx, int64_t channel_id, int64_t msg_id, const char *node_id,
                               int64_t epoch, int64_t cutoff_us, bool *requeued)
{
    return fenced(tx, SQL_REQUEUE, channel_id, msg_id, node_id, epoch, cutoff_us, true, requeued);
}

ic_err ic_store_outbox_stale(ic_conn *c, int64_t channel_id, int64_t cutoff_us, int max_resends,
                             int64_t after_id, int limit, ic_outbox_cb cb, void *arg)
{
    ic_stmt *s = NULL;
    bool row = false;
    ic_err err = ic_sql_query(c, SQL_STALE,
                              IC_ARGS(IC_I64(channel_id), IC_I64(cutoff_us), IC_I64(max_resends),
                                      IC_I64(after_id), IC_I64(limit)),
                              &s);
    while (err == IC_OK) {
        err = ic_sql_step(s, &row);
        if (err != IC_OK || !row)
            break;
        ic_message m = {
            .id = ic_sql_col_i64(s, 0),
            .workspace_id = ic_sql_col_i64(s, 1),
            .channel_id = channel_id,
            .contact_id = ic_sql_col_i64(s, 2),
            .lane = (ic_lane)ic_sql_col_i64(s, 3),
            .type = ic_sql_col_text(s, 4),
            .direction = IC_DIR_OUT,
        };
        err = cb(arg, &m);
    }
    ic_sql_done(s);
    return err;
}
