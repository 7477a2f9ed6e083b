/* inbox_int.h - what the inbox's API files share (src/api/inbox*.c only):
 * their route tables, which state each endpoint's least role once, and the
 * writer job every inbox write goes through. */
#ifndef IC_API_INBOX_INT_H
#define IC_API_INBOX_INT_H

#include "api/inbox.h"
#include "api/write_job.h"

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

/* A write of the inbox (write_job.h): run does it inside the writer's
 * transaction and may set w.answer, w.status (200 by default, 201) and
 * w.em; it may run twice, and the answer and em are reset before each run.
 * After the commit, a conversation answer is masked for who's role and a
 * team change drops this node's auto-assignment cache. */
struct ic_inbox_job {
    ic_api_write w; /* first: the job is its block */
    ic_inbox_actor who;
    int64_t id, a, b; /* the path's id and two more arguments, as run reads them */
    bool flag;
    char *text;  /* owned; ic_strdup'd */
    json_t *doc; /* owned */
    ic_err (*run)(ic_conn *tx, ic_inbox_job *j);
    bool conversation;  /* w.answer is a conversation item: mask its number */
    bool teams_changed; /* a team or its members changed: auto-assignment rereads them */
    const char *live;   /* the live event (core/live.h IC_LIVE_*) for conversation id, or NULL */
};

/* A new job for r by who (status 200). Submit it with
 * ic_api_write_submit(&j->w), which takes it. */
ic_inbox_job *ic_api_inbox_job_new(ic_req *r, ic_app *app, const ic_principal *who,
                                   ic_err (*run)(ic_conn *tx, ic_inbox_job *j));

/* Reads optional member key of o as an id: absent keeps *out, null gives 0,
 * else a positive integer. */
ic_err ic_api_inbox_opt_id(const json_t *o, const char *key, int64_t *out, ic_errmsg *em);

#endif
