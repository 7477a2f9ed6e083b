/* inbox_admin.c - a workspace's teams (GET for everyone, changes for
 * admins) and labels (GET for everyone, changes for supervisors and admins):
 * /api/v1/teams, /api/v1/teams/{id}, /api/v1/teams/{id}/members,
 * /api/v1/labels and /api/v1/labels/{id}. Writes go through the writer;
 * each job reads its validated body (j->doc). */
#include "api/api.h"
#include "api/inbox_int.h"
#include "api/json_in.h"

#include <string.h>

#define NAME_MAX_CHARS 100
#define MEMBERS_MAX 500

static const char *str_of(const json_t *doc, const char *key)
{
    return json_string_value(json_object_get(doc, key));
}

/* auto_assign of doc: 1, 0, or -1 when absent. */
static int auto_assign_of(const json_t *doc)
{
    json_t *v = json_object_get(doc, "auto_assign");
    return json_is_boolean(v) ? json_is_true(v) : -1;
}

/* Validates a team or label body: name (required when creating), color or
 * auto_assign. */
static ic_err check_body(const json_t *doc, bool creating, ic_errmsg *em)
{
    const char *name = NULL, *color = NULL;
    ic_err e = ic_api_get_string(doc, "name", creating, NAME_MAX_CHARS, &name, em);
    if (e == IC_OK && json_is_null(json_object_get(doc, "name")))
        e = ic_errf(em, IC_ERR_INVALID, "name cannot be null");
    if (e == IC_OK)
        e = ic_api_get_string(doc, "color", false, 7, &color, em);
    if (e == IC_OK && color) {
        bool ok = strlen(color) == 7 && color[0] == '#';
        for (int i = 1; ok && i < 7; i++)
            ok = strchr("0123456789abcdefABCDEF", color[i]) != NULL;
        if (!ok)
            e = ic_errf(em, IC_ERR_INVALID, "color must be \"#rrggbb\" (hexadecimal)");
    }
    json_t *aa = json_object_get(doc, "auto_assign");
    if (e == IC_OK && aa && !json_is_boolean(aa))
        e = ic_errf(em, IC_ERR_INVALID, "auto_assign must be true or false");
    return e;
}

static ic_err name_taken(ic_inbox_job *j, ic_err e)
{
    if (e == IC_ERR_EXISTS)
        return ic_errf(&j->w.em, e, "that name is taken in this workspace");
    return e;
}

/* ---- teams ------------------------------------------------------------------- */

static ic_err run_team_create(ic_conn *tx, ic_inbox_job *j)
{
    j->teams_changed = true;
    ic_err e = name_taken(j, ic_inbox_team_insert(tx, j->who.ws, str_of(j->doc, "name"), &j->id));
    if (e == IC_OK && auto_assign_of(j->doc) >= 0)
        e = ic_inbox_team_update(tx, j->who.ws, j->id, NULL, auto_assign_of(j->doc));
    if (e == IC_OK && (e = ic_inbox_team_get(tx, j->who.ws, j->id, &j->w.answer)) == IC_OK)
        j->w.status = 201;
    return e;
}

static ic_err run_team_update(ic_conn *tx, ic_inbox_job *j)
{
    j->teams_changed = true;
    ic_err e = name_taken(j, ic_inbox_team_update(tx, j->who.ws, j->id, str_of(j->doc, "name"),
                                                  auto_assign_of(j->doc)));
    return e == IC_OK ? ic_inbox_team_get(tx, j->who.ws, j->id, &j->w.answer) : e;
}

static ic_err run_team_delete(ic_conn *tx, ic_inbox_job *j)
{
    j->teams_changed = true;
    return ic_inbox_team_delete(tx, j->who.ws, j->id);
}

static ic_err run_team_members(ic_conn *tx, ic_inbox_job *j)
{
    j->teams_changed = true;
    ic_err e = ic_inbox_team_set_members(tx, j->who.ws, j->id, json_object_get(j->doc, "user_ids"));
    if (e == IC_ERR_NOT_FOUND)
        ic_errf(&j->w.em, e, "the team or a user of user_ids was not found");
    return e == IC_OK ? ic_inbox_team_get(tx, j->who.ws, j->id, &j->w.answer) : e;
}

/* Authorizes, reads the path id (when with_id) and the body (checked by
 * check when given), then submits run. */
static void submit(ic_req *r, ic_app *app, ic_handler self, bool with_id, const char *const *keys,
                   ic_err (*check)(const json_t *doc, ic_errmsg *em),
                   ic_err (*run)(ic_conn *tx, ic_inbox_job *j))
{
    int64_t id = 0;
    json_t *doc = NULL;
    ic_errmsg em = {{0}};
    ic_principal who;
    if (ic_api_inbox_auth(r, app, self, &who) != IC_OK)
        return;
    if (with_id && ic_api_parse_id(ic_req_param(r, "id"), &id) != IC_OK) {
        ic_api_fail(r, IC_ERR_NOT_FOUND, NULL);
        return;
    }
    ic_err e = keys ? ic_api_read_object(r, keys, false, &doc, &em) : IC_OK;
    if (e == IC_OK && check)
        e = check(doc, &em);
    if (e != IC_OK) {
        json_decref(doc);
        ic_api_fail(r, e, &em);
        return;
    }
    ic_inbox_job *j = ic_api_inbox_job_new(r, app, &who, run);
    j->id = id;
    j->doc = doc;
    ic_api_write_submit(&j->w);
}

static ic_err check_create(const json_t *doc, ic_errmsg *em)
{
    return check_body(doc, true, em);
}

static ic_err check_update(const json_t *doc, ic_errmsg *em)
{
    return check_body(doc, false, em);
}

static ic_err check_members(const json_t *doc, ic_errmsg *em)
{
    json_t *ids = json_object_get(doc, "user_ids");
    if (!json_is_array(ids) || json_array_size(ids) > MEMBERS_MAX)
        return ic_errf(em, IC_ERR_INVALID, "user_ids must be an array of at most %d user ids",
                       MEMBERS_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return ic_errf(em, IC_ERR_INVALID, "user_ids must hold positive integer ids");
    }
    return IC_OK;
}

static const char *const TEAM_KEYS[] = {"name", "auto_assign", NULL};
static const char *const LABEL_KEYS[] = {"name", "color", NULL};
static const char *const MEMBER_KEYS[] = {"user_ids", NULL};

static void teams_list(ic_req *r, void *arg)
{
    ic_app *app = arg;
    json_t *items = NULL;
    ic_principal who;
    if (ic_api_inbox_auth(r, app, teams_list, &who) != IC_OK)
        return;
    ic_err e = ic_inbox_teams_list(ic_db_thread_conn(app->db), who.ws, &items);
    if (e != IC_OK) {
        ic_api_fail(r, e, NULL);
        return;
    }
    ic_req_respond_json(r, 200, ic_api_list_json(items, 0));
}

static void team_create(ic_req *r, void *arg)
{
    submit(r, arg, team_create, false, TEAM_KEYS, check_create, run_team_create);
}

static void team_update(ic_req *r, void *arg)
{
    submit(r, arg, team_update, true, TEAM_KEYS, check_update, run_team_update);
}

static void team_delete(ic_req *r, void *arg)
{
    submit(r, arg, team_delete, true, NULL, NULL, run_team_delete);
}

static void team_members(ic_req *r, void *arg)
{
    submit(r, arg, team_members, true, MEMBER_KEYS, check_members, run_team_members);
}

/* ---- labels ------------------------------------------------------------------ */

static ic_err run_label_create(ic_conn *tx, ic_inbox_job *j)
{
    ic_err e = name_taken(j, ic_inbox_label_insert(tx, j->who.ws, str_of(j->doc, "name"),
                                                   str_of(j->doc, "color"), &j->id));
    if (e == IC_OK && (e = ic_inbox_label_get(tx, j->who.ws, j->id, &j->w.answer)) == IC_OK)
        j->w.status = 201;
    return e;
}

static ic_err run_label_update(ic_conn *tx, ic_inbox_job *j)
{
    ic_err e = name_taken(j, ic_inbox_label_update(tx, j->who.ws, j->id, str_of(j->doc, "name"),
                                                   str_of(j->doc, "color")));
    return e == IC_OK ? ic_inbox_label_get(tx, j->who.ws, j->id, &j->w.answer) : e;
}

static ic_err run_label_delete(ic_conn *tx, ic_inbox_job *j)
{
    return ic_inbox_label_delete(tx, j->who.ws, j->id);
}

static void labels_list(ic_req *r, void *arg)
{
    ic_app *app = arg;
    json_t *items = NULL;
    ic_principal who;
    if (ic_api_inbox_auth(r, app, labels_list, &who) != IC_OK)
        return;
    ic_err e = ic_inbox_labels_list(ic_db_thread_conn(app->db), who.ws, &items);
    if (e != IC_OK) {
        ic_api_fail(r, e, NULL);
        return;
    }
    ic_req_respond_json(r, 200, ic_api_list_json(items, 0));
}

static void label_create(ic_req *r, void *arg)
{
    submit(r, arg, label_create, false, LABEL_KEYS, check_create, run_label_create);
}

static void label_update(ic_req *r, void *arg)
{
    submit(r, arg, label_update, true, LABEL_KEYS, check_update, run_label_update);
}

static void label_delete(ic_req *r, void *arg)
{
    submit(r, arg, label_delete, true, NULL, NULL, run_label_delete);
}

const ic_api_inbox_route ic_api_inbox_admin_table[] = {
    {"GET", "/api/v1/teams", IC_ROLE_VIEWER, teams_list, false},
    {"POST", "/api/v1/teams", IC_ROLE_ADMIN, team_create, true},
    {"PATCH", "/api/v1/teams/{id}", IC_ROLE_ADMIN, team_update, true},
    {"DELETE", "/api/v1/teams/{id}", IC_ROLE_ADMIN, team_delete, false},
    {"PUT", "/api/v1/teams/{id}/members", IC_ROLE_ADMIN, team_members, true},
    {"GET", "/api/v1/labels", IC_ROLE_VIEWER, labels_list, false},
    {"POST", "/api/v1/labels", IC_ROLE_SUPERVISOR, label_create, true},
    {"PATCH", "/api/v1/labels/{id}", IC_ROLE_SUPERVISOR, label_update, true},
    {"DELETE", "/api/v1/labels/{id}", IC_ROLE_SUPERVISOR, label_delete, false},
};
const size_t ic_api_inbox_admin_count =
    sizeof ic_api_inbox_admin_table / sizeof ic_api_inbox_admin_table[0];

void ic_api_inbox_admin_routes(ic_http *h, ic_app *app)
{
    ic_api_inbox_register(h, app, ic_api_inbox_admin_table, ic_api_inbox_admin_count);
}
