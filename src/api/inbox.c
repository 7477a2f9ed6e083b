/* inbox.c - what operators do to a conversation over the REST API: POST
 * /api/v1/conversations/{id}/assign, /transfer, /close, /reopen, /labels,
 * DELETE .../labels/{label_id}, POST and GET .../notes, GET .../events.
 * Writes go through the writer and are answered once durable with the
 * conversation as the list shows it; the per-user rules are the store's
 * (store/inbox.h), checked inside the same transaction as the change. */
#include "api/api.h"
#include "api/inbox_int.h"
#include "api/json_in.h"
#include "core/live.h"

#include "base/alloc.h"
#include "base/str.h"

#include <string.h>

/* The answer of a conversation action: the conversation after it. */
static ic_err answer_conversation(ic_conn *tx, ic_inbox_job *j)
{
    j->conversation = true;
    return ic_inbox_conversation_get(tx, j->who.ws, j->id, &j->w.answer);
}

/* Explains the store's refusals of an assignment. */
static ic_err assign_error(ic_inbox_job *j, ic_err e)
{
    if (e == IC_ERR_FORBIDDEN)
        return ic_errf(&j->w.em, e,
                       "operators may only take a conversation for themselves (if it is not "
                       "someone else's) or release their own, within its team");
    if (e == IC_ERR_INVALID)
        return ic_errf(&j->w.em, e, "that user is disabled");
    if (e == IC_ERR_EXISTS)
        return ic_errf(&j->w.em, e,
                       "the conversation was assigned meanwhile; load it and try again");
    return e;
}

static ic_err run_assign(ic_conn *tx, ic_inbox_job *j)
{
    ic_err e = ic_inbox_assign(tx, &j->who, j->id, j->a, j->b, j->flag, j->text);
    if (e != IC_OK)
        return assign_error(j, e);
    return answer_conversation(tx, j);
}

/* The conversation id of the path, or a 404. */
static bool path_id(ic_req *r, const char *name, int64_t *id)
{
    if (ic_api_parse_id(ic_req_param(r, name), id) == IC_OK)
        return true;
    ic_api_fail(r, IC_ERR_NOT_FOUND, NULL);
    return false;
}

/* POST .../assign {user_id, team_id} and .../transfer {..., note}: an
 * absent member keeps the current value, null clears it. */
static void assign_or_transfer(ic_req *r, void *arg, ic_handler self, bool transfer)
{
    ic_app *app = arg;
    static const char *const assign_keys[] = {"user_id", "team_id", NULL};
    static const char *const transfer_keys[] = {"user_id", "team_id", "note", NULL};
    int64_t id = 0, user = -1, team = -1;
    const char *note = NULL;
    json_t *body = NULL;
    ic_errmsg em = {{0}};
    ic_principal who;
    if (ic_api_inbox_auth(r, app, self, &who) != IC_OK || !path_id(r, "id", &id))
        return;
    ic_err e = ic_api_read_object(r, transfer ? transfer_keys : assign_keys, false, &body, &em);
    if (e == IC_OK)
        e = ic_api_inbox_opt_id(body, "user_id", &user, &em);
    if (e == IC_OK)
        e = ic_api_inbox_opt_id(body, "team_id", &team, &em);
    if (e == IC_OK && transfer)
        e = ic_api_get_string(body, "note", false, IC_INBOX_NOTE_MAX, &note, &em);
    if (e == IC_OK && user < 0 && team < 0)
        e = ic_errf(&em, IC_ERR_INVALID, "give user_id, team_id or both");
    if (e != IC_OK) {
        json_decref(body);
        ic_api_fail(r, e, &em);
        return;
    }
    ic_inbox_job *j = ic_api_inbox_job_new(r, app, &who, run_assign);
    j->live = IC_LIVE_CONVERSATION_ASSIGNED;
    j->id = id;
    j->a = user;
    j->b = team;
    j->flag = transfer;
    j->text = note ? ic_strdup(note) : NULL;
    json_decref(body);
    ic_api_write_submit(&j->w);
}

static void assign(ic_req *r, void *arg)
{
    assign_or_transfer(r, arg, assign, false);
}

static void transfer(ic_req *r, void *arg)
{
    assign_or_transfer(r, arg, transfer, true);
}

static ic_err run_set_open(ic_conn *tx, ic_inbox_job *j)
{
    ic_err e = ic_inbox_set_open(tx, &j->who, j->id, j->flag);
    if (e == IC_ERR_FORBIDDEN)
        return ic_errf(&j->w.em, e,
                       "operators may only close or reopen conversations that are unassigned "
                       "or their own");
    if (e == IC_ERR_EXISTS)
        return ic_errf(&j->w.em, e,
                       "the person has another open conversation on this channel; close it "
                       "first");
    if (e != IC_OK)
        return e;
    return answer_conversation(tx, j);
}

static void set_open(ic_req *r, void *arg, ic_handler self, bool open)
{
    static const char *const keys[] = {NULL};
    ic_app *app = arg;
    int64_t id = 0;
    json_t *body = NULL;
    ic_errmsg em = {{0}};
    ic_principal who;
    if (ic_api_inbox_auth(r, app, self, &who) != IC_OK || !path_id(r, "id", &id))
        return;
    ic_err e = ic_api_read_object(r, keys, true, &body, &em);
    json_decref(body);
    if (e != IC_OK) {
        ic_api_fail(r, e, &em);
        return;
    }
    ic_inbox_job *j = ic_api_inbox_job_new(r, app, &who, run_set_open);
    j->live = IC_LIVE_CONVERSATION_UPDATED;
    j->id = id;
    j->flag = open;
    ic_api_write_submit(&j->w);
}

static void close_conv(ic_req *r, void *arg)
{
    set_open(r, arg, close_conv, false);
}

static void reopen_conv(ic_req *r, void *arg)
{
    set_open(r, arg, reopen_conv, true);
}

static ic_err run_label(ic_conn *tx, ic_inbox_job *j)
{
    ic_err e = ic_inbox_label_set(tx, &j->who, j->id, j->a, j->flag);
    if (e != IC_OK)
        return e;
    return answer_conversation(tx, j);
}

static void label_add(ic_req *r, void *arg)
{
    static const char *const keys[] = {"label_id", NULL};
    ic_app *app = arg;
    int64_t id = 0, label = 0;
    json_t *body = NULL;
    ic_errmsg em = {{0}};
    ic_principal who;
    if (ic_api_inbox_auth(r, app, label_add, &who) != IC_OK || !path_id(r, "id", &id))
        return;
    ic_err e = ic_api_read_object(r, keys, false, &body, &em);
    if (e == IC_OK)
        e = ic_api_get_int(body, "label_id", true, 1, INT64_MAX, &label, &em);
    json_decref(body);
    if (e != IC_OK) {
        ic_api_fail(r, e, &em);
        return;
    }
    ic_inbox_job *j = ic_api_inbox_job_new(r, app, &who, run_label);
    j->live = IC_LIVE_CONVERSATION_UPDATED;
    j->id = id;
    j->a = label;
    j->flag = true;
    ic_api_write_submit(&j->w);
}

static void label_remove(ic_req *r, void *arg)
{
    ic_app *app = arg;
    int64_t id = 0, label = 0;
    ic_principal who;
    if (ic_api_inbox_auth(r, app, label_remove, &who) != IC_OK || !path_id(r, "id", &id) ||
        !path_id(r, "label_id", &label))
        return;
    ic_inbox_job *j = ic_api_inbox_job_new(r, app, &who, run_label);
    j->live = IC_LIVE_CONVERSATION_UPDATED;
    j->id = id;
    j->a = label;
    j->flag = false;
    ic_api_write_submit(&j->w);
}

/* ---- notes and history -------------------------------------------------------- */

static ic_err run_note(ic_conn *tx, ic_inbox_job *j)
{
    int64_t note = 0, next = 0;
    ic_err e = ic_inbox_note_add(tx, &j->who, j->id, j->text, j->doc, &note);
    if (e == IC_ERR_INVALID)
        return ic_errf(&j->w.em, e,
                       "notes are written by signed-in users (an API token is not one), and "
                       "user_ids must be ids of users");
    if (e == IC_ERR_NOT_FOUND && j->doc)
        ic_errf(&j->w.em, e, "the conversation or a user of user_ids was not found");
    if (e != IC_OK)
        return e;
    json_t *items = NULL;
    e = ic_inbox_notes_list(tx, j->who.ws, j->id, note + 1, 1, &items, &next);
    if (e != IC_OK)
        return e;
    j->w.answer = json_incref(json_array_get(items, 0));
    json_decref(items);
    j->w.status = 201;
    return j->w.answer ? IC_OK : IC_ERR_INTERNAL;
}

static void note_add(ic_req *r, void *arg)
{
    static const char *const keys[] = {"body", "user_ids", NULL};
    ic_app *app = arg;
    int64_t id = 0;
    const char *text = NULL;
    json_t *body = NULL;
    ic_errmsg em = {{0}};
    ic_principal who;
    if (ic_api_inbox_auth(r, app, note_add, &who) != IC_OK || !path_id(r, "id", &id))
        return;
    ic_err e = ic_api_read_object(r, keys, false, &body, &em);
    if (e == IC_OK)
        e = ic_api_get_string(body, "body", true, IC_INBOX_NOTE_MAX, &text, &em);
    json_t *ids = json_object_get(body, "user_ids");
    if (e == IC_OK && ids && !json_is_null(ids) &&
        (!json_is_array(ids) || json_array_size(ids) > IC_INBOX_MENTIONS_MAX))
        e = ic_errf(&em, IC_ERR_INVALID, "user_ids must be an array of at most %d user ids",
                    IC_INBOX_MENTIONS_MAX);
    if (e == IC_OK && who.user_id == 0)
        e = ic_errf(&em, IC_ERR_INVALID,
                    "notes are written by signed-in users; an API token cannot write one");
    if (e != IC_OK) {
        json_decref(body);
        ic_api_fail(r, e, &em);
        return;
    }
    ic_inbox_job *j = ic_api_inbox_job_new(r, app, &who, run_note);
    j->live = IC_LIVE_NOTE_CREATED;
    j->id = id;
    j->text = ic_strdup(text);
    j->doc = json_is_array(ids) ? json_incref(ids) : NULL;
    json_decref(body);
    ic_api_write_submit(&j->w);
}

typedef ic_err (*history_fn)(ic_conn *c, int64_t ws, int64_t conv, int64_t cursor, int limit,
                             json_t **items, int64_t *next);

static void history(ic_req *r, ic_app *app, ic_handler self, history_fn list)
{
    int64_t id = 0, cursor = 0, next = 0;
    int limit = 0;
    json_t *items = NULL;
    ic_errmsg em = {{0}};
    ic_principal who;
    if (ic_api_inbox_auth(r, app, self, &who) != IC_OK || !path_id(r, "id", &id))
        return;
    ic_err e = ic_api_page(r, &limit, &cursor, &em);
    if (e == IC_OK)
        e = list(ic_db_thread_conn(app->db), who.ws, id, cursor, limit, &items, &next);
    if (e != IC_OK) {
        ic_api_fail(r, e, &em);
        return;
    }
    ic_req_respond_json(r, 200, ic_api_list_json(items, next));
}

static void notes_list(ic_req *r, void *arg)
{
    history(r, arg, notes_list, ic_inbox_notes_list);
}

static void events_list(ic_req *r, void *arg)
{
    history(r, arg, events_list, ic_inbox_events_list);
}

#define CONV "/api/v1/conversations/{id}"

const ic_api_inbox_route ic_api_inbox_action_table[] = {
    {"POST", CONV "/assign", IC_ROLE_OPERATOR, assign, true},
    {"POST", CONV "/transfer", IC_ROLE_OPERATOR, transfer, true},
    {"POST", CONV "/close", IC_ROLE_OPERATOR, close_conv, true},
    {"POST", CONV "/reopen", IC_ROLE_OPERATOR, reopen_conv, true},
    {"POST", CONV "/labels", IC_ROLE_OPERATOR, label_add, true},
    {"DELETE", CONV "/labels/{label_id}", IC_ROLE_OPERATOR, label_remove, false},
    {"POST", CONV "/notes", IC_ROLE_OPERATOR, note_add, true},
    {"GET", CONV "/notes", IC_ROLE_VIEWER, notes_list, false},
    {"GET", CONV "/events", IC_ROLE_VIEWER, events_list, false},
};
const size_t ic_api_inbox_action_count =
    sizeof ic_api_inbox_action_table / sizeof ic_api_inbox_action_table[0];

void ic_api_inbox_routes(ic_http *h, ic_app *app)
{
    ic_api_inbox_register(h, app, ic_api_inbox_action_table, ic_api_inbox_action_count);
    ic_api_inbox_admin_routes(h, app);
}
