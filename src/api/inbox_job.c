/* inbox_job.c - the inbox API's shared pieces (inbox_int.h): route tables'
 * least roles, the writer job, and body reading. */
#include "api/api.h"
#include "api/inbox_int.h"
#include "core/autoassign.h"
#include "api/json_in.h"

#include "base/alloc.h"

#include <string.h>

void ic_api_inbox_register(ic_http *h, ic_app *app, const ic_api_inbox_route *table, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ic_http_route(h, table[i].method, table[i].pattern,
                      table[i].body ? ic_api_json_max_body(app) : 1024, table[i].fn, app);
}

/* The row of fn (or method + pattern when fn is NULL) in either table. */
static const ic_api_inbox_route *find(ic_handler fn, const char *method, const char *pattern)
{
    const ic_api_inbox_route *tables[2] = {ic_api_inbox_action_table, ic_api_inbox_admin_table};
    const size_t counts[2] = {ic_api_inbox_action_count, ic_api_inbox_admin_count};
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < counts[t]; i++) {
            const ic_api_inbox_route *row = &tables[t][i];
            if (fn ? row->fn == fn
                   : strcmp(row->method, method) == 0 && strcmp(row->pattern, pattern) == 0)
                return row;
        }
    }
    return NULL;
}

ic_role ic_api_inbox_least_role(const char *method, const char *pattern)
{
    if (!method || !pattern)
        return IC_ROLE_NONE;
    const ic_api_inbox_route *row = find(NULL, method, pattern);
    return row ? row->least : IC_ROLE_NONE;
}

ic_err ic_api_inbox_auth(ic_req *r, ic_app *app, ic_handler self, ic_principal *who)
{
    const ic_api_inbox_route *row = find(self, NULL, NULL);
    return ic_api_authorize(r, app, row ? row->least : IC_ROLE_ADMIN, who);
}

ic_inbox_actor ic_api_inbox_actor(const ic_principal *p)
{
    return (ic_inbox_actor){.ws = p->ws, .role = p->role, .user_id = p->user_id};
}

ic_inbox_job *ic_api_inbox_job_new(ic_req *r, const ic_principal *who,
                                   ic_err (*run)(ic_conn *tx, ic_inbox_job *j))
{
    ic_inbox_job *j = ic_calloc(1, sizeof *j);
    j->r = r;
    j->who = ic_api_inbox_actor(who);
    j->run = run;
    j->status = 200;
    return j;
}

static void job_free(ic_inbox_job *j)
{
    json_decref(j->answer);
    json_decref(j->doc);
    ic_free(j->text);
    ic_free(j);
}

static ic_err job_apply(ic_conn *tx, ic_write_job *job)
{
    ic_inbox_job *j = job->arg;
    json_decref(j->answer);
    j->answer = NULL;
    j->em.msg[0] = '\0';
    return j->run(tx, j);
}

static void job_done(ic_write_job *job, ic_err result)
{
    ic_inbox_job *j = job->arg;
    if (result == IC_OK && j->teams_changed)
        ic_autoassign_invalidate(j->who.ws); /* this node at once; others within its ttl */
    if (result != IC_OK) {
        ic_api_fail(j->r, result, j->em.msg[0] ? &j->em : NULL);
    } else if (j->answer) {
        if (j->conversation)
            ic_api_mask_conversations(j->answer, j->who.role);
        ic_req_respond_json(j->r, j->status, j->answer);
        j->answer = NULL;
    } else {
        ic_req_respond(j->r, 204, NULL, NULL, 0);
    }
    job_free(j);
}

void ic_api_inbox_job_submit(ic_app *app, ic_inbox_job *j)
{
    j->job.apply = job_apply;
    j->job.done = job_done;
    j->job.arg = j;
    ic_req *r = j->r;
    ic_req_defer(r);
    ic_err e = ic_writer_submit(app->writer, &j->job);
    if (e != IC_OK) {
        job_free(j);
        ic_api_fail(r, e, NULL);
    }
}

ic_err ic_api_inbox_body(ic_req *r, const char *const *allowed, bool empty_ok, json_t **out,
                         ic_errmsg *em)
{
    size_t len = 0;
    const char *raw = ic_req_body(r, &len);
    *out = NULL;
    if (empty_ok && len == 0) {
        *out = json_object();
        return IC_OK;
    }
    ic_err e = ic_api_parse_object(raw, len, out, em);
    if (e == IC_OK && (e = ic_api_only_keys(*out, allowed, em)) != IC_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return e;
}

ic_err ic_api_inbox_opt_id(const json_t *o, const char *key, int64_t *out, ic_errmsg *em)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return IC_OK;
    if (json_is_null(v)) {
        *out = 0;
        return IC_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return ic_errf(em, IC_ERR_INVALID, "%s must be a positive integer id or null", key);
    *out = json_integer_value(v);
    return IC_OK;
}
