/* inbox.c - the inbox's conversation lists (inbox.h): views, filters, the
 * search, the sort key cursor, and each item's labels and last message. */
#include "store/inbox.h"
#include "store/inbox_int.h"
#include "store/sql.h"

#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define DAY_US (24LL * 3600 * 1000000)

/* The list reads newest activity first (last_message_us, id descending)
 * through an index: the predicates that choose one (status, assignee, team,
 * urgent) are written literally in one of the LIST_SQL variants below, the
 * others are filters that a parameter turns off. Urgent-first views read
 * the urgent open conversations, then the others (two "phases"; the cursor
 * says which). Placeholders, in the order they first appear: $1 urgent mode
 * (-1 any, 1 urgent open only, 0 not urgent only), $2 ws, $3 status (''
 * any), $4 assignee mode (0 any, 1 nobody, 2 $5), $6 a user whose teams, $7
 * label, $8 team, $9 LIKE pattern ('' none), $10 $11 the cursor, $12 the
 * limit. Integer flags are CAST where they first appear so that PostgreSQL
 * infers bigint. */
#define ITEM_COLS                                                                                  \
    "v.id, v.contact_id, v.channel_id, v.status, v.opened_us, v.closed_us, v.last_message_us,"     \
    " v.last_inbound_us, k.wa_id, k.name, v.urgent, v.assignee_id, u.name, v.team_id, t.name"
#define ITEM_FROM                                                                                  \
    " FROM conversations v JOIN contacts k ON k.id = v.contact_id"                                 \
    " LEFT JOIN users u ON u.id = v.assignee_id LEFT JOIN teams t ON t.id = v.team_id"

#define U_ANY "CAST($1 AS BIGINT) < 0"
#define U_ONLY "CAST($1 AS BIGINT) = 1 AND v.urgent = 1 AND v.status = 'open'"
#define U_NONE "CAST($1 AS BIGINT) = 0 AND v.urgent = 0"
#define S_FIXED "v.status = $3"
#define A_ANY                                                                                      \
    "(CAST($4 AS BIGINT) = 0 OR ($4 = 1 AND v.assignee_id IS NULL)"                                \
    " OR ($4 = 2 AND v.assignee_id = $5))"
#define A_EQ "CAST($4 AS BIGINT) = 2 AND v.assignee_id = $5"
#define A_NULL "CAST($4 AS BIGINT) = 1 AND v.assignee_id IS NULL AND CAST($5 AS BIGINT) >= 0"
#define T_ANY "(CAST($8 AS BIGINT) = 0 OR v.team_id = $8)"
#define T_EQ "v.team_id = $8"

#define LIST(U, S, A, T)                                                                           \
    "SELECT " ITEM_COLS ITEM_FROM " WHERE " U " AND v.workspace_id = $2 AND " S " AND " A          \
    " AND (CAST($6 AS BIGINT) = 0 OR v.team_id IN (SELECT tm.team_id FROM team_members tm"         \
    " WHERE tm.user_id = $6 AND tm.workspace_id = $2))"                                            \
    " AND (CAST($7 AS BIGINT) = 0 OR EXISTS (SELECT 1 FROM conversation_labels cl"                 \
    " WHERE cl.conversation_id = v.id AND cl.label_id = $7))"                                      \
    " AND " T " AND ($9 = '' OR lower(k.name) LIKE $9 ESCAPE '\\' OR k.wa_id LIKE $9 ESCAPE '\\'"  \
    " OR v.id IN (SELECT x.conversation_id FROM (SELECT m.conversation_id, m.text"                 \
    " FROM messages m WHERE m.workspace_id = $2 ORDER BY m.id DESC LIMIT 10000) x"                 \
    " WHERE lower(x.text) LIKE $9 ESCAPE '\\'))"                                                   \
    " AND (v.last_message_us, v.id) < ($10, $11)"                                                  \
    " ORDER BY v.last_message_us DESC, v.id DESC LIMIT $12"

/* Any status: open and closed ones are each read in order through the
 * index on (workspace_id, status, last_message_us, id) and merged, rather
 * than sorting every conversation of the workspace. */
#define S_OPEN "v.status = 'open' AND CAST($3 AS TEXT) = ''"
#define S_CLOSED "v.status = 'closed' AND CAST($3 AS TEXT) = ''"
#define LIST_ANY(U, A, T)                                                                          \
    "SELECT * FROM (" LIST(U, S_OPEN, A, T) ") a UNION ALL SELECT * FROM (" LIST(                  \
        U, S_CLOSED, A, T) ") b ORDER BY 7 DESC, 1 DESC LIMIT $12"

#define LIST_T(U, S, A)                                                                            \
    {                                                                                              \
        LIST(U, S, A, T_ANY), LIST(U, S, A, T_EQ)                                                  \
    }
#define LIST_A(U, S)                                                                               \
    {                                                                                              \
        LIST_T(U, S, A_ANY), LIST_T(U, S, A_EQ), LIST_T(U, S, A_NULL)                              \
    }
#define LIST_ANY_T(U, A)                                                                           \
    {                                                                                              \
        LIST_ANY(U, A, T_ANY), LIST_ANY(U, A, T_EQ)                                                \
    }
#define LIST_ANY_A(U)                                                                              \
    {                                                                                              \
        LIST_ANY_T(U, A_ANY), LIST_ANY_T(U, A_EQ), LIST_ANY_T(U, A_NULL)                           \
    }
#define LIST_S(U)                                                                                  \
    {                                                                                              \
        LIST_A(U, S_FIXED), LIST_ANY_A(U)                                                          \
    }

/* [urgent: any, only, none][status: fixed, any][assignee: any, eq, null][team: any, eq] */
static const char *const LIST_SQL[3][2][3][2] = {LIST_S(U_ANY), LIST_S(U_ONLY), LIST_S(U_NONE)};

static const char SQL_GET[] =
    "SELECT " ITEM_COLS ITEM_FROM " WHERE v.workspace_id = $1 AND v.id = $2";

static const char SQL_ITEM_LABELS[] =
    "SELECT l.id, l.name, l.color FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id"
    " WHERE cl.conversation_id = $1 AND cl.workspace_id = $2 ORDER BY l.name, l.id";
static const char SQL_ITEM_LAST[] =
    "SELECT type, text, direction, created_us FROM messages WHERE conversation_id = $1"
    " ORDER BY id DESC LIMIT 1";

ic_err ic_inbox_view_parse(const char *s, ic_inbox_view *out)
{
    static const char *const names[] = {"unassigned", "mine",   "my_teams",
                                        "all",        "urgent", "closed"};
    for (size_t i = 0; s && i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (ic_inbox_view)(i + 1);
            return IC_OK;
        }
    }
    return IC_ERR_INVALID;
}

void ic_inbox_like_pattern(ic_buf *b, const char *s)
{
    ic_buf_putc(b, '%');
    for (; *s; s++) {
        char ch = *s;
        if (ch == '%' || ch == '_' || ch == '\\')
            ic_buf_putc(b, '\\');
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        ic_buf_putc(b, ch);
    }
    ic_buf_putc(b, '%');
}

/* Sets o[key] to {id, name}, or null when id is 0 (NULL). */
static void set_ref(json_t *o, const char *key, ic_stmt *s, int id_col, int name_col)
{
    int64_t id = ic_sql_col_null(s, id_col) ? 0 : ic_sql_col_i64(s, id_col);
    if (!id) {
        json_object_set_new(o, key, json_null());
        return;
    }
    json_t *ref = json_object();
    json_object_set_new(ref, "id", json_integer(id));
    ic_sql_json_col_str(ref, "name", s, name_col);
    json_object_set_new(o, key, ref);
}

static json_t *item_json(ic_stmt *s)
{
    json_t *o = json_object();
    int64_t inbound = ic_sql_col_i64(s, 7), now = ic_now_us();
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    ic_sql_json_col_str(o, "status", s, 3);
    json_object_set_new(o, "urgent", json_boolean(ic_sql_col_i64(s, 10) != 0));
    json_object_set_new(o, "contact_id", json_integer(ic_sql_col_i64(s, 1)));
    json_object_set_new(o, "channel_id", json_integer(ic_sql_col_i64(s, 2)));
    ic_sql_json_time(o, "opened_at", ic_sql_col_i64(s, 4));
    ic_sql_json_time(o, "closed_at", ic_sql_col_i64(s, 5));
    ic_sql_json_time(o, "last_message_at", ic_sql_col_i64(s, 6));
    ic_sql_json_time(o, "last_inbound_at", inbound);
    ic_sql_json_time(o, "window_expires_at", inbound ? inbound + DAY_US : 0);
    json_t *win = json_object();
    json_object_set_new(win, "open", json_boolean(inbound && inbound + DAY_US > now));
    ic_sql_json_time(win, "expires_at", inbound ? inbound + DAY_US : 0);
    json_object_set_new(o, "window", win);
    json_t *contact = json_object();
    json_object_set_new(contact, "id", json_integer(ic_sql_col_i64(s, 1)));
    ic_sql_json_col_str(contact, "name", s, 9);
    ic_sql_json_col_str(contact, "wa_id", s, 8);
    json_object_set_new(o, "contact", contact);
    set_ref(o, "assignee", s, 11, 12);
    set_ref(o, "team", s, 13, 14);
    return o;
}

/* Copies at most max characters of s (UTF-8) into a new JSON string. */
static json_t *cut_text(const char *s, size_t max)
{
    size_t i = 0, chars = 0;
    while (s[i] && chars < max) {
        i++;
        while ((s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    json_t *v = json_stringn(s, i);
    return v ? v : json_null();
}

static json_t *label_json(ic_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    ic_sql_json_col_str(o, "name", s, 1);
    ic_sql_json_col_str(o, "color", s, 2);
    return o;
}

/* Adds labels and last_message to item o of ws. */
static ic_err enrich(ic_conn *c, int64_t ws, json_t *o)
{
    int64_t id = (int64_t)json_integer_value(json_object_get(o, "id"));
    json_t *labels = NULL;
    ic_err err =
        ic_sql_all_json(c, SQL_ITEM_LABELS, IC_ARGS(IC_I64(id), IC_I64(ws)), label_json, &labels);
    if (err != IC_OK)
        return err;
    json_object_set_new(o, "labels", labels);
    ic_stmt *s = NULL;
    err = ic_sql_row(c, SQL_ITEM_LAST, IC_ARGS(IC_I64(id)), &s);
    if (err == IC_ERR_NOT_FOUND) {
        json_object_set_new(o, "last_message", json_null());
        return IC_OK;
    }
    if (err != IC_OK)
        return err;
    json_t *m = json_object();
    ic_sql_json_col_str(m, "type", s, 0);
    const char *text = ic_sql_col_text(s, 1);
    json_object_set_new(m, "text", text ? cut_text(text, IC_INBOX_PREVIEW_CHARS) : json_null());
    ic_sql_json_col_str(m, "direction", s, 2);
    ic_sql_json_time(m, "at", ic_sql_col_i64(s, 3));
    ic_sql_done(s);
    json_object_set_new(o, "last_message", m);
    return IC_OK;
}

/* Parses "pri.last_us.id" (as made by the list) into key[3]. */
static ic_err parse_cursor(const char *s, int64_t key[3])
{
    char part[3][24];
    size_t n = 0, len = 0;
    for (const char *p = s;; p++) {
        if (*p == '.' || *p == '\0') {
            if (len == 0 || n >= 3)
                return IC_ERR_INVALID;
            part[n++][len] = '\0';
            len = 0;
            if (*p == '\0')
                break;
        } else if (*p >= '0' && *p <= '9' && len < sizeof part[0] - 1) {
            part[n < 3 ? n : 2][len++] = *p;
        } else {
            return IC_ERR_INVALID;
        }
    }
    if (n != 3)
        return IC_ERR_INVALID;
    for (int i = 0; i < 3; i++)
        if (ic_parse_i64(part[i], &key[i]) != IC_OK || key[i] < 0)
            return IC_ERR_INVALID;
    return key[0] <= 1 ? IC_OK : IC_ERR_INVALID;
}

/* What the view asks of the query. */
typedef struct view_args {
    bool urgent_first, urgent_only;
    int64_t assignee_mode, teams_of;
    const char *status;
} view_args;

static ic_err view_args_for(const ic_inbox_query *q, view_args *v)
{
    *v = (view_args){.status = ""};
    switch (q->view) {
    case IC_VIEW_NONE:
        if (q->status && *q->status && strcmp(q->status, "open") != 0 &&
            strcmp(q->status, "closed") != 0)
            return IC_ERR_INVALID;
        v->status = q->status ? q->status : "";
        return IC_OK;
    case IC_VIEW_UNASSIGNED:
        v->status = "open";
        v->urgent_first = true;
        v->assignee_mode = 1;
        return IC_OK;
    case IC_VIEW_MINE:
        v->status = "open";
        v->assignee_mode = 2;
        return q->user_id > 0 ? IC_OK : IC_ERR_INVALID;
    case IC_VIEW_MY_TEAMS:
        v->status = "open";
        v->teams_of = q->user_id;
        return q->user_id > 0 ? IC_OK : IC_ERR_INVALID;
    case IC_VIEW_ALL:
        v->status = "open";
        v->urgent_first = true;
        return IC_OK;
    case IC_VIEW_URGENT:
        v->status = "open";
        v->urgent_only = true;
        return IC_OK;
    case IC_VIEW_CLOSED:
        v->status = "closed";
        return IC_OK;
    }
    return IC_ERR_INVALID;
}

/* One read of the list. */
typedef struct list_run {
    ic_conn *c;
    const ic_inbox_query *q;
    const view_args *v;
    const char *pattern;
    json_t *arr; /* the page so far */
    int limit;
    int64_t last[3]; /* phase, last_message_us, id of the last item */
    bool more;       /* a row exists after the page */
} list_run;

/* Reads rows of urgent mode umode (-1, 1, 0) after (lm, id) into the page
 * until it holds limit items; sets more when a row is left over. */
static ic_err list_phase(list_run *L, int umode, int64_t lm, int64_t id)
{
    const view_args *v = L->v;
    const char *sql = LIST_SQL[umode < 0    ? 0
                               : umode == 1 ? 1
                                            : 2][*v->status ? 0 : 1][v->assignee_mode == 2   ? 1
                                                                     : v->assignee_mode == 1 ? 2
                                                                                             : 0]
                              [L->q->team_id ? 1 : 0];
    int room = L->limit - (int)json_array_size(L->arr);
    ic_stmt *s = NULL;
    bool has = false;
    ic_err err =
        ic_sql_query(L->c, sql,
                     IC_ARGS(IC_I64(umode), IC_I64(L->q->ws), IC_TXT(v->status),
                             IC_I64(v->assignee_mode), IC_I64(L->q->user_id), IC_I64(v->teams_of),
                             IC_I64(L->q->label_id), IC_I64(L->q->team_id), IC_TXT(L->pattern),
                             IC_I64(lm), IC_I64(id), IC_I64(room + 1)),
                     &s);
    if (err != IC_OK)
        return err;
    while ((err = ic_sql_step(s, &has)) == IC_OK && has) {
        if ((int)json_array_size(L->arr) >= L->limit) {
            L->more = true;
            break;
        }
        L->last[0] = umode == 1;
        L->last[1] = ic_sql_col_i64(s, 6);
        L->last[2] = ic_sql_col_i64(s, 0);
        json_array_append_new(L->arr, item_json(s));
    }
    ic_sql_done(s);
    return err;
}

ic_err ic_inbox_list(ic_conn *c, const ic_inbox_query *q, json_t **items, char *next)
{
    ic_buf pat = IC_BUF_INIT;
    view_args v;
    int64_t key[3] = {1, INT64_MAX, INT64_MAX};
    *items = NULL;
    next[0] = '\0';
    ic_err err = view_args_for(q, &v);
    if (err != IC_OK)
        return err;
    if (q->cursor && *q->cursor && parse_cursor(q->cursor, key) != IC_OK)
        return IC_ERR_INVALID;
    if (q->q && strlen(q->q) > IC_INBOX_Q_MAX)
        return IC_ERR_INVALID;
    if (q->q && *q->q)
        ic_inbox_like_pattern(&pat, q->q);
    list_run L = {.c = c,
                  .q = q,
                  .v = &v,
                  .pattern = pat.len ? ic_buf_cstr(&pat) : "",
                  .arr = json_array(),
                  .limit = ic_sql_page_limit(q->limit)};
    if (!v.urgent_first) {
        err = list_phase(&L, v.urgent_only ? 1 : -1, key[1], key[2]);
    } else if (key[0] == 1) {
        err = list_phase(&L, 1, key[1], key[2]);
        if (err == IC_OK && !L.more)
            err = list_phase(&L, 0, INT64_MAX, INT64_MAX);
    } else {
        err = list_phase(&L, 0, key[1], key[2]);
    }
    size_t i;
    json_t *o;
    json_array_foreach(L.arr, i, o)
    {
        if (err == IC_OK)
            err = enrich(c, q->ws, o);
    }
    if (err != IC_OK) {
        json_decref(L.arr);
        goto out;
    }
    if (L.more)
        snprintf(next, IC_INBOX_CURSOR_MAX, "%" PRId64 ".%" PRId64 ".%" PRId64, L.last[0],
                 L.last[1], L.last[2]);
    *items = L.arr;
out:
    ic_buf_free(&pat);
    return err;
}

ic_err ic_inbox_conversation_get(ic_conn *c, int64_t ws, int64_t id, json_t **out)
{
    ic_err err = ic_sql_get_json(c, SQL_GET, ws, id, item_json, out);
    if (err == IC_OK && (err = enrich(c, ws, *out)) != IC_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return err;
}
