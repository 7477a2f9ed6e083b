/* conversations.c - conversations and the 24-hour window. */
#include "store/sql.h"
#include "store/store.h"

#include "base/time.h"

#include <string.h>

#define DAY_US (24LL * 3600 * 1000000)

static const char SQL_FIND_OPEN[] =
    "SELECT id, last_inbound_us, last_message_us FROM conversations"
    " WHERE contact_id = $1 AND channel_id = $2 AND status = 'open' AND workspace_id = $3";
static const char SQL_TOUCH[] =
    "UPDATE conversations SET last_inbound_us = $1, last_message_us = $2 WHERE id = $3";
static const char SQL_OPEN[] =
    "INSERT INTO conversations (workspace_id, contact_id, channel_id, status, opened_us,"
    " last_message_us, last_inbound_us) VALUES ($1, $2, $3, 'open', $4, $5, $6) RETURNING id";
static const char SQL_CONTACT_INBOUND[] =
    "UPDATE contacts SET last_inbound_us = $1"
    " WHERE id = $2 AND workspace_id = $3 AND last_inbound_us < $1";
static const char SQL_FOR_SEND[] =
    "SELECT id FROM conversations WHERE contact_id = $1 AND channel_id = $2 AND workspace_id = $3"
    " ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, id DESC LIMIT 1";
static const char SQL_LAST_INBOUND[] =
    "SELECT COALESCE(max(last_inbound_us), 0) FROM conversations"
    " WHERE contact_id = $1 AND channel_id = $2 AND workspace_id = $3";
static const char SQL_PARTIES[] =
    "SELECT contact_id, channel_id FROM conversations WHERE workspace_id = $1 AND id = $2";

#define CONV_COLS                                                                                  \
    "v.id, v.contact_id, v.channel_id, v.status, v.opened_us, v.closed_us, v.last_message_us,"     \
    " v.last_inbound_us, k.wa_id, k.name"
#define CONV_FROM " FROM conversations v JOIN contacts k ON k.id = v.contact_id"

static const char SQL_LIST[] =
    "SELECT " CONV_COLS CONV_FROM " WHERE v.workspace_id = $1 AND v.id < $2"
    " ORDER BY v.id DESC LIMIT $3";
static const char SQL_LIST_STATUS[] =
    "SELECT " CONV_COLS CONV_FROM " WHERE v.workspace_id = $1 AND v.id < $2 AND v.status = $3"
    " ORDER BY v.id DESC LIMIT $4";
static const char SQL_GET[] =
    "SELECT " CONV_COLS CONV_FROM " WHERE v.workspace_id = $1 AND v.id = $2";

ic_err ic_store_conversation_touch_inbound(ic_conn *c, int64_t ws, int64_t channel_id,
                                           int64_t contact_id, int64_t wa_us, int64_t *conv_id)
{
    ic_stmt *s = NULL;
    bool row = false;
    if (wa_us <= 0)
        wa_us = ic_now_us();
    ic_err err = ic_sql_query(c, SQL_FIND_OPEN,
                              IC_ARGS(IC_I64(contact_id), IC_I64(channel_id), IC_I64(ws)), &s);
    if (err != IC_OK)
        goto out;
    err = ic_sql_step(s, &row);
    if (err != IC_OK)
        goto out;
    if (row) {
        int64_t id = ic_sql_col_i64(s, 0);
        int64_t inbound = ic_sql_col_i64(s, 1), last = ic_sql_col_i64(s, 2);
        ic_sql_done(s);
        s = NULL;
        if (wa_us > inbound || wa_us > last) {
            err = ic_sql_run(c, SQL_TOUCH,
                             IC_ARGS(IC_I64(wa_us > inbound ? wa_us : inbound),
                                     IC_I64(wa_us > last ? wa_us : last), IC_I64(id)),
                             NULL);
            if (err != IC_OK)
                goto out;
        }
        *conv_id = id;
    } else {
        ic_sql_done(s);
        s = NULL;
        err = ic_sql_one_i64(c, SQL_OPEN,
                             IC_ARGS(IC_I64(ws), IC_I64(contact_id), IC_I64(channel_id),
                                     IC_I64(ic_now_us()), IC_I64(wa_us), IC_I64(wa_us)),
                             conv_id);
        if (err != IC_OK)
            goto out;
    }
    err = ic_sql_run(c, SQL_CONTACT_INBOUND, IC_ARGS(IC_I64(wa_us), IC_I64(contact_id), IC_I64(ws)),
                     NULL);
out:
    ic_sql_done(s);
    return err;
}

ic_err ic_store_conversation_for_send(ic_conn *c, int64_t ws, int64_t channel_id,
                                      int64_t contact_id, int64_t *conv_id)
{
    ic_err err = ic_sql_one_i64(
        c, SQL_FOR_SEND, IC_ARGS(IC_I64(contact_id), IC_I64(channel_id), IC_I64(ws)), conv_id);
    if (err != IC_ERR_NOT_FOUND)
        return err;
    return ic_sql_one_i64(c, SQL_OPEN,
                          IC_ARGS(IC_I64(ws), IC_I64(contact_id), IC_I64(channel_id),
                                  IC_I64(ic_now_us()), IC_I64(0), IC_I64(0)),
                          conv_id);
}

ic_err ic_store_last_inbound_us(ic_conn *c, int64_t ws, int64_t channel_id, int64_t contact_id,
                                int64_t *wa_us)
{
    return ic_sql_one_i64(c, SQL_LAST_INBOUND,
                          IC_ARGS(IC_I64(contact_id), IC_I64(channel_id), IC_I64(ws)), wa_us);
}

static json_t *conversation_json(ic_stmt *s)
{
    json_t *o = json_object();
    int64_t inbound = ic_sql_col_i64(s, 7);
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    json_object_set_new(o, "contact_id", json_integer(ic_sql_col_i64(s, 1)));
    json_object_set_new(o, "channel_id", json_integer(ic_sql_col_i64(s, 2)));
    ic_sql_json_col_str(o, "status", s, 3);
    ic_sql_json_time(o, "opened_at", ic_sql_col_i64(s, 4));
    ic_sql_json_time(o, "closed_at", ic_sql_col_i64(s, 5));
    ic_sql_json_time(o, "last_message_at", ic_sql_col_i64(s, 6));
    ic_sql_json_time(o, "last_inbound_at", inbound);
    ic_sql_json_time(o, "window_expires_at", inbound ? inbound + DAY_US : 0);
    json_t *contact = json_object();
    json_object_set_new(contact, "id", json_integer(ic_sql_col_i64(s, 1)));
    ic_sql_json_col_str(contact, "wa_id", s, 8);
    ic_sql_json_col_str(contact, "name", s, 9);
    json_object_set_new(o, "contact", contact);
    return o;
}

ic_err ic_store_conversations_list(ic_conn *c, int64_t ws, const char *status, int64_t cursor,
                                   int limit, json_t **items, int64_t *next)
{
    ic_stmt *s = NULL;
    ic_err err = IC_OK;
    *items = NULL;
    *next = 0;
    limit = ic_sql_page_limit(limit);
    int64_t before = ic_sql_page_cursor(cursor);
    if (status && *status) {
        if (strcmp(status, "open") != 0 && strcmp(status, "closed") != 0)
            return IC_ERR_INVALID;
        err = ic_sql_query(c, SQL_LIST_STATUS,
                           IC_ARGS(IC_I64(ws), IC_I64(before), IC_TXT(status), IC_I64(limit + 1)),
                           &s);
    } else {
        err = ic_sql_query(c, SQL_LIST, IC_ARGS(IC_I64(ws), IC_I64(before), IC_I64(limit + 1)), &s);
    }
    if (err != IC_OK)
        return err;
    return ic_sql_page(s, limit, conversation_json, items, next);
}

ic_err ic_store_conversation_get(ic_conn *c, int64_t ws, int64_t id, json_t **out)
{
    return ic_sql_get_json(c, SQL_GET, ws, id, conversation_json, out);
}

ic_err ic_store_conversation_parties(ic_conn *c, int64_t ws, int64_t conv_id, int64_t *contact_id,
                                     int64_t *channel_id)
{
    ic_stmt *s = NULL;
    ic_err err = ic_sql_row(c, SQL_PARTIES, IC_ARGS(IC_I64(ws), IC_I64(conv_id)), &s);
    if (err != IC_OK)
        return err;
    *contact_id = ic_sql_col_i64(s, 0);
    *channel_id = ic_sql_col_i64(s, 1);
    ic_sql_done(s);
    return IC_OK;
}
