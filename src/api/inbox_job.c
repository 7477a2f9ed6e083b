/* inbox_job.c - the inbox API's shared pieces (inbox_int.h): route tables'
 * least roles, the writer job, and optional ids. */
#include "api/api.h"
#include "api/inbox_int.h"
#include "core/autoassign.h"
#include "core/live.h"
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

static ic_err job_run(ic_conn *tx, ic_api_write *w)
{
    ic_inbox_job *j = (ic_inbox_job *)w;
    return j->run(tx, j);
}

/* After the commit, before the answer. */
static void job_after(ic_api_write *w)
{
    ic_inbox_job *j = (ic_inbox_job *)w;
    if (j->teams_changed)
        ic_autoassign_invalidate(j->who.ws); /* this node at once; others within its ttl */
    if (j->conversation && w->answer)
        ic_api_mask_conversations(w->answer, j->who.role);
    if (j->live && j->id > 0) { /* the colleagues' inboxes, on every node */
        json_t *data = json_pack("{s:I}", "conversation_id", (json_int_t)j->id);
        ic_live_publish_now(w->app->bus, j->who.ws, j->live, data);
        json_decref(data);
    }
}

static void job_release(ic_api_write *w)
{
    ic_inbox_job *j = (ic_inbox_job *)w;
    json_decref(j->doc);
    ic_free(j->text);
}

ic_inbox_job *ic_api_inbox_job_new(ic_req *r, ic_app *app, const ic_principal *who,
                                   ic_err (*run)(ic_conn *tx, ic_inbox_job *j))
{
    ic_inbox_job *j = (ic_inbox_job *)ic_api_write_new(sizeof *j, r, app, job_run);
    j->w.after = job_after;
    j->w.release = job_release;
    j->who = ic_api_inbox_actor(who);
    j->run = run;
    return j;
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
