/* routing_int.h - what routing.c and canned.c share (internal to them). */
#ifndef IC_API_ROUTING_INT_H
#define IC_API_ROUTING_INT_H

#include "api/auth.h"
#include "api/write_job.h"
#include "store/routing.h"

#include <jansson.h>

/* A write of the routing API (write_job.h): w.answer (NULL answers 204),
 * w.status, w.conflict (the 409 message for IC_ERR_EXISTS) and w.after
 * (cache invalidation after the commit) as there. */
typedef struct routing_job routing_job;
typedef ic_err (*routing_apply_fn)(ic_conn *tx, routing_job *j);

struct routing_job {
    ic_api_write w;         /* first: the job is its block */
    routing_apply_fn apply; /* the work, on the writer thread; may run twice */
    int64_t ws, id;
    json_t *body; /* the request body (owned): the strings below point into it */
    ic_canned v;  /* canned reply fields */
    const char *language, *phrase;
};

/* A new job for r of workspace ws whose success answers status. Steals
 * body. Submit it with ic_api_write_submit(&j->w), which takes it. */
routing_job *routing_job_new(ic_req *r, ic_app *app, int64_t ws, json_t *body,
                             routing_apply_fn apply, int status);

/* Authorizes r for handler self at the least role the route table gives
 * it (routing.c); false when it has answered (401/403/503). */
bool routing_allow(ic_req *r, ic_app *app, ic_handler self, ic_principal *who);

/* The canned replies' handlers (canned.c); arg is the app. */
void canned_list(ic_req *r, void *arg);
void canned_get(ic_req *r, void *arg);
void canned_create(ic_req *r, void *arg);
void canned_update(ic_req *r, void *arg);
void canned_delete(ic_req *r, void *arg);
void canned_render(ic_req *r, void *arg);

#endif
