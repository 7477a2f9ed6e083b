/* tokens.c - API tokens of a workspace, for its admins (the admin page):
 *
 *   GET    /api/v1/tokens        the tokens (never a hash)
 *   POST   /api/v1/tokens        {"name"} -> 201 with the token, shown once
 *   DELETE /api/v1/tokens/{id}   revokes it: it authenticates nothing more
 *
 * Creating and revoking go through the writer; the answer is sent from the
 * job's done callback once the change is durable.
 */
#include "api/api.h"
#include "api/auth.h"
#include "api/json_in.h"
#include "api/write_job.h"

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/log.h"

#include <sodium.h>
#include <string.h>

#define NAME_MAX_CHARS 200

typedef struct token_job {
    ic_api_write w; /* first: the job is its block */
    int64_t ws, id;
    char *name; /* NULL for a revocation */
    char token[64];
    char sha[65];
} token_job;

static void token_release(ic_api_write *w)
{
    token_job *j = (token_job *)w;
    ic_free(j->name);
    sodium_memzero(j->token, sizeof j->token);
}

/* A new job for r of workspace ws; submitted with ic_api_write_submit. */
static token_job *token_job_new(ic_req *r, ic_app *app, int64_t ws,
                                ic_err (*run)(ic_conn *tx, ic_api_write *w))
{
    token_job *j = (token_job *)ic_api_write_new(sizeof *j, r, app, run);
    j->w.release = token_release;
    j->ws = ws;
    return j;
}

/* The new token, answered once (201) with its secret. */
static ic_err create_apply(ic_conn *tx, ic_api_write *w)
{
    token_job *j = (token_job *)w;
    ic_err e = ic_store_token_insert(tx, j->ws, j->name, j->sha, &j->id);
    if (e == IC_OK)
        w->answer =
            json_pack("{s:I,s:s,s:s}", "id", (json_int_t)j->id, "name", j->name, "token", j->token);
    w->status = 201;
    return e;
}

static void created(ic_api_write *w)
{
    token_job *j = (token_job *)w;
    IC_INFO("api_token_created", "rid=%s ws=%lld token=%lld", ic_req_id(w->r), (long long)j->ws,
            (long long)j->id);
}

static ic_err revoke_apply(ic_conn *tx, ic_api_write *w)
{
    token_job *j = (token_job *)w;
    return ic_store_token_revoke(tx, j->ws, j->id);
}

static void revoked(ic_api_write *w)
{
    token_job *j = (token_job *)w;
    IC_INFO("api_token_revoked", "rid=%s ws=%lld token=%lld", ic_req_id(w->r), (long long)j->ws,
            (long long)j->id);
}

static void list_tokens(ic_req *r, void *arg)
{
    ic_app *app = arg;
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_ADMIN, &who) != IC_OK)
        return;
    json_t *items = NULL;
    ic_err e = ic_store_tokens_json(ic_db_thread_conn(app->db), who.ws, &items);
    if (e != IC_OK) {
        ic_api_fail(r, e, NULL);
        return;
    }
    ic_req_respond_json(r, 200, ic_api_list_json(items, 0));
}

static void create_token(ic_req *r, void *arg)
{
    ic_app *app = arg;
    static const char *const keys[] = {"name", NULL};
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_ADMIN, &who) != IC_OK)
        return;
    ic_errmsg em = {{0}};
    const char *name = NULL;
    json_t *body = NULL;
    ic_err e;
    if ((e = ic_api_read_object(r, keys, false, &body, &em)) != IC_OK ||
        (e = ic_api_get_string(body, "name", true, NAME_MAX_CHARS, &name, &em)) != IC_OK) {
        ic_api_fail(r, e, &em);
        json_decref(body);
        return;
    }
    token_job *j = token_job_new(r, app, who.ws, create_apply);
    j->name = ic_strdup(name);
    json_decref(body);
    ic_api_token_new(j->token, j->sha);
    j->w.after = created;
    ic_api_write_submit(&j->w);
}

static void revoke_token(ic_req *r, void *arg)
{
    ic_app *app = arg;
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_ADMIN, &who) != IC_OK)
        return;
    int64_t id = 0;
    if (ic_api_parse_id(ic_req_param(r, "id"), &id) != IC_OK) {
        ic_api_fail(r, IC_ERR_NOT_FOUND, NULL);
        return;
    }
    token_job *j = token_job_new(r, app, who.ws, revoke_apply);
    j->id = id;
    j->w.after = revoked;
    ic_api_write_submit(&j->w);
}

void ic_api_tokens_routes(ic_http *h, ic_app *app)
{
    ic_http_route(h, "GET", "/api/v1/tokens", 0, list_tokens, app);
    ic_http_route(h, "POST", "/api/v1/tokens", ic_api_json_max_body(app), create_token, app);
    ic_http_route(h, "DELETE", "/api/v1/tokens/{id}", 0, revoke_token, app);
}
