/* messages.c - inserting messages, the outbox and the message reads. The
 * state machine of sent messages (mark, statuses) is in statuses.c. */
#include "store/sql.h"
#include "store/store.h"

#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define WA_ID_MAX_LEN 256
#define TYPE_MAX_LEN 64

static const char SQL_INSERT_IN[] =
    "INSERT INTO messages (workspace_id, channel_id, contact_id, conversation_id, direction,"
    " lane, wa_id, type, text, media_id, mime_type, reply_to_wa_id, content_json, status,"
    " wa_us, created_us, updated_us)"
    " VALUES ($1, $2, $3, $4, 'in', 0, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)"
    " ON CONFLICT (channel_id, wa_id) DO NOTHING RETURNING id";
static const char SQL_INSERT_OUT[] =
    "INSERT INTO messages (workspace_id, channel_id, contact_id, conversation_id, direction,"
    " lane, type, text, media_id, mime_type, reply_to_wa_id, content_json, to_addr, status,"
    " created_us, updated_us)"
    " VALUES ($1, $2, $3, $4, 'out', $5, $6, $7, $8, $9, $10, $11, $12, 'queued', $13, $13)"
    " RETURNING id";
static const char SQL_CONV_BUMP[] = "UPDATE conversations SET last_message_us = $1"
                                    " WHERE id = $2 AND workspace_id = $3 AND last_message_us < $1";

/* The outbox queries repeat the partial index's own condition so that the
 * planner can use messages_outbox. */
static const char SQL_OUTBOX_UNKNOWN[] =
    "UPDATE messages SET status = 'unknown', updated_us = $1"
    " WHERE channel_id = $2 AND status IN ('queued','sending','unknown') AND status = 'sending'";
/* The columns outbound_row() reads, in its order. */
#define OUTBOUND_COLS                                                                              \
    "id, workspace_id, channel_id, contact_id, conversation_id, lane, wa_id, type, text,"          \
    " media_id, mime_type, reply_to_wa_id, content_json, to_addr, status, wa_us, created_us"

static const char SQL_OUTBOX_ONE[] = "SELECT " OUTBOUND_COLS " FROM messages"
                                     " WHERE id = $1 AND channel_id = $2 AND direction = 'out'";
static const char SQL_OUTBOX[] =
    "SELECT " OUTBOUND_COLS " FROM messages"
    " WHERE channel_id = $1 AND status IN ('queued','sending','unknown') AND status = 'queued'"
    " ORDER BY id";

#define MSG_COLS                                                                                   \
    "m.id, m.conversation_id, m.contact_id, m.channel_id, m.direction, m.lane, m.type, m.text,"    \
    " m.media_id, m.mime_type, m.reply_to_wa_id, m.wa_id, m.status, m.error_code,"                 \
    " m.error_reason, m.content_json, m.wa_us, m.created_us, m.updated_us, md.id, md.state,"       \
    " md.size"

/* Messages with the media row that holds their file, when there is one. */
#define MSG_FROM                                                                                   \
    " FROM messages m LEFT JOIN media md"                                                          \
    " ON md.channel_id = m.channel_id AND md.wa_media_id = m.media_id"

static const char SQL_CONV_IN_WS[] =
    "SELECT id FROM conversations WHERE workspace_id = $1 AND id = $2";
static const char SQL_LIST[] =
    "SELECT " MSG_COLS MSG_FROM " WHERE m.workspace_id = $1 AND m.conversation_id = $2"
    " AND m.id < $3 ORDER BY m.id DESC LIMIT $4";
static const char SQL_GET[] =
    "SELECT " MSG_COLS MSG_FROM " WHERE m.workspace_id = $1 AND m.id = $2";
static const char SQL_COUNT_WS[] =
    "SELECT count(*) FROM messages WHERE workspace_id = $1 AND direction = $2";
static const char SQL_EXISTS[] =
    "SELECT count(*) FROM messages WHERE channel_id = $1 AND wa_id = $2";
static const char SQL_COUNT_ALL[] = "SELECT count(*) FROM messages WHERE direction = $1";

static ic_sql_arg id_or_null(int64_t id)
{
    return id > 0 ? IC_I64(id) : IC_NUL;
}

static bool common_valid(const ic_message *m)
{
    return m->workspace_id > 0 && m->channel_id > 0 && m->contact_id > 0 && m->type && *m->type &&
           strlen(m->type) <= TYPE_MAX_LEN && (!m->wa_id || strlen(m->wa_id) <= WA_ID_MAX_LEN);
}

ic_err ic_store_message_insert_inbound(ic_conn *c, ic_message *m, bool *duplicate)
{
    ic_stmt *s = NULL;
    bool row = false;
    *duplicate = false;
    if (!common_valid(m) || !m->wa_id || !*m->wa_id)
        return IC_ERR_INVALID;
    if (m->created_us == 0)
        m->created_us = ic_now_us();
    ic_err err = ic_sql_query(
        c, SQL_INSERT_IN,
        IC_ARGS(IC_I64(m->workspace_id), IC_I64(m->channel_id), IC_I64(m->contact_id),
                id_or_null(m->conversation_id), IC_TXT(m->wa_id), IC_TXT(m->type), IC_TXT(m->text),
                IC_TXT(m->media_id), IC_TXT(m->mime_type), IC_TXT(m->reply_to_wa_id),
                IC_TXT(m->content_json), IC_TXT(m->status ? m->status : "received"),
                IC_I64(m->wa_us), IC_I64(m->created_us)),
        &s);
    if (err != IC_OK)
        goto out;
    err = ic_sql_step(s, &row);
    if (err != IC_OK)
        goto out;
    if (row) {
        m->id = ic_sql_col_i64(s, 0);
        m->direction = IC_DIR_IN;
    } else {
        *duplicate = true;
    }
out:
    ic_sql_done(s);
    return err;
}

ic_err ic_store_message_exists(ic_conn *c, int64_t channel_id, const char *wa_id, bool *exists)
{
    int64_t n = 0;
    *exists = false;
    if (!wa_id)
        return IC_ERR_INVALID;
    ic_err err = ic_sql_one_i64(c, SQL_EXISTS, IC_ARGS(IC_I64(channel_id), IC_TXT(wa_id)), &n);
    *exists = n > 0;
    return err;
}

ic_err ic_store_message_insert_outbound(ic_conn *c, ic_message *m)
{
    if (!common_valid(m) || !m->to || !*m->to || strlen(m->to) > WA_ID_MAX_LEN ||
        (m->lane != IC_LANE_REPLY && m->lane != IC_LANE_BULK))
        return IC_ERR_INVALID;
    m->created_us = ic_now_us();
    ic_err err = ic_sql_one_i64(
        c, SQL_INSERT_OUT,
        IC_ARGS(IC_I64(m->workspace_id), IC_I64(m->channel_id), IC_I64(m->contact_id),
                id_or_null(m->conversation_id), IC_I64(m->lane), IC_TXT(m->type), IC_TXT(m->text),
                IC_TXT(m->media_id), IC_TXT(m->mime_type), IC_TXT(m->reply_to_wa_id),
                IC_TXT(m->content_json), IC_TXT(m->to), IC_I64(m->created_us)),
        &m->id);
    if (err != IC_OK)
        return err;
    m->direction = IC_DIR_OUT;
    m->status = "queued";
    if (m->conversation_id > 0)
        err = ic_sql_run(
            c, SQL_CONV_BUMP,
            IC_ARGS(IC_I64(m->created_us), IC_I64(m->conversation_id), IC_I64(m->workspace_id)),
            NULL);
    if (err == IC_OK) {
        ic_outbox_note n = {
            .channel_id = m->channel_id,
            .msg_id = m->id,
            .contact_id = m->contact_id,
            .workspace_id = m->workspace_id,
            .lane = m->lane,
            .flags = strcmp(m->type, "read") == 0 ? IC_OUTBOX_NOTE_READ : 0,
        };
        char payload[128];
        ic_outbox_note_format(&n, payload, sizeof payload);
        err = ic_store_notify(c, IC_OUTBOX_TOPIC, payload);
    }
    return err;
}

void ic_outbox_note_format(const ic_outbox_note *n, char *out, size_t size)
{
    snprintf(out, size, "%" PRId64 ",%" PRId64 ",%" PRId64 ",%d,%u,%" PRId64, n->channel_id,
             n->msg_id, n->contact_id, (int)n->lane, n->flags, n->workspace_id);
}

ic_err ic_outbox_note_parse(const char *payload, ic_outbox_note *out)
{
    int64_t v[6];
    const char *p = payload;
    char num[24];
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 6; i++) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof num || strspn(p, "0123456789") != len ||
            (i < 5 && p[len] != ',') || (i == 5 && p[len]))
            return IC_ERR_PARSE; /* digits only: what ic_outbox_note_format writes */
        memcpy(num, p, len);
        num[len] = '\0';
        if (ic_parse_i64(num, &v[i]) != IC_OK || v[i] < 0)
            return IC_ERR_PARSE;
        p += len + (i < 5 ? 1 : 0);
    }
    if (v[0] <= 0 || v[1] <= 0 || v[2] <= 0 || v[5] <= 0 ||
        (v[3] != IC_LANE_REPLY && v[3] != IC_LANE_BULK) || v[4] > IC_OUTBOX_NOTE_READ)
        return IC_ERR_PARSE;
    *out = (ic_outbox_note){.channel_id = v[0],
                            .msg_id = v[1],
                            .contact_id = v[2],
                            .lane = (ic_lane)v[3],
                            .flags = (unsigned)v[4],
                            .workspace_id = v[5]};
    return IC_OK;
}

/* An outbound message from a row of OUTBOUND_COLS (strings borrowed from s). */
static ic_message outbound_row(ic_stmt *s)
{
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
    return m;
}

ic_err ic_store_outbox_get(ic_conn *c, int64_t channel_id, int64_t msg_id, ic_outbox_cb cb,
                           void *arg)
{
    ic_stmt *s = NULL;
    ic_err err = ic_sql_row(c, SQL_OUTBOX_ONE, IC_ARGS(IC_I64(msg_id), IC_I64(channel_id)), &s);
    if (err != IC_OK)
        return err;
    ic_message m = outbound_row(s);
    err = cb(arg, &m);
    ic_sql_done(s);
    return err;
}

ic_err ic_store_outbox_load(ic_conn *c, int64_t channel_id, ic_outbox_cb cb, void *arg)
{
    ic_stmt *s = NULL;
    bool row = false;
    int64_t changed = 0;
    ic_err err = ic_sql_run(c, SQL_OUTBOX_UNKNOWN, IC_ARGS(IC_I64(ic_now_us()), IC_I64(channel_id)),
                            &changed);
    if (err != IC_OK)
        goto out;
    if (changed > 0)
        ic_log(IC_LOG_WARN, "outbox_unknown", "channel=%lld messages=%lld", (long long)channel_id,
               (long long)changed);
    err = ic_sql_query(c, SQL_OUTBOX, IC_ARGS(IC_I64(channel_id)), &s);
    if (err != IC_OK)
        goto out;
    for (;;) {
        err = ic_sql_step(s, &row);
        if (err != IC_OK || !row)
            break;
        ic_message m = outbound_row(s);
        err = cb(arg, &m);
        if (err != IC_OK)
            break;
    }
out:
    ic_sql_done(s);
    return err;
}

static json_t *message_json(ic_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    json_object_set_new(o, "conversation_id",
                        ic_sql_col_null(s, 1) ? json_null() : json_integer(ic_sql_col_i64(s, 1)));
    json_object_set_new(o, "contact_id", json_integer(ic_sql_col_i64(s, 2)));
    json_object_set_new(o, "channel_id", json_integer(ic_sql_col_i64(s, 3)));
    ic_sql_json_col_str(o, "direction", s, 4);
    json_object_set_new(o, "lane",
                        json_string(ic_sql_col_i64(s, 5) == IC_LANE_BULK ? "bulk" : "reply"));
    ic_sql_json_col_str(o, "type", s, 6);
    ic_sql_json_col_str(o, "text", s, 7);
    ic_sql_json_col_str(o, "media_id", s, 8);
    ic_sql_json_col_str(o, "mime_type", s, 9);
    ic_sql_json_col_str(o, "reply_to", s, 10);
    ic_sql_json_col_str(o, "wa_id", s, 11);
    ic_sql_json_col_str(o, "status", s, 12);
    int64_t code = ic_sql_col_i64(s, 13);
    const char *reason = ic_sql_col_text(s, 14);
    if (code != 0 || reason) {
        json_t *e = json_object();
        json_object_set_new(e, "code", json_integer(code));
        ic_sql_json_str(e, "reason", reason);
        json_object_set_new(o, "error", e);
    } else {
        json_object_set_new(o, "error", json_null());
    }
    ic_sql_json_col_doc(o, "content", s, 15);
    int64_t wa_us = ic_sql_col_i64(s, 16), created = ic_sql_col_i64(s, 17);
    ic_sql_json_time(o, "timestamp", wa_us ? wa_us : created);
    ic_sql_json_time(o, "created_at", created);
    ic_sql_json_time(o, "updated_at", ic_sql_col_i64(s, 18));
    if (ic_sql_col_null(s, 19)) {
        json_object_set_new(o, "media", json_null());
    } else {
        json_t *md = json_object();
        char url[64];
        int64_t media_row = ic_sql_col_i64(s, 19);
        snprintf(url, sizeof url, "/api/v1/media/%lld", (long long)media_row);
        json_object_set_new(md, "id", json_integer(media_row));
        ic_sql_json_col_str(md, "state", s, 20);
        json_object_set_new(md, "size", json_integer(ic_sql_col_i64(s, 21)));
        json_object_set_new(md, "url", json_string(url));
        json_object_set_new(o, "media", md);
    }
    return o;
}

ic_err ic_store_messages_list(ic_conn *c, int64_t ws, int64_t conv_id, int64_t cursor, int limit,
                              json_t **items, int64_t *next)
{
    ic_stmt *s = NULL;
    int64_t found = 0;
    *items = NULL;
    *next = 0;
    ic_err err = ic_sql_one_i64(c, SQL_CONV_IN_WS, IC_ARGS(IC_I64(ws), IC_I64(conv_id)), &found);
    if (err != IC_OK)
        return err;
    limit = ic_sql_page_limit(limit);
    err = ic_sql_query(
        c, SQL_LIST,
        IC_ARGS(IC_I64(ws), IC_I64(conv_id), IC_I64(ic_sql_page_cursor(cursor)), IC_I64(limit + 1)),
        &s);
    if (err != IC_OK)
        return err;
    return ic_sql_page(s, limit, message_json, items, next);
}

ic_err ic_store_message_get(ic_conn *c, int64_t ws, int64_t id, json_t **out)
{
    return ic_sql_get_json(c, SQL_GET, ws, id, message_json, out);
}

ic_err ic_store_count_messages(ic_conn *c, int64_t ws, ic_direction dir, int64_t *n)
{
    const char *d = dir == IC_DIR_OUT ? "out" : "in";
    if (ws == 0)
        return ic_sql_one_i64(c, SQL_COUNT_ALL, IC_ARGS(IC_TXT(d)), n);
    return ic_sql_one_i64(c, SQL_COUNT_WS, IC_ARGS(IC_I64(ws), IC_TXT(d)), n);
}
