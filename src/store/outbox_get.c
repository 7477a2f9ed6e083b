/* outbox_get.c - one outbound message by id, for the sender (see
 * outbox_get.h). */
#include "store/outbox_get.h"

#include "store/sql.h"

static const char SQL_OUTBOX_ONE[] =
    "SELECT id, workspace_id, channel_id, contact_id, conversation_id, lane, wa_id, type, text,"
    " media_id, mime_type, reply_to_wa_id, content_json, to_addr, status, wa_us, created_us"
    " FROM messages WHERE id = $1 AND channel_id = $2 AND direction = 'out'";

ic_err ic_store_outbox_get(ic_conn *c, int64_t channel_id, int64_t msg_id, ic_outbox_cb cb,
                           void *arg)
{
    ic_stmt *s = NULL;
    bool row = false;
    ic_err err = ic_sql_query(c, SQL_OUTBOX_ONE, IC_ARGS(IC_I64(msg_id), IC_I64(channel_id)), &s);
    if (err != IC_OK)
        goto out;
    err = ic_sql_step(s, &row);
    if (err != IC_OK)
        goto out;
    if (!row) {
        err = IC_ERR_NOT_FOUND;
        goto out;
    }
    ic_message m = {
        .id = ic_sql_col_i64(s, 0),
        .workspace_id = ic_sql_col_i64(s, 1),
        .channel_id = ic_sql_col_i64(s, 2),
        .contact_id = ic_sql_col_i64(s, 3),
        .conversation_id = ic_sql_col_i64(s, 4),
        .direction = IC_DIR_OUT,
        .lane = ic_sql_col_i64(s, 5) == IC_LANE_BULK ? IC_LANE_BULK : IC_LANE_REPLY,
        .wa_id = ic_sql_col_text(s, 6),
        .type = ic_sql_col_text(s, 7),
        .text = ic_sql_col_text(s, 8),
        .media_id = ic_sql_col_text(s, 9),
        .mime_type = ic_sql_col_text(s, 10),
        .reply_to_wa_id = ic_sql_col_text(s, 11),
        .content_json = ic_sql_col_text(s, 12),
        .to = ic_sql_col_text(s, 13),
        .status = ic_sql_col_text(s, 14),
        .wa_us = ic_sql_col_i64(s, 15),
        .created_us = ic_sql_col_i64(s, 16),
    };
    err = cb(arg, &m);
out:
    ic_sql_done(s);
    return err;
}
