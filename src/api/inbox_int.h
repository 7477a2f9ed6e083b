/* inbox_int.h - what the inbox's API files share (src/api/inbox*.c only):
 * their route tables, which state each endpoint's least role once, and the
 * writer job every inbox write goes through. */
#ifndef IC_API_INBOX_INT_H
#define IC_API_INBOX_INT_H

#include "api/inbox.h"

#include <stdbool.h>
#include <stddef.h>

/* One endpoint: its least role is checked by ic_api_inbox_auth. */
typedef struct ic_api_inbox_route {
    const char *method;
    const char *pattern;
    ic_role least;
    ic_handler fn;
    bool body; /* takes a JSON body (bounded by ic_api_json_max_body) */
} ic_api_inbox_route;

extern const ic_api_inbox_route ic_api_inbox_action_table[];
extern const size_t ic_api_inbox_action_count;
extern const ic_api_inbox_route ic_api_inbox_admin_table[];
extern const size_t ic_api_inbox_admin_count;

/* Registers every route of table (n of them) with arg app. */
void ic_api_inbox_register(ic_http *h, ic_app *app, const ic_api_inbox_route *table, size_t n);

/* ic_api_authorize with the least role that the tables give handler self
 * (admin when self is in neither, so a forgotten row fails closed). */
ic_err ic_api_inbox_auth(ic_req *r, ic_app *app, ic_handler self, ic_principal *who);

typedef struct ic_inbox_job ic_inbox_job;

/* A write of the inbox: run does it inside the writer's transaction and
 * may set answer (owned by the job) and em; it may run twice (the writer's
 * retry with savepoints), so it starts from a clean answer and em. */
struct ic_inbox_job {
    ic_write_job job;
    ic_req *r;
    ic_inbox_actor who;
    int64_t id, a, b; /* the path's id and two more arguments, as run reads them */
    bool flag;
    char *text;  /* owned; ic_strdup'd */
    json_t *doc; /* owned */
    ic_err (*run)(ic_conn *tx, ic_inbox_job *j);
    json_t *answer;
    int status;         /* the success status: 200 by default, 201 */
    bool conversation;  /* answer is a conversation item: mask its number */
    bool teams_changed; /* a team or its members changed: auto-assignment rereads them */
    ic_errmsg em;
};

/* A new job for r by who (status 200). */
ic_inbox_job *ic_api_inbox_job_new(ic_req *r, const ic_principal *who,
                                   ic_err (*run)(ic_conn *tx, ic_inbox_job *j));

/* Defers r and submits j; once durable answers j->status with j->answer
 * (204 without one), or the error (with j->em's message when set). Answers
 * 503 at once when the writer is full. Takes j. Call on a poll thread,
 * then return without answering. */
void ic_api_inbox_job_submit(ic_app *app, ic_inbox_job *j);

/* Parses r's body as a JSON object whose keys are all in allowed (an empty
 * body counts as {} when empty_ok). *out owned. */
ic_err ic_api_inbox_body(ic_req *r, const char *const *allowed, bool empty_ok, json_t **out,
                         ic_errmsg *em);

/* Reads optional member key of o as an id: absent keeps *out, null gives 0,
 * else a positive integer. */
ic_err ic_api_inbox_opt_id(const json_t *o, const char *key, int64_t *out, ic_errmsg *em);

#endif
