/* routing.c - the routing API's route table, its writes through the
 * writer, urgency words and workspace settings (canned replies are in
 * canned.c). See docs/drafts/routing.md. */
#include "api/routing.h"

#include "api/api.h"
#include "api/json_in.h"
#include "api/routing_int.h"

#include "core/business_hours.h"
#include "core/urgency.h"

#include <string.h>

#define PHRASE_MAX_CHARS 100
#define LANGUAGE_MAX 35
#define SMALL_BODY 16384

static void words_list(ic_req *r, void *arg);
static void word_create(ic_req *r, void *arg);
static void word_delete(ic_req *r, void *arg);
static void settings_get(ic_req *r, void *arg);
static void settings_patch(ic_req *r, void *arg);

typedef struct route {
    const char *method, *pattern;
    ic_role role;
    size_t max_body;
    ic_handler fn;
} route;

/* Every route with the least role it needs (docs/drafts/routing.md). */
static const route ROUTES[] = {
    {"GET", "/api/v1/canned-replies", IC_ROLE_VIEWER, 0, canned_list},
    {"POST", "/api/v1/canned-replies", IC_ROLE_SUPERVISOR, SMALL_BODY, canned_create},
    {"GET", "/api/v1/canned-replies/{id}", IC_ROLE_VIEWER, 0, canned_get},
    {"PATCH", "/api/v1/canned-replies/{id}", IC_ROLE_SUPERVISOR, SMALL_BODY, canned_update},
    {"DELETE", "/api/v1/canned-replies/{id}", IC_ROLE_SUPERVISOR, 0, canned_delete},
    {"POST", "/api/v1/canned-replies/{id}/render", IC_ROLE_OPERATOR, 1024, canned_render},
    {"GET", "/api/v1/urgency-words", IC_ROLE_SUPERVISOR, 0, words_list},
    {"POST", "/api/v1/urgency-words", IC_ROLE_ADMIN, 1024, word_create},
    {"DELETE", "/api/v1/urgency-words/{id}", IC_ROLE_ADMIN, 0, word_delete},
    {"GET", "/api/v1/settings", IC_ROLE_VIEWER, 0, settings_get},
    {"PATCH", "/api/v1/settings", IC_ROLE_ADMIN, SMALL_BODY, settings_patch},
};
#define NROUTES (sizeof ROUTES / sizeof ROUTES[0])

void ic_api_routing_routes(ic_http *h, ic_app *app)
{
    for (size_t i = 0; i < NROUTES; i++)
        ic_http_route(h, ROUTES[i].method, ROUTES[i].pattern, ROUTES[i].max_body, ROUTES[i].fn,
                      app);
}

ic_role ic_api_routing_role(const char *method, const char *pattern)
{
    for (size_t i = 0; i < NROUTES; i++)
        if (method && pattern && strcmp(ROUTES[i].method, method) == 0 &&
            strcmp(ROUTES[i].pattern, pattern) == 0)
            return ROUTES[i].role;
    return IC_ROLE_NONE;
}

bool routing_allow(ic_req *r, ic_app *app, ic_handler self, ic_principal *who)
{
    ic_role role = IC_ROLE_ADMIN; /* a handler missing from the table: the safest */
    for (size_t i = 0; i < NROUTES; i++)
        if (ROUTES[i].fn == self)
            role = ROUTES[i].role;
    return ic_api_authorize(r, app, role, who) == IC_OK;
}

/* ---- writes ------------------------------------------------------------------------- */

static ic_err job_run(ic_conn *tx, ic_api_write *w)
{
    routing_job *j = (routing_job *)w;
    return j->apply(tx, j);
}

static void job_release(ic_api_write *w)
{
    json_decref(((routing_job *)w)->body);
}

routing_job *routing_job_new(ic_req *r, ic_app *app, int64_t ws, json_t *body,
                             routing_apply_fn apply, int status)
{
    routing_job *j = (routing_job *)ic_api_write_new(sizeof *j, r, app, job_run);
    j->w.release = job_release;
    j->w.status = status;
    j->ws = ws;
    j->body = body;
    j->apply = apply;
    return j;
}

/* ---- urgency words ----------------------------------------------------------------- */

static void words_list(ic_req *r, void *arg)
{
    ic_app *app = arg;
    ic_principal who;
    json_t *items = NULL;
    if (!routing_allow(r, app, words_list, &who))
        return;
    ic_err e = ic_store_urgency_words_json(ic_db_thread_conn(app->db), who.ws, &items);
    if (e != IC_OK) {
        ic_api_fail(r, e, NULL);
        return;
    }
    ic_req_respond_json(r, 200, ic_api_list_json(items, 0));
}

/* After a commit: this node rereads the workspace's urgency words. */
static void words_changed(ic_api_write *w)
{
    ic_urgency_invalidate(((routing_job *)w)->ws);
}

static ic_err word_insert_apply(ic_conn *tx, routing_job *j)
{
    return ic_store_urgency_word_insert(tx, j->ws, j->language, j->phrase, &j->w.answer);
}

static ic_err word_delete_apply(ic_conn *tx, routing_job *j)
{
    return ic_store_urgency_word_delete(tx, j->ws, j->id);
}

/* "" or a language tag: letters, digits, '-' and '_', starting with a
 * letter. */
static bool language_ok(const char *s)
{
    if (!*s)
        return true;
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

static void word_create(ic_req *r, void *arg)
{
    ic_app *app = arg;
    static const char *const keys[] = {"language", "phrase", NULL};
    ic_principal who;
    ic_errmsg em = {{0}};
    const char *language = NULL, *phrase = NULL;
    if (!routing_allow(r, app, word_create, &who))
        return;
    json_t *body = NULL;
    ic_err e = ic_api_read_object(r, keys, false, &body, &em);
    if (e == IC_OK)
        e = ic_api_get_string(body, "phrase", true, PHRASE_MAX_CHARS, &phrase, &em);
    if (e == IC_OK) {
        json_t *v = json_object_get(body, "language");
        language = v && !json_is_null(v) ? json_string_value(v) : "";
        if (!language || strlen(language) > LANGUAGE_MAX || !language_ok(language))
            e = ic_errf(&em, IC_ERR_INVALID,
                        "language must be \"\" (any) or a language tag such as \"zu\" or "
                        "\"pt-BR\" of at most %d characters",
                        LANGUAGE_MAX);
    }
    if (e == IC_OK) {
        char folded[2 * 4 * PHRASE_MAX_CHARS + 1];
        if (ic_urgency_fold(phrase, strlen(phrase), folded) == 0)
            e = ic_errf(&em, IC_ERR_INVALID, "phrase must contain a letter or a digit");
    }
    if (e != IC_OK) {
        json_decref(body);
        ic_api_fail(r, e, &em);
        return;
    }
    routing_job *j = routing_job_new(r, app, who.ws, body, word_insert_apply, 201);
    j->language = language;
    j->phrase = phrase;
    j->w.conflict = "this phrase is already in the list for that language";
    j->w.after = words_changed;
    ic_api_write_submit(&j->w);
}

static void word_delete(ic_req *r, void *arg)
{
    ic_app *app = arg;
    ic_principal who;
    int64_t id = 0;
    if (!routing_allow(r, app, word_delete, &who))
        return;
    if (ic_api_parse_id(ic_req_param(r, "id"), &id) != IC_OK) {
        ic_api_fail(r, IC_ERR_NOT_FOUND, NULL);
        return;
    }
    routing_job *j = routing_job_new(r, app, who.ws, NULL, word_delete_apply, 204);
    j->id = id;
    j->w.after = words_changed;
    ic_api_write_submit(&j->w);
}

/* ---- settings -------------------------------------------------------------------------- */

static void settings_get(ic_req *r, void *arg)
{
    ic_app *app = arg;
    ic_principal who;
    json_t *settings = NULL;
    if (!routing_allow(r, app, settings_get, &who))
        return;
    ic_err e = ic_store_settings_get(ic_db_thread_conn(app->db), who.ws, &settings);
    if (e != IC_OK) {
        ic_api_fail(r, e, NULL);
        return;
    }
    ic_req_respond_json(r, 200, settings);
}

/* Merges the patch (j->body) into the stored settings: a member replaces
 * the stored one, null removes it. Read and written in one transaction. */
static ic_err settings_apply(ic_conn *tx, routing_job *j)
{
    json_t *cur = NULL;
    ic_err e = ic_store_settings_get(tx, j->ws, &cur);
    if (e != IC_OK)
        return e;
    const char *key;
    json_t *v;
    json_object_foreach(j->body, key, v)
    {
        if (json_is_null(v))
            json_object_del(cur, key);
        else
            json_object_set(cur, key, v);
    }
    e = ic_store_settings_set(tx, j->ws, cur);
    if (e == IC_OK)
        j->w.answer = cur;
    else
        json_decref(cur);
    return e;
}

static void settings_patch(ic_req *r, void *arg)
{
    ic_app *app = arg;
    static const char *const keys[] = {"time_zone", "business_hours", "away_message", "greeting",
                                       NULL};
    ic_principal who;
    ic_errmsg em = {{0}};
    if (!routing_allow(r, app, settings_patch, &who))
        return;
    json_t *body = NULL;
    ic_err e = ic_api_read_object(r, keys, false, &body, &em);
    /* Each member is checked on its own, so the patch's non-null members
     * are what the merged settings gain. */
    json_t *set = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (!json_is_null(v))
            json_object_set(set, key, v);
    }
    if (e == IC_OK)
        e = ic_settings_check(set, &em);
    json_decref(set);
    if (e != IC_OK) {
        json_decref(body);
        ic_api_fail(r, e, &em);
        return;
    }
    routing_job *j = routing_job_new(r, app, who.ws, body, settings_apply, 200);
    ic_api_write_submit(&j->w);
}
