/* write_job.h - one deferred API write: a request's change run by the
 * writer and answered from the job's done callback once it is durable (or
 * has failed). Every REST write (sessions, users, routing, canned replies,
 * inbox, tokens) goes through it. Not for use outside src/api.
 *
 * Use: embed ic_api_write as the FIRST member of the endpoint's own job
 * struct, allocate it with ic_api_write_new(sizeof(that struct), ...),
 * fill the inputs, then ic_api_write_submit() and return from the handler
 * without answering.
 */
#ifndef IC_API_WRITE_JOB_H
#define IC_API_WRITE_JOB_H

#include "api/api.h"

#include <jansson.h>
#include <stdbool.h>

typedef struct ic_api_write ic_api_write;

struct ic_api_write {
    ic_write_job job; /* the writer's; set by ic_api_write_submit */
    ic_req *r;
    ic_app *app;
    /* The change, on the writer thread inside the batch's transaction.
     * It may run twice (the writer's retry with savepoints): answer and em
     * are reset before each run, so run must only depend on the job's
     * inputs and the database. It may set answer (owned by the job), status
     * and em (a client error's sentence). Required. */
    ic_err (*run)(ic_conn *tx, ic_api_write *w);
    /* Optional: on the writer thread after a successful commit, before the
     * answer (cache invalidation, logging, cookies and headers; it may
     * still change answer or status). */
    void (*after)(ic_api_write *w);
    /* Optional: answers r itself for every result, instead of the default
     * below (after has run first on success). It must answer exactly once. */
    void (*respond)(ic_api_write *w, ic_err result);
    /* Optional: frees what the embedding struct owns (not the block
     * itself); called exactly once, also when the writer was full. */
    void (*release)(ic_api_write *w);
    json_t *answer;       /* the success body; NULL answers 204 */
    int status;           /* of a success with an answer; 200 by default */
    ic_errmsg em;         /* a client error's sentence, from run */
    const char *conflict; /* optional: the 409 message for IC_ERR_EXISTS without em */
};

/* A zeroed block of size bytes (at least sizeof(ic_api_write); the
 * embedding struct's size) whose head is a write for r with run and status
 * 200. Never NULL (aborts when out of memory, like ic_calloc). */
ic_api_write *ic_api_write_new(size_t size, ic_req *r, ic_app *app,
                               ic_err (*run)(ic_conn *tx, ic_api_write *w));

/* Frees w without submitting it (release, the answer, the block); for a
 * handler that answers by itself after ic_api_write_new. */
void ic_api_write_free(ic_api_write *w);

/* Defers r and submits w (takes it). Once durable: after, then respond,
 * or by default: status with answer, or 204 without one. On failure:
 * respond, or by default 409 with conflict for IC_ERR_EXISTS when em is
 * empty and conflict set, else ic_api_fail with em. When the writer is
 * full: 503 at once (ic_api_fail) and w is freed. Call on a poll thread,
 * then return without answering r. */
void ic_api_write_submit(ic_api_write *w);

#endif
