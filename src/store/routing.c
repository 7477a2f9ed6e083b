/* routing.c - urgency words, automatic assignment, canned replies and
 * workspace settings; see routing.h. */
#include "store/routing.h"

#include "store/sql.h"

#include "base/alloc.h"
#include "base/time.h"

#include <stdlib.h>
#include <string.h>

/* ---- urgency words --------------------------------------------------------------- */

static const char SQL_WORDS[] = "SELECT id, language, phrase, created_us FROM urgency_words"
                                " WHERE workspace_id = $1 ORDER BY id";
static const char SQL_WORD_INSERT[] =
    "INSERT INTO urgency_words (workspace_id, language, phrase, created_us)"
    " VALUES ($1, $2, $3, $4) RETURNING id";
static const char SQL_WORD_GET[] = "SELECT id, language, phrase, created_us FROM urgency_words"
                                   " WHERE workspace_id = $1 AND id = $2";
static const char SQL_WORD_DELETE[] =
    "DELETE FROM urgency_words WHERE workspace_id = $1 AND id = $2";
static const char SQL_CONTACT_LANG[] =
    "SELECT language FROM contacts WHERE workspace_id = $1 AND wa_id = $2";
/* The conversation is found through the message, so that the optimistic
 * pass (which knows no ids) can use it too. */
static const char SQL_MESSAGE_CONV[] =
    "SELECT conversation_id FROM messages"
    " WHERE channel_id = $1 AND wa_id = $2 AND workspace_id = $3";
static const char SQL_MARK_URGENT[] =
    "UPDATE conversations SET urgent = 1 WHERE workspace_id = $1 AND id = $2";
static const char SQL_EVENT[] =
    "INSERT INTO conversation_events (workspace_id, conversation_id, kind, actor_id, data,"
    " created_us) VALUES ($1, $2, $3, NULL, $4, $5)";

static json_t *word_json(ic_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    ic_sql_json_col_str(o, "language", s, 1);
    ic_sql_json_col_str(o, "phrase", s, 2);
    ic_sql_json_time(o, "created_at", ic_sql_col_i64(s, 3));
    return o;
}

ic_err ic_store_urgency_words_each(ic_conn *c, int64_t ws,
                                   void (*fn)(int64_t id, const char *language, const char *phrase,
                                              void *arg),
                                   void *arg)
{
    ic_stmt *s = NULL;
    bool row = false;
    ic_err e = ic_sql_query(c, SQL_WORDS, IC_ARGS(IC_I64(ws)), &s);
    while (e == IC_OK && (e = ic_sql_step(s, &row)) == IC_OK && row)
        fn(ic_sql_col_i64(s, 0), ic_sql_col_text(s, 1), ic_sql_col_text(s, 2), arg);
    ic_sql_done(s);
    return e;
}

ic_err ic_store_urgency_words_json(ic_conn *c, int64_t ws, json_t **out)
{
    return ic_sql_all_json(c, SQL_WORDS, IC_ARGS(IC_I64(ws)), word_json, out);
}

ic_err ic_store_urgency_word_insert(ic_conn *tx, int64_t ws, const char *language,
                                    const char *phrase, json_t **out)
{
    int64_t id = 0;
    ic_err e = ic_sql_one_i64(
        tx, SQL_WORD_INSERT,
        IC_ARGS(IC_I64(ws), IC_TXT(language ? language : ""), IC_TXT(phrase), IC_I64(ic_now_us())),
        &id);
    if (e == IC_OK && out)
        e = ic_sql_get_json(tx, SQL_WORD_GET, ws, id, word_json, out);
    return e;
}

/* Runs a workspace-scoped DELETE of one row: IC_ERR_NOT_FOUND when none. */
static ic_err delete_one(ic_conn *tx, const char *sql, int64_t ws, int64_t id)
{
    int64_t changes = 0;
    ic_err e = ic_sql_run(tx, sql, IC_ARGS(IC_I64(ws), IC_I64(id)), &changes);
    if (e == IC_OK && changes == 0)
        e = IC_ERR_NOT_FOUND;
    return e;
}

ic_err ic_store_urgency_word_delete(ic_conn *tx, int64_t ws, int64_t id)
{
    return delete_one(tx, SQL_WORD_DELETE, ws, id);
}

ic_err ic_store_contact_language(ic_conn *c, int64_t ws, const char *wa_id, char *out, size_t size)
{
    ic_stmt *s = NULL;
    out[0] = '\0';
    ic_err e = ic_sql_row(c, SQL_CONTACT_LANG, IC_ARGS(IC_I64(ws), IC_TXT(wa_id)), &s);
    if (e == IC_ERR_NOT_FOUND)
        return IC_OK;
    if (e != IC_OK)
        return e;
    const char *lang = ic_sql_col_text(s, 0);
    if (lang)
        snprintf(out, size, "%s", lang);
    ic_sql_done(s);
    return IC_OK;
}

ic_err ic_store_conversation_mark_urgent(ic_conn *tx, int64_t ws, int64_t channel_id,
                                         const char *wa_id, const char *data_json, int64_t *conv)
{
    *conv = 0;
    ic_err e = ic_sql_one_i64(tx, SQL_MESSAGE_CONV,
                              IC_ARGS(IC_I64(channel_id), IC_TXT(wa_id), IC_I64(ws)), conv);
    if (e == IC_OK)
        e = ic_sql_run(tx, SQL_MARK_URGENT, IC_ARGS(IC_I64(ws), IC_I64(*conv)), NULL);
    if (e == IC_OK)
        e = ic_sql_run(tx, SQL_EVENT,
                       IC_ARGS(IC_I64(ws), IC_I64(*conv), IC_TXT("urgent"), IC_TXT(data_json),
                               IC_I64(ic_now_us())),
                       NULL);
    return e;
}

/* ---- automatic assignment ----------------------------------------------------------- */

static const char SQL_AUTO_TEAM[] = "SELECT id FROM teams WHERE workspace_id = $1"
                                    " AND auto_assign = 1 ORDER BY id LIMIT 1";
static const char SQL_FRESH[] =
    "SELECT COUNT(*) FROM conversations v WHERE v.workspace_id = $1 AND v.id = $2"
    " AND v.assignee_id IS NULL AND v.team_id IS NULL AND NOT EXISTS (SELECT 1 FROM messages m"
    " WHERE m.conversation_id = $3 AND m.id < $4)";
/* Members by id, those after the last one first; the open conversations
 * are counted through conversations_assignee. */
static const char SQL_PICK[] =
    "SELECT u.id FROM team_members tm JOIN users u ON u.id = tm.user_id"
    " JOIN teams t ON t.id = tm.team_id"
    " WHERE tm.team_id = $1 AND tm.workspace_id = $2 AND u.workspace_id = $2"
    " AND u.disabled_us = 0 AND (SELECT COUNT(*) FROM conversations v"
    " WHERE v.workspace_id = $2 AND v.assignee_id = u.id AND v.status = 'open') < u.capacity"
    " ORDER BY CASE WHEN u.id > t.last_assigned_user_id THEN 0 ELSE 1 END, u.id LIMIT 1";
static const char SQL_ASSIGN[] =
    "UPDATE conversations SET team_id = $1, assignee_id = $2, assigned_us = $3"
    " WHERE workspace_id = $4 AND id = $5";
static const char SQL_TEAM_LAST[] =
    "UPDATE teams SET last_assigned_user_id = $1 WHERE workspace_id = $2 AND id = $3";
ic_err ic_store_auto_team(ic_conn *c, int64_t ws, int64_t *team_id)
{
    *team_id = 0;
    ic_err e = ic_sql_one_i64(c, SQL_AUTO_TEAM, IC_ARGS(IC_I64(ws)), team_id);
    return e == IC_ERR_NOT_FOUND ? IC_OK : e;
}

ic_err ic_store_conversation_fresh(ic_conn *c, int64_t ws, int64_t conv, int64_t msg_id,
                                   bool *fresh)
{
    int64_t n = 0;
    ic_err e = ic_sql_one_i64(c, SQL_FRESH,
                              IC_ARGS(IC_I64(ws), IC_I64(conv), IC_I64(conv), IC_I64(msg_id)), &n);
    *fresh = e == IC_OK && n > 0;
    return e;
}

ic_err ic_store_auto_pick(ic_conn *c, int64_t ws, int64_t team, int64_t *user_id)
{
    *user_id = 0;
    ic_err e = ic_sql_one_i64(c, SQL_PICK, IC_ARGS(IC_I64(team), IC_I64(ws)), user_id);
    return e == IC_ERR_NOT_FOUND ? IC_OK : e;
}

ic_err ic_store_conversation_auto_assign(ic_conn *tx, int64_t ws, int64_t conv, int64_t team,
                                         int64_t user, int64_t now_us)
{
    ic_sql_arg who = user ? IC_I64(user) : IC_NUL;
    ic_err e = ic_sql_run(
        tx, SQL_ASSIGN,
        IC_ARGS(IC_I64(team), who, IC_I64(user ? now_us : 0), IC_I64(ws), IC_I64(conv)), NULL);
    if (e == IC_OK && user)
        e = ic_sql_run(tx, SQL_TEAM_LAST, IC_ARGS(IC_I64(user), IC_I64(ws), IC_I64(team)), NULL);
    if (e != IC_OK)
        return e;
    /* The shape of the inbox's own assign events (inbox_actions.c), plus
     * "auto". */
    char data[160], to_user[24] = "null";
    if (user)
        snprintf(to_user, sizeof to_user, "%lld", (long long)user);
    snprintf(data, sizeof data,
             "{\"auto\":true,\"from_user_id\":null,\"to_user_id\":%s,\"from_team_id\":null,"
             "\"to_team_id\":%lld}",
             to_user, (long long)team);
    return ic_sql_run(
        tx, SQL_EVENT,
        IC_ARGS(IC_I64(ws), IC_I64(conv), IC_TXT("assign"), IC_TXT(data), IC_I64(now_us)), NULL);
}

/* ---- canned replies ------------------------------------------------------------------ */

#define CANNED_COLS "id, shortcut, title, body, created_us, updated_us"
static const char SQL_CANNED_LIST[] = "SELECT " CANNED_COLS " FROM canned_replies"
                                      " WHERE workspace_id = $1 ORDER BY shortcut";
static const char SQL_CANNED_GET[] =
    "SELECT " CANNED_COLS " FROM canned_replies WHERE workspace_id = $1 AND id = $2";
static const char SQL_CANNED_INSERT[] =
    "INSERT INTO canned_replies (workspace_id, shortcut, title, body, created_us, updated_us)"
    " VALUES ($1, $2, $3, $4, $5, $5) RETURNING id";
static const char SQL_CANNED_UPDATE[] =
    "UPDATE canned_replies SET shortcut = COALESCE($1, shortcut), title = COALESCE($2, title),"
    " body = COALESCE($3, body), updated_us = $4 WHERE workspace_id = $5 AND id = $6";
static const char SQL_CANNED_DELETE[] =
    "DELETE FROM canned_replies WHERE workspace_id = $1 AND id = $2";
static const char SQL_RENDER_CTX[] =
    "SELECT k.name, w.name, (SELECT u.name FROM users u WHERE u.workspace_id = $1 AND u.id = $2)"
    " FROM conversations v JOIN contacts k ON k.id = v.contact_id"
    " JOIN workspaces w ON w.id = v.workspace_id WHERE v.workspace_id = $3 AND v.id = $4";

static json_t *canned_json(ic_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(ic_sql_col_i64(s, 0)));
    ic_sql_json_col_str(o, "shortcut", s, 1);
    ic_sql_json_col_str(o, "title", s, 2);
    ic_sql_json_col_str(o, "body", s, 3);
    ic_sql_json_time(o, "created_at", ic_sql_col_i64(s, 4));
    ic_sql_json_time(o, "updated_at", ic_sql_col_i64(s, 5));
    return o;
}

ic_err ic_store_canned_list_json(ic_conn *c, int64_t ws, json_t **out)
{
    return ic_sql_all_json(c, SQL_CANNED_LIST, IC_ARGS(IC_I64(ws)), canned_json, out);
}

ic_err ic_store_canned_get_json(ic_conn *c, int64_t ws, int64_t id, json_t **out)
{
    return ic_sql_get_json(c, SQL_CANNED_GET, ws, id, canned_json, out);
}

ic_err ic_store_canned_insert(ic_conn *tx, int64_t ws, const ic_canned *v, json_t **out)
{
    int64_t id = 0;
    ic_err e = ic_sql_one_i64(tx, SQL_CANNED_INSERT,
                              IC_ARGS(IC_I64(ws), IC_TXT(v->shortcut), IC_TXT(v->title),
                                      IC_TXT(v->body), IC_I64(ic_now_us())),
                              &id);
    if (e == IC_OK)
        e = ic_store_canned_get_json(tx, ws, id, out);
    return e;
}

ic_err ic_store_canned_update(ic_conn *tx, int64_t ws, int64_t id, const ic_canned *v, json_t **out)
{
    int64_t changes = 0;
    ic_err e = ic_sql_run(tx, SQL_CANNED_UPDATE,
                          IC_ARGS(IC_TXT(v->shortcut), IC_TXT(v->title), IC_TXT(v->body),
                                  IC_I64(ic_now_us()), IC_I64(ws), IC_I64(id)),
                          &changes);
    if (e == IC_OK && changes == 0)
        e = IC_ERR_NOT_FOUND;
    if (e == IC_OK)
        e = ic_store_canned_get_json(tx, ws, id, out);
    return e;
}

ic_err ic_store_canned_delete(ic_conn *tx, int64_t ws, int64_t id)
{
    return delete_one(tx, SQL_CANNED_DELETE, ws, id);
}

ic_err ic_store_render_context(ic_conn *c, int64_t ws, int64_t conv, int64_t user, json_t **out)
{
    ic_stmt *s = NULL;
    *out = NULL;
    ic_err e = ic_sql_row(c, SQL_RENDER_CTX,
                          IC_ARGS(IC_I64(ws), IC_I64(user), IC_I64(ws), IC_I64(conv)), &s);
    if (e != IC_OK)
        return e;
    *out = json_object();
    ic_sql_json_col_str(*out, "contact_name", s, 0);
    ic_sql_json_col_str(*out, "workspace_name", s, 1);
    ic_sql_json_col_str(*out, "operator_name", s, 2);
    ic_sql_done(s);
    return IC_OK;
}

/* ---- settings ------------------------------------------------------------------------- */

static const char SQL_SETTINGS_GET[] = "SELECT settings FROM workspaces WHERE id = $1";
static const char SQL_SETTINGS_SET[] = "UPDATE workspaces SET settings = $1 WHERE id = $2";

ic_err ic_store_settings_get(ic_conn *c, int64_t ws, json_t **out)
{
    ic_stmt *s = NULL;
    *out = NULL;
    ic_err e = ic_sql_row(c, SQL_SETTINGS_GET, IC_ARGS(IC_I64(ws)), &s);
    if (e != IC_OK)
        return e;
    const char *text = ic_sql_col_text(s, 0);
    *out = text ? json_loads(text, 0, NULL) : NULL;
    ic_sql_done(s);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = json_object();
    }
    return IC_OK;
}

ic_err ic_store_settings_set(ic_conn *tx, int64_t ws, const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT);
    if (!text)
        return IC_ERR_INTERNAL;
    int64_t changes = 0;
    ic_err e = ic_sql_run(tx, SQL_SETTINGS_SET, IC_ARGS(IC_TXT(text), IC_I64(ws)), &changes);
    free(text);
    if (e == IC_OK && changes == 0)
        e = IC_ERR_NOT_FOUND;
    return e;
}
