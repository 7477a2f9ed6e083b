/* http_internal.h - what the files of src/http share and nothing else sees.
 *
 * The server (http.c) owns the libmicrohttpd daemon and the route table
 * (router.c); request.c implements the ic_req accessors and the answering
 * functions. A request's life:
 *
 *   first callback    ic_req created (one reference held for libmicrohttpd),
 *                     route matched, Content-Length checked against the bound
 *   body callbacks    the body is accumulated up to the bound
 *   final callback    the handler runs; when it answered, the answer is
 *                     queued; when it deferred, the connection is suspended
 *                     and listed in the server's deferred list
 *   ic_req_respond*   (any thread) stores the answer; when the connection is
 *                     suspended it is unlisted and resumed, and libmicrohttpd
 *                     calls the access handler again, which queues it
 *   completed         libmicrohttpd drops its reference
 *
 * ic_req_defer takes a second reference that the handler's own answer drops,
 * so a late answer (after a shutdown already answered 503) touches only the
 * request, never the freed server. Lock order: req->mu, then http->mu.
 *
 * waker.c works around a libmicrohttpd epoll loop that can sit on 128 ready
 * connections for up to the connection timeout (its header says how).
 */
#ifndef IC_HTTP_HTTP_INTERNAL_H
#define IC_HTTP_HTTP_INTERNAL_H

#include "base/buf.h"
#include "http/http.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define IC_ROUTE_MAX_SEGS 16
#define IC_REQ_MAX_PARAMS 8

typedef struct ic_route {
    char method[8];
    char *pattern;                 /* as given, for the access log */
    char *segs[IC_ROUTE_MAX_SEGS]; /* literal text, or the capture's name */
    bool is_cap[IC_ROUTE_MAX_SEGS];
    size_t nseg;
    size_t max_body;
    ic_handler handler;
    void *arg;
} ic_route;

typedef struct ic_hdr {
    char *name;
    char *value;
    struct ic_hdr *next;
} ic_hdr;

struct ic_req {
    ic_http *h;
    struct MHD_Connection *conn;
    pthread_mutex_t mu;
    atomic_int refs;

    const ic_route *route; /* NULL when nothing matched */
    int early_status;      /* 404, 405 or 413 decided before the handler; 0 otherwise */
    char allow[48];        /* the Allow header for a 405 */
    char method[8];
    char rid[12]; /* "r-" + 8 hex */
    char *path;   /* a copy of the (decoded) path */
    char *segbuf; /* the path split at '/', captures point into it */
    const char *pnames[IC_REQ_MAX_PARAMS];
    const char *pvals[IC_REQ_MAX_PARAMS];
    size_t nparams;
    ic_buf body;
    size_t max_body;
    bool too_big;     /* the body went over max_body */
    size_t discarded; /* bytes dropped after too_big */
    int64_t start_us;
    void *data;

    /* Guarded by mu. */
    bool dispatched;    /* the handler has been called */
    bool returned;      /* the handler has returned */
    bool deferred;      /* ic_req_defer was called */
    bool user_answered; /* the handler's own ic_req_respond* came */
    bool answered;      /* an answer exists (the handler's or the server's) */
    bool listed;        /* suspended and on the server's deferred list */
    bool counted;       /* counted in the server's unfinished count */
    int status;
    struct MHD_Response *resp; /* the answer, until queued */
    ic_hdr *hdrs;              /* extra headers for the handler's answer */
    ic_req *dprev, *dnext;     /* the deferred list, guarded by http->mu */
};

struct ic_http {
    ic_http_config cfg;
    char *listen_addr;
    struct MHD_Daemon *d;
    int port;
    ic_route *routes;
    size_t nroutes;
    size_t routes_cap;

    pthread_mutex_t mu;
    ic_req *deferred_head;      /* suspended requests waiting for their answer (mu) */
    size_t deferred_count;      /* (mu) */
    bool closing;               /* after the grace: no more suspensions (mu) */
    atomic_size_t unfinished;   /* handlers called whose request has not completed */
    atomic_size_t resuming_now; /* answers between unlisting and MHD_resume_connection */
    atomic_size_t connections;  /* open connections, knocks included */
    struct ic_http_waker *waker;
};

/* http.c */
/* Takes r out of h's list of deferred requests. The caller holds h->mu and
 * r is in the list. */
void ic_http_deferred_unlink(ic_http *h, ic_req *r);

/* router.c */
void ic_http_routes_free(ic_http *h);
/* Splits r->path, finds the route for r->method, sets r->route and its
 * captures; or sets r->early_status to 404 or 405 (with r->allow). */
void ic_http_route_match(ic_http *h, ic_req *r);

/* request.c */
ic_req *ic_req_new(ic_http *h, struct MHD_Connection *conn, const char *method, const char *url);
void ic_req_unref(ic_req *r);
/* Builds an error answer {"error":{"code","message"}} with the standard
 * headers (not the handler's extra ones). */
struct MHD_Response *ic_req_error_response(ic_req *r, const char *code, const char *message);
/* Records the answer (status, resp stolen). user: it is the handler's own
 * answer (drops the defer reference); otherwise the server's (404, 413, 503 at
 * shutdown). A second answer is dropped. May resume the connection. */
void ic_req_finish(ic_req *r, int status, struct MHD_Response *resp, bool user);

/* waker.c */
typedef struct ic_http_waker ic_http_waker;
/* Starts a thread that, while *conns is high enough for libmicrohttpd's
 * epoll loop to stall, connects to the server at listen_addr:port every
 * 100 ms so that every poll thread gets an event. conns is borrowed and must
 * outlive the waker. NULL when the thread cannot be started (logged; the
 * server works without it). Call after the daemon listens. */
ic_http_waker *ic_http_waker_start(const char *listen_addr, int port, const atomic_size_t *conns);
/* Stops the thread and frees w; waits at most for one knock. NULL ok. */
void ic_http_waker_stop(ic_http_waker *w);

#endif
