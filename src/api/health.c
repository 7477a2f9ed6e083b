/* health.c - liveness and readiness for load balancers and orchestrators.
 *
 * /healthz says the process answers HTTP. /readyz says it can do its job: a
 * read on this thread's store connection works, and the writer takes a job
 * and commits it (an empty one), so a wedged or stopping writer makes the
 * node unready instead of letting webhooks pile up.
 */
#include "api/routes.h"

#include "base/alloc.h"
#include "base/log.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

static void healthz(ic_req *r, void *arg)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    ic_req_respond(r, 200, "application/json", ok, sizeof ok - 1);
}

static void not_ready(ic_req *r, const char *reason)
{
    IC_WARN("not_ready", "rid=%s reason=\"%s\"", ic_req_id(r), reason);
    ic_req_respond_json(r, 503, json_pack("{s:s,s:s}", "status", "not ready", "reason", reason));
}

typedef struct ready_job {
    ic_write_job job;
    ic_req *req;
} ready_job;

static ic_err ready_apply(ic_conn *tx, ic_write_job *job)
{
    return IC_OK;
}

static void ready_done(ic_write_job *job, ic_err result)
{
    ready_job *j = job->arg;
    if (result == IC_OK) {
        static const char ok[] = "{\"status\":\"ready\"}";
        ic_req_respond(j->req, 200, "application/json", ok, sizeof ok - 1);
    } else {
        not_ready(j->req, "the writer could not commit");
    }
    ic_free(j);
}

static void readyz(ic_req *r, void *arg)
{
    ic_app *app = arg;
    char *name = NULL;
    ic_err e =
        app->db ? ic_store_workspace_get(ic_db_thread_conn(app->db), 0, &name) : IC_ERR_INTERNAL;
    ic_free(name);
    if (e != IC_OK && e != IC_ERR_NOT_FOUND) {
        not_ready(r, "the store cannot be read");
        return;
    }
    if (!app->writer) {
        not_ready(r, "the writer is not running");
        return;
    }
    ready_job *j = ic_calloc(1, sizeof *j);
    j->req = r;
    j->job.apply = ready_apply;
    j->job.done = ready_done;
    j->job.arg = j;
    ic_req_defer(r);
    if (ic_writer_submit(app->writer, &j->job) != IC_OK) {
        ic_free(j);
        not_ready(r, "the writer is not accepting work");
    }
}

/* Registers /healthz and /readyz; see routes.h. */
void ic_api_health_routes(ic_http *h, ic_app *app)
{
    ic_http_route(h, "GET", "/healthz", 4096, healthz, app);
    ic_http_route(h, "GET", "/readyz", 4096, readyz, app);
}
