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

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/log.h"

#include <string.h>

#define NAME_MAX_CHARS 200

typedef struct token_job {
    ic_write_job job;
    ic_req *r;
    int64_t ws, id;
    char *name; /* NULL for a revocation */
    char token[64];
    char sha[65];
} token_job;

/* On the writer thread, once the change is durable or has failed. */
static void token_done(ic_write_job *job, ic_err result)
{
    token_job *j = job->arg;
    if (result != IC_OK) {
        ic_api_fail(j->r, result, NULL);
    } else if (j->name) {
        IC_INFO("api_token_created", "rid=%s ws=%lld token=%lld", ic_req_id(j->r), (long long)j->ws,
                (long long)j->id);
        ic_req_respond_json(j->r, 201,
                            json_pack("{s:I,s:s,s:s}", "id", (json_int_t)j->id, "name", j->name,
                                      "token", j->token));
    } else {
        IC_INFO("api_token_revoked", "rid=%s ws=%lld token=%lld", ic_req_id(j->r), (long long)j->ws,
                (long long)j->id);
        ic_req_respond(j->r, 204, NULL, NULL, 0);
    }
    ic_free(j->name);
    ic_free(j);
}

/* Defers r and hands j to the writer (answered by token_done), or answers
 * 503 at once when the writer is full. Takes j. */
static void submit(ic_req *r, ic_app *app, token_job *j, ic_err (*apply)(ic_conn *, ic_write_job *))
{
    j->r = r;
    j->job.apply = apply;
    j->job.done = token_done;
    j->job.arg = j;
    ic_req_defer(r);
    if (ic_writer_submit(app->writer, &j->job) != IC_OK) {
        ic_free(j->name);
        ic_free(j);
        ic_api_fail(r, IC_ERR_BUSY, NULL);
    }
}

static ic_err create_apply(ic_conn *tx, ic_write_job *job)
{
    token_job *j = job->arg;
    return ic_store_token_insert(tx, j->ws, j->name, j->sha, &j->id);
}

static ic_err revoke_apply(ic_conn *tx, ic_write_job *job)
{
    token_job *j = job->arg;
    return ic_store_token_revoke(tx, j->ws, j->id);
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
    size_t len = 0;
    const char *raw = ic_req_body(r, &len);
    const char *name = NULL;
    json_t *body = NULL;
    ic_err e;
    if ((e = ic_api_parse_object(raw, len, &body, &em)) != IC_OK ||
        (e = ic_api_only_keys(body, keys, &em)) != IC_OK ||
        (e = ic_api_get_string(body, "name", true, NAME_MAX_CHARS, &name, &em)) != IC_OK) {
        ic_api_fail(r, e, &em);
        json_decref(body);
        return;
    }
    token_job *j = ic_calloc(1, sizeof *j);
    j->ws = who.ws;
    j->name = ic_strdup(name);
    json_decref(body);
    ic_api_token_new(j->token, j->sha);
    submit(r, app, j, create_apply);
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
    token_job *j = ic_calloc(1, sizeof *j);
    j->ws = who.ws;
    j->id = id;
    submit(r, app, j, revoke_apply);
}

void ic_api_tokens_routes(ic_http *h, ic_app *app)
{
    ic_http_route(h, "GET", "/api/v1/tokens", 0, list_tokens, app);
    ic_http_route(h, "POST", "/api/v1/tokens", ic_api_json_max_body(app), create_token, app);
    ic_http_route(h, "DELETE", "/api/v1/tokens/{id}", 0, revoke_token, app);
}
