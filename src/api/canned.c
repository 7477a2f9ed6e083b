/* canned.c - canned replies: list, read, create, change, delete, and render
 * one for a conversation (its variables filled in). See
 * docs/drafts/routing.md. */
#include "api/api.h"
#include "api/json_in.h"
#include "api/routing_int.h"

#include "base/alloc.h"
#include "base/buf.h"

#include <stdint.h>
#include <string.h>

#define SHORTCUT_MAX 32
#define TITLE_MAX_CHARS 200
#define BODY_MAX_CHARS 4096
#define VAR_MAX 40

void canned_list(ic_req *r, void *arg)
{
    ic_app *app = arg;
    ic_principal who;
    json_t *items = NULL;
    if (!routing_allow(r, app, canned_list, &who))
        return;
    ic_err e = ic_store_canned_list_json(ic_db_thread_conn(app->db), who.ws, &items);
    if (e != IC_OK) {
        ic_api_fail(r, e, NULL);
        return;
    }
    ic_req_respond_json(r, 200, ic_api_list_json(items, 0));
}

void canned_get(ic_req *r, void *arg)
{
    ic_api_get_by_id(r, arg, ic_store_canned_get_json);
}

static ic_err get_shortcut(const json_t *body, bool required, const char **out, ic_errmsg *em)
{
    ic_err e = ic_api_get_string(body, "shortcut", required, SHORTCUT_MAX, out, em);
    if (e != IC_OK || !*out)
        return e;
    for (const char *p = *out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return ic_errf(em, IC_ERR_INVALID, "shortcut must be 1 to %d of a-z, 0-9, '_' and '-'",
                           SHORTCUT_MAX);
    return IC_OK;
}

/* Reads the fields of a create (required) or a change (optional, at least
 * one) into v. */
static ic_err read_fields(const json_t *body, bool create, ic_canned *v, ic_errmsg *em)
{
    ic_err e;
    if ((e = get_shortcut(body, create, &v->shortcut, em)) != IC_OK ||
        (e = ic_api_get_string(body, "title", create, TITLE_MAX_CHARS, &v->title, em)) != IC_OK ||
        (e = ic_api_get_string(body, "body", create, BODY_MAX_CHARS, &v->body, em)) != IC_OK)
        return e;
    if (!create && !v->shortcut && !v->title && !v->body)
        return ic_errf(em, IC_ERR_INVALID, "give at least one of shortcut, title and body");
    return IC_OK;
}

static ic_err create_apply(ic_conn *tx, routing_job *j)
{
    return ic_store_canned_insert(tx, j->ws, &j->v, &j->w.answer);
}

static ic_err update_apply(ic_conn *tx, routing_job *j)
{
    return ic_store_canned_update(tx, j->ws, j->id, &j->v, &j->w.answer);
}

static ic_err delete_apply(ic_conn *tx, routing_job *j)
{
    return ic_store_canned_delete(tx, j->ws, j->id);
}

/* Create (id_param false) or change (true): the shared steps. */
static void write_canned(ic_req *r, ic_app *app, ic_handler self, bool change)
{
    static const char *const keys[] = {"shortcut", "title", "body", NULL};
    ic_principal who;
    ic_errmsg em = {{0}};
    int64_t id = 0;
    if (!routing_allow(r, app, self, &who))
        return;
    if (change && ic_api_parse_id(ic_req_param(r, "id"), &id) != IC_OK) {
        ic_api_fail(r, IC_ERR_NOT_FOUND, NULL);
        return;
    }
    json_t *body = NULL;
    ic_canned v = {0};
    ic_err e = ic_api_read_object(r, keys, false, &body, &em);
    if (e == IC_OK)
        e = read_fields(body, !change, &v, &em);
    if (e != IC_OK) {
        json_decref(body);
        ic_api_fail(r, e, &em);
        return;
    }
    routing_job *j = routing_job_new(r, app, who.ws, body, change ? update_apply : create_apply,
                                     change ? 200 : 201);
    j->id = id;
    j->v = v;
    j->w.conflict = "another canned reply has that shortcut";
    ic_api_write_submit(&j->w);
}

void canned_create(ic_req *r, void *arg)
{
    write_canned(r, arg, canned_create, false);
}

void canned_update(ic_req *r, void *arg)
{
    write_canned(r, arg, canned_update, true);
}

void canned_delete(ic_req *r, void *arg)
{
    ic_app *app = arg;
    ic_principal who;
    int64_t id = 0;
    if (!routing_allow(r, app, canned_delete, &who))
        return;
    if (ic_api_parse_id(ic_req_param(r, "id"), &id) != IC_OK) {
        ic_api_fail(r, IC_ERR_NOT_FOUND, NULL);
        return;
    }
    routing_job *j = routing_job_new(r, app, who.ws, NULL, delete_apply, 204);
    j->id = id;
    ic_api_write_submit(&j->w);
}

/* ---- rendering ----------------------------------------------------------------------- */

/* The value of variable name (trimmed) from ctx, or NULL when it is not
 * one we know; a known one without a value is "". first_name is the name
 * up to its first space. */
static const char *var_value(const json_t *ctx, const char *name, size_t *len)
{
    static const struct {
        const char *var, *key;
    } VARS[] = {{"contact.name", "contact_name"},
                {"contact.first_name", "contact_name"},
                {"operator.name", "operator_name"},
                {"workspace.name", "workspace_name"}};
    for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++) {
        if (strcmp(name, VARS[i].var) != 0)
            continue;
        const char *v = json_string_value(json_object_get(ctx, VARS[i].key));
        if (!v)
            v = "";
        *len = strlen(v);
        if (strcmp(VARS[i].var, "contact.first_name") == 0)
            *len = strcspn(v, " \t");
        return v;
    }
    return NULL;
}

/* Fills {{variable}} (spaces inside the braces allowed) in body from ctx;
 * unknown variables are left as they are. Plain text: nothing is escaped. */
static char *render(const char *body, const json_t *ctx)
{
    ic_buf out = IC_BUF_INIT;
    const char *p = body;
    while (*p) {
        const char *open = strstr(p, "{{");
        const char *close = open ? strstr(open + 2, "}}") : NULL;
        if (!open || !close) {
            ic_buf_puts(&out, p);
            break;
        }
        ic_buf_append(&out, p, (size_t)(open - p));
        const char *a = open + 2, *b = close;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        char name[VAR_MAX + 1];
        size_t vlen = 0;
        const char *v = NULL;
        if ((size_t)(b - a) <= VAR_MAX) {
            memcpy(name, a, (size_t)(b - a));
            name[b - a] = '\0';
            v = var_value(ctx, name, &vlen);
        }
        if (v)
            ic_buf_append(&out, v, vlen);
        else
            ic_buf_append(&out, open, (size_t)(close + 2 - open));
        p = close + 2;
    }
    return ic_buf_steal(&out);
}

void canned_render(ic_req *r, void *arg)
{
    ic_app *app = arg;
    static const char *const keys[] = {"conversation_id", NULL};
    ic_principal who;
    ic_errmsg em = {{0}};
    int64_t id = 0, conv = 0;
    json_t *row = NULL, *ctx = NULL;
    if (!routing_allow(r, app, canned_render, &who))
        return;
    if (ic_api_parse_id(ic_req_param(r, "id"), &id) != IC_OK) {
        ic_api_fail(r, IC_ERR_NOT_FOUND, NULL);
        return;
    }
    json_t *body = NULL;
    ic_err e = ic_api_read_object(r, keys, false, &body, &em);
    if (e == IC_OK)
        e = ic_api_get_int(body, "conversation_id", true, 1, INT64_MAX, &conv, &em);
    json_decref(body);
    if (e != IC_OK) {
        ic_api_fail(r, e, &em);
        return;
    }
    ic_conn *c = ic_db_thread_conn(app->db);
    if ((e = ic_store_canned_get_json(c, who.ws, id, &row)) != IC_OK ||
        (e = ic_store_render_context(c, who.ws, conv, who.user_id, &ctx)) != IC_OK) {
        json_decref(row);
        if (e == IC_ERR_NOT_FOUND && row)
            ic_req_error(r, 404, "not_found", "no conversation %lld", (long long)conv);
        else
            ic_api_fail(r, e, NULL);
        return;
    }
    char *text = render(json_string_value(json_object_get(row, "body")), ctx);
    json_decref(row);
    json_decref(ctx);
    json_t *answer = json_object();
    json_object_set_new(answer, "text", json_string(text));
    ic_free(text);
    ic_req_respond_json(r, 200, answer);
}
