/* sse.h - the Server-Sent Events hub: many open event streams, one thread.
 *
 * The hub keeps every open stream (a client) of this process. Events are
 * posted from any thread (the bus subscriber, tests); the hub's one thread
 * formats each event once and appends it to the queue of every client of the
 * event's workspace, and resumes the clients' suspended connections, which
 * libmicrohttpd's poll threads then write (http.h's streaming answers). No
 * thread per client: an idle stream is a suspended connection and a queue.
 *
 * Wire format (https://html.spec.whatwg.org/multipage/server-sent-events.html):
 * a stream starts with "retry: <ms>"; an event is "id:", "event:" and one
 * "data:" line of compact JSON; an idle stream gets ": heartbeat" every
 * heartbeat interval. A client whose queue would go over its bound gets a
 * final "event: resync" and its stream ends (it reconnects and refetches).
 *
 * Reconnection: the hub remembers the last events (a ring shared by all
 * workspaces). A stream opened with Last-Event-ID gets the ring's later
 * events of its workspace when the id is in the ring, and "event: resync"
 * otherwise (events may have been missed).
 */
#ifndef IC_HTTP_SSE_H
#define IC_HTTP_SSE_H

#include "base/err.h"
#include "http/http.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ic_sse_hub ic_sse_hub;

typedef struct ic_sse_config {
    int heartbeat_ms; /* a comment to idle streams this often (15000) */
    int retry_ms;     /* the reconnection delay sent to clients (3000) */
    size_t queue_max; /* bytes queued per client before it is dropped (64 KiB) */
    size_t ring;      /* events remembered for Last-Event-ID (1024) */
    size_t inbox_max; /* events posted but not yet fanned out (65536) */
} ic_sse_config;

/* Counters since start, for health and tests. */
typedef struct ic_sse_stats {
    uint64_t clients;    /* open streams now */
    uint64_t opened;     /* streams opened */
    uint64_t events;     /* events fanned out */
    uint64_t delivered;  /* event copies queued to clients */
    uint64_t overflowed; /* clients dropped because their queue was full */
    uint64_t dropped;    /* posts refused because the inbox was full */
} ic_sse_stats;

/* Starts the hub's thread. cfg may be NULL (defaults); zero members take
 * their default. On error *out is NULL and em says why. */
ic_err ic_sse_hub_start(const ic_sse_config *cfg, ic_sse_hub **out, ic_errmsg *em);

/* Answers r (from its handler) with an event stream of workspace ws.
 * last_event_id: the Last-Event-ID header or NULL (copied). IC_ERR_BUSY
 * when the hub is closing: the caller answers 503. Poll thread. */
ic_err ic_sse_open(ic_sse_hub *hub, ic_req *r, int64_t ws, const char *last_event_id);

/* Posts an event for the clients of workspace ws: id (1..63 printable
 * characters without spaces), type ([a-z0-9._]{1,63}) and data (one line of
 * JSON, no CR or LF) are copied. Never blocks on I/O. IC_ERR_INVALID for a
 * bad id, type or data; IC_ERR_BUSY when the inbox is full (counted).
 * Thread-safe. */
ic_err ic_sse_post(ic_sse_hub *hub, int64_t ws, const char *id, const char *type, const char *data);

/* Tells every client that events may have been missed (the bus
 * reconnected): each gets "event: resync", and the ring is forgotten.
 * Thread-safe, never blocks on I/O. */
void ic_sse_post_resync(ic_sse_hub *hub);

/* Copies the counters. Thread-safe; hub may be NULL (zeros). */
void ic_sse_stats_get(ic_sse_hub *hub, ic_sse_stats *out);

/* Ends every stream (after what is queued) and refuses new ones. Call
 * before ic_http_stop, which waits for open streams. Idempotent; NULL ok. */
void ic_sse_hub_close(ic_sse_hub *hub);

/* Stops the thread and frees the hub. Call after ic_http_stop (streams may
 * end until then) and after the last ic_sse_post. NULL ok. */
void ic_sse_hub_free(ic_sse_hub *hub);

#endif
