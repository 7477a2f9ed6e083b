/* http.h - impactchat's HTTP server: a thin layer over libmicrohttpd.
 *
 * Requests are routed by method and path pattern to handlers. A handler
 * answers exactly once, either before it returns (ic_req_respond*) or later,
 * from any thread, after calling ic_req_defer(): the connection is then
 * suspended (MHD_suspend_connection) and resumed when the answer is set, so a
 * poll thread never waits for the writer or the network (DESIGN.md 8.1).
 *
 * Bodies are read fully before the handler runs and bounded per route: a body
 * over the bound gets 413 and the handler never runs (a chunked body that
 * goes on more than 1 MB past its bound has its connection closed instead). Every request gets a
 * short random request id (logged, and sent back as X-Request-Id).
 *
 * Threads: handlers run on libmicrohttpd's pool threads; ic_req_respond* may
 * be called from any thread, once.
 */
#ifndef IC_HTTP_HTTP_H
#define IC_HTTP_HTTP_H

#include "base/err.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct ic_http ic_http;
typedef struct ic_req ic_req;

/* A request handler. arg is the pointer given to ic_http_route. */
typedef void (*ic_handler)(ic_req *r, void *arg);

typedef struct ic_http_config {
    const char *listen_addr; /* "127.0.0.1" */
    int port;                /* 0 picks a free port (see ic_http_port) */
    int threads;             /* poll threads (default 2) */
    size_t default_max_body; /* bound for routes that give none (1 MB) */
} ic_http_config;

/* Creates a server (not started). */
ic_err ic_http_new(const ic_http_config *cfg, ic_http **out, ic_errmsg *em);

/* Adds a route. method: "GET", "POST", "PATCH", "PUT", "DELETE". pattern:
 * a path whose segments may be "{name}" captures ("/api/v1/contacts/{id}").
 * max_body: the body bound for this route (0 = the default). Routes are
 * matched in the order added. Call before ic_http_start. */
void ic_http_route(ic_http *h, const char *method, const char *pattern, size_t max_body,
                   ic_handler handler, void *arg);

/* Starts listening. IC_ERR_IO with em when the port is taken. */
ic_err ic_http_start(ic_http *h, ic_errmsg *em);

/* The port actually bound (useful with port 0). */
int ic_http_port(const ic_http *h);

/* Stops accepting, waits for deferred requests to be answered (at most
 * grace_ms), resumes any left (they get 503), stops and frees. NULL ok. */
void ic_http_stop(ic_http *h, int grace_ms);

/* ---- the request, for handlers ------------------------------------------ */

const char *ic_req_method(const ic_req *r);
const char *ic_req_path(const ic_req *r);
/* A "{name}" capture of the route pattern, or NULL. Borrowed. */
const char *ic_req_param(const ic_req *r, const char *name);
/* A query-string argument (URL-decoded), or NULL. Borrowed, and valid only
 * while the handler runs (copy what a deferred answer needs). */
const char *ic_req_query(const ic_req *r, const char *name);
/* A request header (case-insensitive), or NULL. Borrowed, and valid only
 * while the handler runs. */
const char *ic_req_header(const ic_req *r, const char *name);
/* The raw body (NUL-terminated for convenience) and its length. Borrowed. */
const char *ic_req_body(const ic_req *r, size_t *len);
/* The request id ("r-1a2b3c4d"). Borrowed. */
const char *ic_req_id(const ic_req *r);
/* Per-request scratch for the handler: set/get one pointer. The handler must
 * free what it stores before or when it responds. */
void ic_req_set_data(ic_req *r, void *data);
void *ic_req_data(const ic_req *r);

/* ---- answering ----------------------------------------------------------- */

/* Answers with a copy of body. Extra headers, if any, are added with
 * ic_req_add_header before responding. Once per request; any thread. */
void ic_req_respond(ic_req *r, int status, const char *content_type, const void *body, size_t len);
/* Answers with body serialised compactly as application/json; steals body. */
void ic_req_respond_json(ic_req *r, int status, json_t *body);
/* Answers {"error":{"code":code,"message":message}} with status. */
void ic_req_error(ic_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Answers with the file at path (streamed), or 404 when it cannot be opened. */
void ic_req_respond_file(ic_req *r, int status, const char *content_type, const char *path);
/* Adds a response header (copied). Call before responding. */
void ic_req_add_header(ic_req *r, const char *name, const char *value);
/* Tells the server the answer will come later, from another thread: the
 * connection is suspended when the handler returns. */
void ic_req_defer(ic_req *r);

/* ---- streaming answers (Server-Sent Events) ------------------------------ */

/* A streaming answer's producer, called on a poll thread whenever the
 * connection can take more: copies 1..max bytes into buf and returns how
 * many; or, with nothing to send now, calls ic_req_stream_pause(r) and
 * returns 0; or returns -1 to end the answer. */
typedef ssize_t (*ic_stream_read)(void *cls, char *buf, size_t max);
/* Called once when the stream is over (ended, the client went away, or the
 * server stopped), on a poll thread; the server never uses cls after it. */
typedef void (*ic_stream_done)(void *cls);

/* Answers with a body of unknown length produced by read (chunked), plus the
 * handler's extra headers. Once per request, from the handler. done is
 * called exactly once, also when the answer cannot be sent. The stream keeps
 * r alive until done, so r may be paused and resumed until then. */
void ic_req_respond_stream(ic_req *r, int status, const char *content_type, ic_stream_read read,
                           ic_stream_done done, void *cls);
/* Stops calling the stream's read until ic_req_stream_resume. Only from
 * inside the stream's read, just before it returns 0. */
void ic_req_stream_pause(ic_req *r);
/* Calls the stream's read again soon. Any thread; only after a pause and
 * before done (the caller keeps track, under its own lock). */
void ic_req_stream_resume(ic_req *r);

/* Maps an ic_err to the HTTP status the API uses (400, 401, 403, 404, 409,
 * 413, 422, 503, 500). */
int ic_http_status_for(ic_err e);

#endif
