/* conversations.c - GET /api/v1/conversations (the inbox's lists: views,
 * filters, search; store/inbox.h), GET /api/v1/conversations/{id},
 * GET /api/v1/conversations/{id}/messages and POST
 * /api/v1/conversations/{id}/read (blue ticks for the person). */
#include "api/api.h"
#include "api/auth.h"
#include "api/inbox.h"
#include "api/json_in.h"

#include "base/alloc.h"
#include "base/str.h"

#include <string.h>

/* How many messages the read endpoint looks back for the person's last one. */
#define READ_SCAN_MAX 500
/* The longest search text, in characters. */
#define Q_MAX_CHARS 100

/* The list's page arguments: limit as ic_api_page, cursor an opaque string
 * of at most IC_INBOX_CURSOR_MAX - 1 characters. */
static ic_err list_page(const ic_req *r, int *limit, const char **cursor, ic_errmsg *em)
{
    const char *l = ic_req_query(r, "limit");
    int64_t v = IC_API_LIMIT_DEFAULT;
    if (l &&
        (!ic_api_is_digits(l, 3) || ic_parse_i64(l, &v) != IC_OK || v < 1 || v > IC_API_LIMIT_MAX))
        return ic_errf(em, IC_ERR_INVALID, "limit must be an integer from 1 to %d",
                       IC_API_LIMIT_MAX);
    *limit = (int)v;
    *cursor = ic_req_query(r, "cursor");
    if (*cursor && strlen(*cursor) >= IC_INBOX_CURSOR_MAX)
        return ic_errf(em, IC_ERR_INVALID,
                       "cursor must be the next_cursor value of an earlier page");
    return IC_OK;
}

/* Reads an optional positive id from query argument name into *out (0 when
 * absent). */
static ic_err query_id(const ic_req *r, const char *name, int64_t *out, ic_errmsg *em)
{
    const char *s = ic_req_query(r, name);
    *out = 0;
    if (s && ic_api_parse_id(s, out) != IC_OK)
        return ic_errf(em, IC_ERR_INVALID, "%s must be a positive integer id", name);
    return IC_OK;
}

/* Fills q from r's query arguments for caller who. */
static ic_err list_query(const ic_req *r, const ic_principal *who, ic_inbox_query *q, ic_errmsg *em)
{
    *q = (ic_inbox_query){.ws = who->ws, .user_id = who->user_id};
    ic_err e = list_page(r, &q->limit, &q->cursor, em);
    if (e != IC_OK)
        return e;
    const char *view = ic_req_query(r, "view");
    if (view && ic_inbox_view_parse(view, &q->view) != IC_OK)
        return ic_errf(em, IC_ERR_INVALID,
                       "view must be one of unassigned, mine, my_teams, all, urgent, closed");
    if ((q->view == IC_VIEW_MINE || q->view == IC_VIEW_MY_TEAMS) && who->user_id == 0)
        return ic_errf(em, IC_ERR_INVALID,
                       "view=%s needs a signed-in user; an API token has no conversations of "
                       "its own",
                       view);
    q->status = ic_req_query(r, "status");
    if (q->status && strcmp(q->status, "open") != 0 && strcmp(q->status, "closed") != 0)
        return ic_errf(em, IC_ERR_INVALID, "status must be \"open\" or \"closed\"");
    if (q->status && q->view != IC_VIEW_NONE)
        return ic_errf(em, IC_ERR_INVALID, "status cannot be combined with view");
    if ((e = query_id(r, "label", &q->label_id, em)) != IC_OK ||
        (e = query_id(r, "team", &q->team_id, em)) != IC_OK)
        return e;
    q->q = ic_req_query(r, "q");
    if (q->q && (ic_utf8_len(q->q) > Q_MAX_CHARS || strlen(q->q) > IC_INBOX_Q_MAX))
        return ic_errf(em, IC_ERR_INVALID, "q must be at most %d characters", Q_MAX_CHARS);
    return IC_OK;
}

static void list_conversations(ic_req *r, void *arg)
{
    ic_app *app = arg;
    char next[IC_INBOX_CURSOR_MAX];
    json_t *items = NULL;
    ic_errmsg em = {{0}};
    ic_principal who;
    ic_inbox_query q;
    if (ic_api_authorize(r, app, IC_ROLE_VIEWER, &who) != IC_OK)
        return;
    ic_err e = list_query(r, &who, &q, &em);
    if (e != IC_OK)
        goto fail;
    e = ic_inbox_list(ic_db_thread_conn(app->db), &q, &items, next);
    if (e == IC_ERR_INVALID)
        ic_errf(&em, e, "cursor must be the next_cursor value of an earlier page");
    if (e != IC_OK)
        goto fail;
    ic_api_mask_conversations(items, who.role);
    json_t *body = json_object();
    json_object_set_new(body, "items", items);
    json_object_set_new(body, "next_cursor", next[0] ? json_string(next) : json_null());
    ic_req_respond_json(r, 200, body);
    return;
fail:
    ic_api_fail(r, e, &em);
}

static void get_conversation(ic_req *r, void *arg)
{
    ic_api_get_by_id_shaped(r, arg, ic_inbox_conversation_get, ic_api_mask_conversations);
}

static void list_messages(ic_req *r, void *arg)
{
    ic_app *app = arg;
    int64_t ws = 0, id = 0, cursor = 0, next = 0;
    int limit = 0;
    json_t *items = NULL;
    ic_errmsg em = {{0}};
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_VIEWER, &who) != IC_OK)
        return;
    ws = who.ws;
    ic_err e = IC_ERR_NOT_FOUND;
    if (ic_api_parse_id(ic_req_param(r, "id"), &id) != IC_OK)
        goto fail;
    if ((e = ic_api_page(r, &limit, &cursor, &em)) != IC_OK)
        goto fail;
    /* The store answers IC_ERR_NOT_FOUND for a conversation not in ws, so
     * an empty list never hides that it is not ours. */
    e = ic_store_messages_list(ic_db_thread_conn(app->db), ws, id, cursor, limit, &items, &next);
    if (e != IC_OK)
        goto fail;
    ic_req_respond_json(r, 200, ic_api_list_json(items, next));
    return;
fail:
    ic_api_fail(r, e, &em);
}

/* True when item is a message the person sent us, with Meta's id. */
static const char *inbound_wamid(const json_t *item)
{
    const char *dir = json_string_value(json_object_get(item, "direction"));
    if (!dir || (strcmp(dir, "in") != 0 && strcmp(dir, "inbound") != 0))
        return NULL;
    return json_string_value(json_object_get(item, "wa_id"));
}

/* Finds the wamid of the newest inbound message of conversation id. */
static ic_err last_inbound_wamid(ic_conn *c, int64_t ws, int64_t id, char **out)
{
    int64_t cursor = 0, next = 0;
    int seen = 0;
    ic_err e = IC_OK;
    *out = NULL;
    while (!*out && seen < READ_SCAN_MAX) {
        json_t *items = NULL;
        e = ic_store_messages_list(c, ws, id, cursor, IC_API_LIMIT_MAX, &items, &next);
        if (e != IC_OK)
            return e;
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item)
        {
            const char *w = inbound_wamid(item);
            if (w) {
                *out = ic_strdup(w);
                break;
            }
        }
        seen += (int)json_array_size(items);
        json_decref(items);
        if (next == 0)
            break;
        cursor = next;
    }
    return IC_OK;
}

static void mark_read(ic_req *r, void *arg)
{
    ic_app *app = arg;
    int64_t ws = 0, id = 0, contact = 0, channel = 0;
    char *to = NULL, *wamid = NULL;
    json_t *msg = NULL;
    ic_errmsg em = {{0}};
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_OPERATOR, &who) != IC_OK)
        return;
    ws = who.ws;
    ic_err e = IC_ERR_NOT_FOUND;
    if (ic_api_parse_id(ic_req_param(r, "id"), &id) != IC_OK)
        goto fail;
    ic_conn *c = ic_db_thread_conn(app->db);
    if ((e = ic_store_conversation_parties(c, ws, id, &contact, &channel)) != IC_OK ||
        (e = ic_api_contact_wa_id(c, ws, contact, &to)) != IC_OK ||
        (e = last_inbound_wamid(c, ws, id, &wamid)) != IC_OK)
        goto fail;
    if (!wamid) {
        ic_req_error(r, 422, "invalid",
                     "this conversation has no message from the person to mark as read");
        goto out;
    }
    msg = json_pack("{s:s, s:s}", "type", "read", "message_id", wamid);
    ic_api_send s = {.ws = ws,
                     .channel_id = channel,
                     .contact_id = contact,
                     .conv_id = id,
                     .to = to,
                     .msg = msg,
                     .lane = IC_LANE_REPLY};
    ic_api_send_submit(r, app, &s);
    goto out;
fail:
    ic_api_fail(r, e, &em);
out:
    json_decref(msg);
    ic_free(to);
    ic_free(wamid);
}

void ic_api_conversations_routes(ic_http *h, ic_app *app)
{
    ic_http_route(h, "GET", "/api/v1/conversations", 0, list_conversations, app);
    ic_http_route(h, "GET", "/api/v1/conversations/{id}", 0, get_conversation, app);
    ic_http_route(h, "GET", "/api/v1/conversations/{id}/messages", 0, list_messages, app);
    /* The read endpoint takes no body; a small bound is plenty. */
    ic_http_route(h, "POST", "/api/v1/conversations/{id}/read", 1024, mark_read, app);
}
