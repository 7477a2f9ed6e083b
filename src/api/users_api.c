/* users_api.c - the admin's users endpoints: GET /api/v1/users, POST
 * /api/v1/users, PATCH /api/v1/users/{id} and POST
 * /api/v1/users/{id}/password (a reset that also ends the user's
 * sessions). Admin role; a user of another workspace is 404. Password
 * hashes are never shown. */
#include "api/api.h"
#include "api/json_in.h"
#include "api/session_int.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "core/roles.h"

#include <sodium.h>
#include <string.h>

#define CAPACITY_MAX 100

static void list_users(ic_req *r, void *arg)
{
    ic_app *app = arg;
    ic_principal who;
    json_t *items = NULL;
    if (ic_api_authorize(r, app, IC_ROLE_OPERATOR, &who) != IC_OK)
        return;
    ic_err e = ic_store_users_json(ic_db_thread_conn(app->db), who.ws, &items);
    if (e != IC_OK) {
        ic_api_fail(r, e, NULL);
        return;
    }
    ic_req_respond_json(r, 200, ic_api_list_json(items, 0));
}

/* Reads an optional role member into out (IC_ROLE_NONE when absent). */
static ic_err get_role(const json_t *body, bool required, ic_role *out, ic_errmsg *em)
{
    const char *s = NULL;
    *out = IC_ROLE_NONE;
    ic_err e = ic_api_get_string(body, "role", required, 16, &s, em);
    if (e != IC_OK || !s)
        return e;
    if ((*out = ic_role_parse(s)) == IC_ROLE_NONE)
        return ic_errf(em, IC_ERR_INVALID,
                       "role must be \"admin\", \"supervisor\", \"operator\" or \"viewer\"");
    return IC_OK;
}

/* The answer of POST and PATCH: the user as GET /users lists it. */
static ic_err read_back(ic_conn *tx, ic_api_job *j)
{
    return ic_store_user_get_json(tx, j->ws, j->target_id, &j->w.answer);
}

/* ---- POST /api/v1/users ---------------------------------------------------------- */

static ic_err create_apply(ic_conn *tx, ic_api_job *j)
{
    ic_err e = ic_store_user_insert(tx, j->ws, j->email, j->name, j->role, j->hash, &j->target_id);
    if (e == IC_ERR_EXISTS)
        return ic_errf(&j->w.em, IC_ERR_EXISTS, "%s is already a user of this workspace", j->email);
    return e == IC_OK ? read_back(tx, j) : e;
}

static bool email_ok(const char *s)
{
    const char *at = strchr(s, '@');
    if (!at || at == s || !at[1] || strchr(at + 1, '@'))
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

static void create_user(ic_req *r, void *arg)
{
    ic_app *app = arg;
    static const char *const keys[] = {"email", "name", "role", "password", NULL};
    ic_principal who;
    json_t *body = NULL;
    const char *email = NULL, *name = NULL, *password = NULL;
    ic_role role;
    ic_errmsg em = {{0}};
    if (ic_api_authorize(r, app, IC_ROLE_ADMIN, &who) != IC_OK)
        return;
    ic_err e;
    if ((e = ic_api_read_object(r, keys, false, &body, &em)) != IC_OK ||
        (e = ic_api_get_string(body, "email", true, IC_USER_EMAIL_MAX, &email, &em)) != IC_OK ||
        (e = ic_api_get_string(body, "name", false, IC_USER_NAME_MAX, &name, &em)) != IC_OK ||
        (e = get_role(body, true, &role, &em)) != IC_OK ||
        (e = ic_session_get_password(body, "password", &password, &em)) != IC_OK) {
        json_decref(body);
        ic_api_fail(r, e, &em);
        return;
    }
    if (strlen(email) > IC_USER_EMAIL_MAX || !email_ok(email)) {
        json_decref(body);
        ic_req_error(r, 400, "bad_request", "email must be an email address of at most %d bytes",
                     IC_USER_EMAIL_MAX);
        return;
    }
    ic_api_job *j = ic_api_job_hashed(r, app, password);
    if (j) {
        ic_str_lower_ascii(email, j->email, sizeof j->email);
        ic_strlcpy(j->name, name ? name : j->email, sizeof j->name);
        ic_strlcpy(j->role, ic_role_name(role), sizeof j->role);
    }
    json_decref(body);
    if (!j)
        return;
    j->ws = who.ws;
    j->w.status = 201;
    j->apply = create_apply;
    IC_INFO("api_user_add", "rid=%s ws=%lld role=%s", ic_req_id(r), (long long)who.ws, j->role);
    ic_api_write_submit(&j->w);
}

/* ---- PATCH /api/v1/users/{id} -------------------------------------------------------- */

static ic_err patch_apply(ic_conn *tx, ic_api_job *j)
{
    ic_err e = ic_store_user_update(tx, j->ws, j->target_id, &j->change, j->now);
    return e == IC_OK ? read_back(tx, j) : e;
}

/* Reads the optional boolean "disabled" into *out (-1 when absent). */
static ic_err get_disabled(const json_t *body, int *out, ic_errmsg *em)
{
    json_t *v = json_object_get(body, "disabled");
    *out = -1;
    if (!v || json_is_null(v))
        return IC_OK;
    if (!json_is_boolean(v))
        return ic_errf(em, IC_ERR_INVALID, "disabled must be true or false");
    *out = json_is_true(v) ? 1 : 0;
    return IC_OK;
}

static void patch_user(ic_req *r, void *arg)
{
    ic_app *app = arg;
    static const char *const keys[] = {"name", "role", "disabled", "capacity", NULL};
    ic_principal who;
    json_t *body = NULL;
    const char *name = NULL;
    ic_role role;
    int disabled = -1;
    int64_t id = 0, capacity = -1;
    ic_errmsg em = {{0}};
    if (ic_api_authorize(r, app, IC_ROLE_ADMIN, &who) != IC_OK)
        return;
    if (ic_api_parse_id(ic_req_param(r, "id"), &id) != IC_OK) {
        ic_api_fail(r, IC_ERR_NOT_FOUND, NULL);
        return;
    }
    ic_err e;
    if ((e = ic_api_read_object(r, keys, false, &body, &em)) != IC_OK ||
        (e = ic_api_get_string(body, "name", false, IC_USER_NAME_MAX, &name, &em)) != IC_OK ||
        (e = get_role(body, false, &role, &em)) != IC_OK ||
        (e = get_disabled(body, &disabled, &em)) != IC_OK ||
        (e = ic_api_get_int(body, "capacity", false, 0, CAPACITY_MAX, &capacity, &em)) != IC_OK) {
        json_decref(body);
        ic_api_fail(r, e, &em);
        return;
    }
    if (id == who.user_id && ((role != IC_ROLE_NONE && role != IC_ROLE_ADMIN) || disabled == 1)) {
        json_decref(body);
        ic_req_error(r, 409, "conflict",
                     "you cannot demote or disable yourself: ask another admin");
        return;
    }
    ic_api_job *j = ic_api_job_new(r, app);
    if (name) {
        ic_strlcpy(j->name, name, sizeof j->name);
        j->change.name = j->name;
    }
    if (role != IC_ROLE_NONE) {
        ic_strlcpy(j->role, ic_role_name(role), sizeof j->role);
        j->change.role = j->role;
    }
    j->change.disabled = disabled;
    j->change.capacity = capacity;
    json_decref(body);
    j->ws = who.ws;
    j->target_id = id;
    j->now = ic_now_us();
    j->apply = patch_apply;
    IC_INFO("api_user_change", "rid=%s ws=%lld user=%lld", ic_req_id(r), (long long)who.ws,
            (long long)id);
    ic_api_write_submit(&j->w);
}

/* ---- POST /api/v1/users/{id}/password ---------------------------------------------- */

static ic_err reset_apply(ic_conn *tx, ic_api_job *j)
{
    ic_err e = ic_store_user_set_password(tx, j->ws, j->target_id, j->hash, j->now);
    return e == IC_OK ? ic_store_user_end_sessions(tx, j->ws, j->target_id, j->now) : e;
}

static void reset_password(ic_req *r, void *arg)
{
    ic_app *app = arg;
    static const char *const keys[] = {"new_password", NULL};
    ic_principal who;
    json_t *body = NULL;
    const char *password = NULL;
    int64_t id = 0;
    ic_errmsg em = {{0}};
    if (ic_api_authorize(r, app, IC_ROLE_ADMIN, &who) != IC_OK)
        return;
    if (ic_api_parse_id(ic_req_param(r, "id"), &id) != IC_OK) {
        ic_api_fail(r, IC_ERR_NOT_FOUND, NULL);
        return;
    }
    ic_err e = ic_api_read_object(r, keys, false, &body, &em);
    if (e == IC_OK)
        e = ic_session_get_password(body, "new_password", &password, &em);
    ic_api_job *j = NULL;
    if (e != IC_OK)
        ic_api_fail(r, e, &em);
    else
        j = ic_api_job_hashed(r, app, password);
    json_decref(body);
    if (!j)
        return;
    j->ws = who.ws;
    j->target_id = id;
    j->now = ic_now_us();
    j->apply = reset_apply;
    IC_INFO("api_user_password_reset", "rid=%s ws=%lld user=%lld", ic_req_id(r), (long long)who.ws,
            (long long)id);
    ic_api_write_submit(&j->w);
}

void ic_api_users_routes(ic_http *h, ic_app *app)
{
    size_t max = ic_api_json_max_body(app);
    ic_http_route(h, "GET", "/api/v1/users", 0, list_users, app);
    ic_http_route(h, "POST", "/api/v1/users", max, create_user, app);
    ic_http_route(h, "PATCH", "/api/v1/users/{id}", max, patch_user, app);
    ic_http_route(h, "POST", "/api/v1/users/{id}/password", max, reset_password, app);
}
