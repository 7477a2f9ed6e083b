/* contacts.c - GET /api/v1/contacts, GET /api/v1/contacts/{id} and
 * PATCH /api/v1/contacts/{id} (through the writer, answered once durable);
 * numbers are masked for roles that may not see them (ic_api_mask_contact). */
#include "api/api.h"
#include "api/auth.h"
#include "api/inbox.h"
#include "api/json_in.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"

#include <string.h>

#define NAME_MAX_CHARS 200
#define LANGUAGE_MAX 16
#define SEARCH_MAX_CHARS 100
#define FIELDS_MAX 100
#define FIELD_KEY_MAX 64
#define FIELD_VALUE_MAX 1024
/* Room for a masked number (WhatsApp ids are at most 20 digits). */
#define MASKED_MAX 64

void ic_api_mask_contact(json_t *o, ic_role role)
{
    const char *wa_id = json_string_value(json_object_get(o, "wa_id"));
    if (!wa_id || ic_role_sees_numbers(role))
        return;
    char masked[MASKED_MAX];
    ic_role_mask_number(wa_id, masked, sizeof masked);
    json_object_set_new(o, "wa_id", json_string(masked));
    json_object_set_new(o, "wa_id_masked", json_true());
}

void ic_api_mask_conversations(json_t *items, ic_role role)
{
    if (json_is_object(items)) {
        ic_api_mask_contact(json_object_get(items, "contact"), role);
        return;
    }
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        ic_api_mask_contact(json_object_get(it, "contact"), role);
    }
}

/* Masks every contact of items (an array) for role. */
static void mask_contacts(json_t *items, ic_role role)
{
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        ic_api_mask_contact(it, role);
    }
}

static void list_contacts(ic_req *r, void *arg)
{
    ic_app *app = arg;
    int64_t ws = 0, cursor = 0, next = 0;
    int limit = 0;
    json_t *items = NULL;
    ic_errmsg em = {{0}};
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_VIEWER, &who) != IC_OK)
        return;
    ws = who.ws;
    ic_err e = ic_api_page(r, &limit, &cursor, &em);
    if (e != IC_OK)
        goto fail;
    const char *search = ic_req_query(r, "search");
    if (search && !*search)
        search = NULL;
    if (search &&
        (ic_utf8_len(search) > SEARCH_MAX_CHARS || strlen(search) > 2 * SEARCH_MAX_CHARS)) {
        e = ic_errf(&em, IC_ERR_INVALID, "search must be at most %d characters", SEARCH_MAX_CHARS);
        goto fail;
    }
    e = ic_store_contacts_list(ic_db_thread_conn(app->db), ws, search, cursor, limit, &items,
                               &next);
    if (e != IC_OK)
        goto fail;
    mask_contacts(items, who.role);
    ic_req_respond_json(r, 200, ic_api_list_json(items, next));
    return;
fail:
    ic_api_fail(r, e, &em);
}

static void get_contact(ic_req *r, void *arg)
{
    ic_api_get_by_id_shaped(r, arg, ic_store_contact_get, ic_api_mask_contact);
}

/* ---- PATCH ------------------------------------------------------------------- */

static ic_err check_language(const json_t *body, ic_errmsg *em)
{
    json_t *v = json_object_get(body, "language");
    if (!v || json_is_null(v))
        return IC_OK; /* absent keeps it, null clears it */
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    bool ok = n > 0 && n <= LANGUAGE_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
    }
    if (!ok)
        return ic_errf(em, IC_ERR_INVALID,
                       "language must be a string of at most %d letters, '_' or '-' (such as "
                       "\"en\" or \"pt_BR\")",
                       LANGUAGE_MAX);
    return IC_OK;
}

static ic_err check_fields(const json_t *body, ic_errmsg *em)
{
    json_t *fields = json_object_get(body, "fields");
    if (!fields)
        return IC_OK;
    if (!json_is_object(fields))
        return ic_errf(em, IC_ERR_INVALID, "fields must be an object");
    if (json_object_size(fields) > FIELDS_MAX)
        return ic_errf(em, IC_ERR_INVALID, "fields may hold at most %d keys", FIELDS_MAX);
    const char *key;
    json_t *val;
    json_object_foreach(fields, key, val)
    {
        if (!*key || ic_utf8_len(key) > FIELD_KEY_MAX)
            return ic_errf(em, IC_ERR_INVALID, "each key of fields must be 1 to %d characters",
                           FIELD_KEY_MAX);
        if (json_is_string(val)) {
            if (ic_utf8_len(json_string_value(val)) > FIELD_VALUE_MAX)
                return ic_errf(em, IC_ERR_INVALID,
                               "fields.%.64s must be a string of at most %d characters", key,
                               FIELD_VALUE_MAX);
        } else if (!json_is_number(val) && !json_is_boolean(val) && !json_is_null(val)) {
            return ic_errf(em, IC_ERR_INVALID,
                           "fields.%.64s must be a string, a number, true, false or null", key);
        }
    }
    return IC_OK;
}

typedef struct patch_job {
    ic_write_job job;
    ic_req *r;
    int64_t ws, id;
    ic_role role;
    json_t *patch;
    json_t *answer;
} patch_job;

static ic_err patch_apply(ic_conn *tx, ic_write_job *job)
{
    patch_job *j = job->arg;
    ic_err e = ic_store_contact_update(tx, j->ws, j->id, j->patch);
    if (e != IC_OK)
        return e;
    json_decref(j->answer);
    j->answer = NULL;
    return ic_store_contact_get(tx, j->ws, j->id, &j->answer);
}

static void patch_done(ic_write_job *job, ic_err result)
{
    patch_job *j = job->arg;
    if (result == IC_OK) {
        IC_INFO("api_contact_updated", "rid=%s ws=%lld contact=%lld", ic_req_id(j->r),
                (long long)j->ws, (long long)j->id);
        ic_api_mask_contact(j->answer, j->role);
        ic_req_respond_json(j->r, 200, j->answer);
        j->answer = NULL;
    } else if (result == IC_ERR_TOO_BIG) {
        ic_req_error(j->r, 413, "too_large",
                     "the contact's fields would take more than 64 KB; remove some first");
    } else {
        ic_api_fail(j->r, result, NULL);
    }
    json_decref(j->answer);
    json_decref(j->patch);
    ic_free(j);
}

static void patch_contact(ic_req *r, void *arg)
{
    ic_app *app = arg;
    static const char *const keys[] = {"name", "language", "fields", NULL};
    int64_t ws = 0, id = 0;
    json_t *body = NULL;
    const char *name = NULL;
    ic_errmsg em = {{0}};
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_OPERATOR, &who) != IC_OK)
        return;
    ws = who.ws;
    ic_err e = IC_ERR_NOT_FOUND;
    if (ic_api_parse_id(ic_req_param(r, "id"), &id) != IC_OK)
        goto fail;
    if ((e = ic_api_read_object(r, keys, false, &body, &em)) != IC_OK)
        goto fail;
    /* name: a string sets it, null clears it. */
    if ((e = ic_api_get_string(body, "name", false, NAME_MAX_CHARS, &name, &em)) != IC_OK ||
        (e = check_language(body, &em)) != IC_OK || (e = check_fields(body, &em)) != IC_OK)
        goto fail;
    /* Existence is checked now so that another workspace's id answers 404 at once. */
    json_t *current = NULL;
    if ((e = ic_store_contact_get(ic_db_thread_conn(app->db), ws, id, &current)) != IC_OK)
        goto fail;
    json_decref(current);
    patch_job *j = ic_calloc(1, sizeof *j);
    j->r = r;
    j->ws = ws;
    j->id = id;
    j->role = who.role;
    j->patch = body;
    body = NULL;
    j->job.apply = patch_apply;
    j->job.done = patch_done;
    j->job.arg = j;
    ic_req_defer(r);
    e = ic_writer_submit(app->writer, &j->job);
    if (e != IC_OK) {
        json_decref(j->patch);
        ic_free(j);
        goto fail;
    }
    return;
fail:
    json_decref(body);
    ic_api_fail(r, e, &em);
}

void ic_api_contacts_routes(ic_http *h, ic_app *app)
{
    ic_http_route(h, "GET", "/api/v1/contacts", 0, list_contacts, app);
    ic_http_route(h, "GET", "/api/v1/contacts/{id}", 0, get_contact, app);
    ic_http_route(h, "PATCH", "/api/v1/contacts/{id}", ic_api_json_max_body(app), patch_contact,
                  app);
}
