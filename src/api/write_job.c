/* write_job.c - the deferred API write of write_job.h. */
#include "api/write_job.h"

#include "api/json_in.h"
#include "base/alloc.h"

#include <string.h>

ic_api_write *ic_api_write_new(size_t size, ic_req *r, ic_app *app,
                               ic_err (*run)(ic_conn *tx, ic_api_write *w))
{
    ic_api_write *w = ic_calloc(1, size < sizeof *w ? sizeof *w : size);
    w->r = r;
    w->app = app;
    w->run = run;
    w->status = 200;
    return w;
}

void ic_api_write_free(ic_api_write *w)
{
    if (w->release)
        w->release(w);
    json_decref(w->answer);
    ic_free(w);
}

static ic_err job_apply(ic_conn *tx, ic_write_job *job)
{
    ic_api_write *w = job->arg;
    json_decref(w->answer); /* the job may run twice: start clean */
    w->answer = NULL;
    memset(&w->em, 0, sizeof w->em);
    return w->run(tx, w);
}

/* The default answer of result. */
static void answer(ic_api_write *w, ic_err result)
{
    if (result == IC_ERR_EXISTS && w->conflict && !w->em.msg[0]) {
        ic_req_error(w->r, 409, "conflict", "%s", w->conflict);
    } else if (result != IC_OK) {
        ic_api_fail(w->r, result, &w->em);
    } else if (w->answer) {
        ic_req_respond_json(w->r, w->status ? w->status : 200, w->answer);
        w->answer = NULL;
    } else {
        ic_req_respond(w->r, 204, NULL, NULL, 0);
    }
}

static void job_done(ic_write_job *job, ic_err result)
{
    ic_api_write *w = job->arg;
    if (result == IC_OK && w->after)
        w->after(w);
    if (w->respond)
        w->respond(w, result);
    else
        answer(w, result);
    ic_api_write_free(w);
}

void ic_api_write_submit(ic_api_write *w)
{
    ic_req *r = w->r;
    w->job.apply = job_apply;
    w->job.done = job_done;
    w->job.arg = w;
    ic_req_defer(r);
    ic_err e = ic_writer_submit(w->app->writer, &w->job);
    if (e != IC_OK) {
        ic_api_write_free(w);
        ic_api_fail(r, e, NULL);
    }
}
