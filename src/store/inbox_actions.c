/* inbox_actions.c - what operators do to a conversation (inbox.h): assign,
 * transfer, close, reopen, labels, and the history of it all. */
#include "store/inbox.h"
#include "store/inbox_int.h"
#include "store/sql.h"

#include "base/alloc.h"
#include "base/time.h"

#include <stdlib.h>
#include <string.h>

static const char SQL_CONV[] =
    "SELECT status, COALESCE(assignee_id, 0), COALESCE(team_id, 0) FROM conversations"
    " WHERE workspace_id = $1 AND id = $2";
static const char SQL_USER[] = "SELECT disabled_us FROM users WHERE workspace_id = $1 AND id = $2";
static const char SQL_TEAM[] = "SELECT id FROM teams WHERE workspace_id = $1 AND id = $2";
static const char SQL_LABEL[] = "SELECT name FROM labels WHERE workspace_id = $1 AND id = $2";
static const char SQL_ASSIGN[] =
    "UPDATE conversations SET assignee_id = $1, team_id = $2, assigned_us = $3"
    " WHERE id = $4 AND workspace_id = $5 AND COALESCE(assignee_id, 0) = $6"
    " AND COALESCE(team_id, 0) = $7";
static const char SQL_SET_STATUS[] =
    "UPDATE conversations SET status = $1, closed_us = $2 WHERE id = $3 AND workspace_id = $4";
static const char SQL_LABEL_ADD[] =
    "INSERT INTO conversation_labels (conversation_id, label_id, workspace_id, created_us)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
static const char SQL_LABEL_DEL[] =
    "DELETE FROM conversation_labels WHERE conversation_id = $1 AND label_id = $2"
    " AND workspace_id = $3";
static const char SQL_EVENT[] =
    "INSERT INTO conversation_events (workspace_id, conversation_id, kind, actor_id, data,"
    " created_us) VALUES ($1, $2, $3, $4, $5, $6)";

/* A conversation's state as the rules need it. */
typedef struct conv_state {
    bool open;
    int64_t assignee, team;
} conv_state;

static ic_err conv_read(ic_conn *c, int64_t ws, int64_t id, conv_state *st)
{
    ic_stmt *s = NULL;
    ic_err err = ic_sql_row(c, SQL_CONV, IC_ARGS(IC_I64(ws), IC_I64(id)), &s);
    if (err != IC_OK)
        return err;
    const char *status = ic_sql_col_text(s, 0);
    st->open = status && strcmp(status, "open") == 0;
    st->assignee = ic_sql_col_i64(s, 1);
    st->team = ic_sql_col_i64(s, 2);
    ic_sql_done(s);
    return IC_OK;
}

ic_err ic_inbox_user_check(ic_conn *c, int64_t ws, int64_t id, bool *disabled)
{
    int64_t dis = 0;
    ic_err err = ic_sql_one_i64(c, SQL_USER, IC_ARGS(IC_I64(ws), IC_I64(id)), &dis);
    if (err == IC_OK && disabled)
        *disabled = dis != 0;
    return err;
}

/* An id as a bound value: NULL for 0. */
static ic_sql_arg id_or_null(int64_t id)
{
    return id ? IC_I64(id) : IC_NUL;
}

static json_t *id_or_json_null(int64_t id)
{
    return id ? json_integer(id) : json_null();
}

/* Writes the event; steals data. */
static ic_err event_add(ic_conn *tx, const ic_inbox_actor *a, int64_t conv, const char *kind,
                        json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (!text)
        return IC_ERR_INTERNAL;
    ic_err err = ic_sql_run(tx, SQL_EVENT,
                            IC_ARGS(IC_I64(a->ws), IC_I64(conv), IC_TXT(kind),
                                    id_or_null(a->user_id), IC_TXT(text), IC_I64(ic_now_us())),
                            NULL);
    free(text);
    return err;
}

/* The operator's limits on an assignment (supervisors and admins have none). */
static ic_err operator_may_assign(const ic_inbox_actor *a, const conv_state *st, int64_t user_id,
                                  int64_t team_id)
{
    if (a->role >= IC_ROLE_SUPERVISOR)
        return IC_OK;
    if (a->role < IC_ROLE_OPERATOR || a->user_id == 0)
        return IC_ERR_FORBIDDEN;
    if (team_id != 0 && team_id != st->team)
        return IC_ERR_FORBIDDEN; /* operators do not move work between teams */
    if (user_id == a->user_id)
        return st->assignee == 0 || st->assignee == a->user_id ? IC_OK : IC_ERR_FORBIDDEN;
    if (user_id == 0)
        return st->assignee == a->user_id ? IC_OK : IC_ERR_FORBIDDEN;
    return IC_ERR_FORBIDDEN;
}

ic_err ic_inbox_assign(ic_conn *tx, const ic_inbox_actor *a, int64_t conv, int64_t user_id,
                       int64_t team_id, bool transfer, const char *note)
{
    conv_state st;
    bool disabled = false;
    int64_t unused = 0;
    ic_err err = conv_read(tx, a->ws, conv, &st);
    if (err != IC_OK)
        return err;
    if (user_id < 0)
        user_id = st.assignee;
    if (team_id < 0)
        team_id = st.team;
    if (user_id && (err = ic_inbox_user_check(tx, a->ws, user_id, &disabled)) != IC_OK)
        return err;
    if (team_id && (err = ic_sql_one_i64(tx, SQL_TEAM, IC_ARGS(IC_I64(a->ws), IC_I64(team_id)),
                                         &unused)) != IC_OK)
        return err;
    if ((err = operator_may_assign(a, &st, user_id, team_id)) != IC_OK)
        return err;
    if (disabled)
        return IC_ERR_INVALID;
    if (note && strlen(note) > 4 * IC_INBOX_NOTE_MAX)
        return IC_ERR_TOO_BIG;
    /* Only if nobody (another node's writer) changed it since it was read. */
    int64_t changed = 0;
    err = ic_sql_run(tx, SQL_ASSIGN,
                     IC_ARGS(id_or_null(user_id), id_or_null(team_id),
                             IC_I64(user_id ? ic_now_us() : 0), IC_I64(conv), IC_I64(a->ws),
                             IC_I64(st.assignee), IC_I64(st.team)),
                     &changed);
    if (err != IC_OK)
        return err;
    if (changed == 0)
        return IC_ERR_EXISTS;
    json_t *data = json_object();
    json_object_set_new(data, "from_user_id", id_or_json_null(st.assignee));
    json_object_set_new(data, "to_user_id", id_or_json_null(user_id));
    json_object_set_new(data, "from_team_id", id_or_json_null(st.team));
    json_object_set_new(data, "to_team_id", id_or_json_null(team_id));
    if (note && *note)
        json_object_set_new(data, "note", json_string(note));
    return event_add(tx, a, conv, transfer ? "transfer" : "assign", data);
}

ic_err ic_inbox_set_open(ic_conn *tx, const ic_inbox_actor *a, int64_t conv, bool open)
{
    conv_state st;
    ic_err err = conv_read(tx, a->ws, conv, &st);
    if (err != IC_OK)
        return err;
    if (a->role < IC_ROLE_OPERATOR)
        return IC_ERR_FORBIDDEN;
    if (a->role == IC_ROLE_OPERATOR && st.assignee != 0 && st.assignee != a->user_id)
        return IC_ERR_FORBIDDEN;
    if (st.open == open)
        return IC_OK;
    err = ic_sql_run(tx, SQL_SET_STATUS,
                     IC_ARGS(IC_TXT(open ? "open" : "closed"), IC_I64(open ? 0 : ic_now_us()),
                             IC_I64(conv), IC_I64(a->ws)),
                     NULL);
    if (err != IC_OK)
        return err;
    return event_add(tx, a, conv, open ? "reopen" : "close", json_object());
}

ic_err ic_inbox_label_set(ic_conn *tx, const ic_inbox_actor *a, int64_t conv, int64_t label,
                          bool add)
{
    conv_state st;
    ic_stmt *s = NULL;
    int64_t changed = 0;
    ic_err err = conv_read(tx, a->ws, conv, &st);
    if (err != IC_OK)
        return err;
    if ((err = ic_sql_row(tx, SQL_LABEL, IC_ARGS(IC_I64(a->ws), IC_I64(label)), &s)) != IC_OK)
        return err;
    json_t *data = json_object();
    json_object_set_new(data, "label_id", json_integer(label));
    ic_sql_json_col_str(data, "name", s, 0);
    ic_sql_done(s);
    if (a->role < IC_ROLE_OPERATOR) {
        json_decref(data);
        return IC_ERR_FORBIDDEN;
    }
    if (add)
        err = ic_sql_run(tx, SQL_LABEL_ADD,
                         IC_ARGS(IC_I64(conv), IC_I64(label), IC_I64(a->ws), IC_I64(ic_now_us())),
                         &changed);
    else
        err = ic_sql_run(tx, SQL_LABEL_DEL, IC_ARGS(IC_I64(conv), IC_I64(label), IC_I64(a->ws)),
                         &changed);
    if (err != IC_OK || changed == 0) {
        json_decref(data);
        return err;
    }
    return event_add(tx, a, conv, add ? "label_added" : "label_removed", data);
}

/* ---- notes ------------------------------------------------------------------- */

static const char SQL_NOTE[] =
    "INSERT INTO notes (workspace_id, conversation_id, author_id, body, mentions, created_us)"
    " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
static const char SQL_WS_USERS[] =
    "SELECT id, name FROM users WHERE workspace_id = $1 AND disabled_us = 0 ORDER BY id";

static char lower_ascii(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_word_char(char c)
{
    c = lower_ascii(c);
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (c & 0x80);
}

/* Whether body holds "@name" (ASCII case-insensitive) ended by a non-word
 * character or the end. */
static bool mentions_name(const char *body, const char *name)
{
    size_t n = strlen(name);
    if (n == 0)
        return false;
    for (const char *p = strchr(body, '@'); p; p = strchr(p + 1, '@')) {
        size_t i = 0;
        while (i < n && p[1 + i] && lower_ascii(p[1 + i]) == lower_ascii(name[i]))
            i++;
        if (i == n && !is_word_char(p[1 + n]))
            return true;
    }
    return false;
}

static void add_unique(json_t *arr, int64_t id)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_integer_value(v) == id)
            return;
    }
    json_array_append_new(arr, json_integer(id));
}

/* The mentioned users' ids (a new array in *out). */
static ic_err resolve_mentions(ic_conn *tx, int64_t ws, const char *body,
                               const json_t *explicit_ids, json_t **out)
{
    ic_stmt *s = NULL;
    bool has = false;
    json_t *ids = json_array();
    ic_err err = IC_OK;
    *out = NULL;
    if (explicit_ids && !json_is_array(explicit_ids))
        err = IC_ERR_INVALID;
    if (err == IC_OK && json_array_size(explicit_ids) > IC_INBOX_MENTIONS_MAX)
        err = IC_ERR_INVALID;
    size_t i;
    json_t *v;
    json_array_foreach(explicit_ids, i, v)
    {
        if (err != IC_OK)
            break;
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            err = IC_ERR_INVALID;
        else if ((err = ic_inbox_user_check(tx, ws, json_integer_value(v), NULL)) == IC_OK)
            add_unique(ids, json_integer_value(v));
    }
    if (err == IC_OK && strchr(body, '@') &&
        (err = ic_sql_query(tx, SQL_WS_USERS, IC_ARGS(IC_I64(ws)), &s)) == IC_OK) {
        while ((err = ic_sql_step(s, &has)) == IC_OK && has) {
            const char *name = ic_sql_col_text(s, 1);
            if (name && mentions_name(body, name) && json_array_size(ids) < IC_INBOX_MENTIONS_MAX)
                add_unique(ids, ic_sql_col_i64(s, 0));
        }
        ic_sql_done(s);
    }
    if (err != IC_OK) {
        json_decref(ids);
        return err;
    }
    *out = ids;
    return IC_OK;
}

ic_err ic_inbox_note_add(ic_conn *tx, const ic_inbox_actor *a, int64_t conv, const char *body,
                         const json_t *explicit_ids, int64_t *id)
{
    conv_state st;
    json_t *mentions = NULL;
    int64_t note = 0;
    ic_err err = conv_read(tx, a->ws, conv, &st);
    if (err != IC_OK)
        return err;
    if (a->role < IC_ROLE_OPERATOR)
        return IC_ERR_FORBIDDEN;
    if (a->user_id == 0 || !body || !*body)
        return IC_ERR_INVALID;
    if (strlen(body) > 4 * IC_INBOX_NOTE_MAX)
        return IC_ERR_TOO_BIG;
    if ((err = resolve_mentions(tx, a->ws, body, explicit_ids, &mentions)) != IC_OK)
        return err;
    char *text = json_dumps(mentions, JSON_COMPACT);
    err = text ? ic_sql_one_i64(tx, SQL_NOTE,
                                IC_ARGS(IC_I64(a->ws), IC_I64(conv), IC_I64(a->user_id),
                                        IC_TXT(body), IC_TXT(text), IC_I64(ic_now_us())),
                                &note)
               : IC_ERR_INTERNAL;
    free(text);
    if (err != IC_OK) {
        json_decref(mentions);
        return err;
    }
    if (id)
        *id = note;
    json_t *data = json_object();
    json_object_set_new(data, "note_id", json_integer(note));
    json_object_set_new(data, "mentions", mentions);
    return event_add(tx, a, conv, "note", data);
}

/* ---- history ----------------------------------------------------------------- */

static const char SQL_NOTES[] =
    "SELECT n.id, n.author_id, u.name, n.body, n.mentions, n.created_us FROM notes n"
    " LEFT JOIN users u ON u.id = n.author_id"
    " WHERE n.workspace_id = $1 AND n.conversation_id = $2 AND n.id < $3"
    " ORDER BY n.id DESC LIMIT $4";
static const char SQL_EVENTS[] =
    "SELECT e.id, e.actor_id, u.name, e.kind, e.data, e.created_us FROM conversation_events e"
    " LEFT JOIN users u ON u.id = e.actor_id"
    " WHERE e.workspace_id = $1 AND e.conversation_id = $2 AND e.id < $3"
    " ORDER BY e.id DESC LIMIT $4";

/* Sets o[key] to {id, name} of the user in columns 1 and 2, or null. */
static void set_person(json_t *o, const char *key, ic_stmt *s)
{
    if (ic_sql_col_null(s, 1) || ic_sql_col_i64(s, 1) == 0) {
        json_object_set_new(o, key, json_null());
        return;
    }
    json_t *p = json_object();
    json_object_set_new(p, "id", json_integer(ic_sql_col_i64(s, 1)));
    ic_sql_json_col_str(p, "name", s, 2);
    json_object_set_new(o, key, p);
}

static json_t *note_json(ic_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    set_person(o, "author", s);
    ic_sql_json_col_str(o, "body", s, 3);
    ic_sql_json_col_doc(o, "mentions", s, 4);
    ic_sql_json_time(o, "created_at", ic_sql_col_i64(s, 5));
    return o;
}

static json_t *event_json(ic_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    ic_sql_json_col_str(o, "kind", s, 3);
    set_person(o, "actor", s);
    ic_sql_json_col_doc(o, "data", s, 4);
    ic_sql_json_time(o, "created_at", ic_sql_col_i64(s, 5));
    return o;
}

static ic_err history(ic_conn *c, const char *sql, json_t *(*row)(ic_stmt *s), int64_t ws,
                      int64_t conv, int64_t cursor, int limit, json_t **items, int64_t *next)
{
    conv_state st;
    ic_stmt *s = NULL;
    *items = NULL;
    *next = 0;
    ic_err err = conv_read(c, ws, conv, &st);
    if (err != IC_OK)
        return err;
    limit = ic_sql_page_limit(limit);
    err = ic_sql_query(
        c, sql,
        IC_ARGS(IC_I64(ws), IC_I64(conv), IC_I64(ic_sql_page_cursor(cursor)), IC_I64(limit + 1)),
        &s);
    if (err != IC_OK)
        return err;
    return ic_sql_page(s, limit, row, items, next);
}

ic_err ic_inbox_notes_list(ic_conn *c, int64_t ws, int64_t conv, int64_t cursor, int limit,
                           json_t **items, int64_t *next)
{
    return history(c, SQL_NOTES, note_json, ws, conv, cursor, limit, items, next);
}

ic_err ic_inbox_events_list(ic_conn *c, int64_t ws, int64_t conv, int64_t cursor, int limit,
                            json_t **items, int64_t *next)
{
    return history(c, SQL_EVENTS, event_json, ws, conv, cursor, limit, items, next);
}
