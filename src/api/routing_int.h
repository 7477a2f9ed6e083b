/* routing_int.h - what routing.c and canned.c share (internal to them). */
#ifndef IC_API_ROUTING_INT_H
#define IC_API_ROUTING_INT_H

#include "api/auth.h"
#include "store/routing.h"

#include <jansson.h>

/* A write of the routing API, run by the writer. */
typedef struct routing_job routing_job;
typedef ic_err (*routing_apply_fn)(ic_conn *tx, routing_job *j);

struct routing_job {
    ic_write_job job;
    ic_req *r;
    ic_app *app;
    routing_apply_fn apply;
    int64_t ws, id;
    json_t *body; /* the request body (owned): the strings below point into it */
    ic_canned v;  /* canned reply fields */
    const char *language, *phrase;
    json_t *answer;                /* what apply produced (owned); NULL answers 204 */
    int status;                    /* of a successful answer */
    const char *conflict;          /* the 409 message for IC_ERR_EXISTS */
    void (*after)(routing_job *j); /* after a commit (cache invalidation); may be NULL */
};

/* A new job for r (deferred by routing_submit) of workspace ws. Steals body. */
routing_job *routing_job_new(ic_req *r, ic_app *app, int64_t ws, json_t *body,
                             routing_apply_fn apply, int status);

/* Defers r and submits j to the writer; its done answers r with j->answer
 * (j->status, or 204 when it is NULL) or the error (IC_ERR_EXISTS: 409 with
 * j->conflict), then frees j. Answers 503 at once when the writer is full. */
void routing_submit(routing_job *j);

/* Parses r's body as an object with only the members in keys; answers 400
 * and returns NULL on failure. */
json_t *routing_body(ic_req *r, const char *const *keys, ic_errmsg *em);

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
