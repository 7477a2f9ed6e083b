/* sse.c - the Server-Sent Events hub (sse.h); docs/internals/live.md.
 *
 * Locks: hub->mu (the client list, the inbox, the ring, the counters), then
 * a client's mu (its queue and its paused/ending state). A client is linked
 * in the hub's list from ic_sse_open until its stream's done callback, which
 * unlinks and frees it; the hub thread touches clients only under hub->mu.
 * A client's connection is resumed only when its read paused it (paused,
 * under the client's mu), so a resume never reaches a closed connection.
 */
#include "http/sse.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SSE_ID_MAX 63
#define SSE_TYPE_MAX 63

static const char RESYNC_TEXT[] = "event: resync\ndata: {}\n\n";
static const char HEARTBEAT_TEXT[] = ": heartbeat\n\n";

typedef struct client {
    ic_sse_hub *hub;
    ic_req *r;
    int64_t ws;
    pthread_mutex_t mu;
    ic_buf out;  /* formatted text not yet written (mu) */
    size_t off;  /* how much of out is written (mu) */
    bool paused; /* its read paused the connection (mu) */
    bool ending; /* end once out is written (mu) */
    struct client *prev, *next;
} client;

/* A posted event (text == NULL: resynchronise everyone). */
typedef struct item {
    int64_t ws;
    char id[SSE_ID_MAX + 1];
    char *text;
    struct item *next;
} item;

typedef struct ring_entry {
    int64_t ws;
    char id[SSE_ID_MAX + 1];
    char *text;
} ring_entry;

struct ic_sse_hub {
    ic_sse_config cfg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;    /* (mu) */
    bool closing; /* (mu) */
    client *clients;
    item *in_head, *in_tail;
    size_t in_len;
    ring_entry *ring; /* cfg.ring entries, the oldest at ring_start */
    size_t ring_start, ring_len;
    ic_sse_stats st;
};

/* ---- the client's queue ------------------------------------------------------ */

/* Appends text to c's queue, or, when that would go over the bound, replaces
 * the queue with a final resync. Caller holds c->mu. True when queued. */
static bool client_push(client *c, const char *text, size_t len, size_t max)
{
    if (c->ending)
        return false;
    if (c->off > 0) { /* drop what is written */
        memmove(c->out.data, c->out.data + c->off, c->out.len - c->off);
        c->out.len -= c->off;
        c->out.data[c->out.len] = '\0';
        c->off = 0;
    }
    if (c->out.len + len > max) {
        ic_buf_reset(&c->out);
        ic_buf_puts(&c->out, RESYNC_TEXT);
        c->ending = true;
        return false;
    }
    ic_buf_append(&c->out, text, len);
    return true;
}

/* Wakes c's connection when its read paused it. Caller holds c->mu. */
static void client_wake(client *c)
{
    if (c->paused) {
        c->paused = false;
        ic_req_stream_resume(c->r);
    }
}

static ssize_t client_read(void *cls, char *buf, size_t max)
{
    client *c = cls;
    ssize_t n = 0;
    pthread_mutex_lock(&c->mu);
    if (c->off < c->out.len) {
        size_t k = c->out.len - c->off;
        if (k > max)
            k = max;
        memcpy(buf, c->out.data + c->off, k);
        c->off += k;
        if (c->off == c->out.len) {
            ic_buf_reset(&c->out);
            c->off = 0;
        }
        n = (ssize_t)k;
    } else if (c->ending) {
        n = -1;
    } else {
        c->paused = true;
        ic_req_stream_pause(c->r);
    }
    pthread_mutex_unlock(&c->mu);
    return n;
}

static void client_done(void *cls)
{
    client *c = cls;
    ic_sse_hub *hub = c->hub;
    pthread_mutex_lock(&hub->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        hub->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    hub->st.clients--;
    pthread_mutex_unlock(&hub->mu);
    ic_buf_free(&c->out);
    pthread_mutex_destroy(&c->mu);
    ic_free(c);
}

/* ---- the ring ---------------------------------------------------------------- */

static void ring_clear(ic_sse_hub *hub)
{
    for (size_t i = 0; i < hub->ring_len; i++)
        ic_free(hub->ring[(hub->ring_start + i) % hub->cfg.ring].text);
    hub->ring_start = hub->ring_len = 0;
}

/* Remembers an event; text is stolen. Caller holds hub->mu. */
static void ring_add(ic_sse_hub *hub, int64_t ws, const char *id, char *text)
{
    size_t cap = hub->cfg.ring;
    ring_entry *e;
    if (hub->ring_len == cap) {
        e = &hub->ring[hub->ring_start];
        ic_free(e->text);
        hub->ring_start = (hub->ring_start + 1) % cap;
    } else {
        e = &hub->ring[(hub->ring_start + hub->ring_len) % cap];
        hub->ring_len++;
    }
    e->ws = ws;
    ic_strlcpy(e->id, id, sizeof e->id);
    e->text = text;
}

/* Queues to c what came after last_id in ws, or a resync when last_id is
 * not remembered. Caller holds hub->mu and c->mu. */
static void ring_replay(ic_sse_hub *hub, client *c, const char *last_id)
{
    size_t cap = hub->cfg.ring, i = hub->ring_len;
    while (i > 0) {
        const ring_entry *e = &hub->ring[(hub->ring_start + i - 1) % cap];
        if (strcmp(e->id, last_id) == 0 && e->ws == c->ws)
            break;
        i--;
    }
    if (i == 0) {
        client_push(c, RESYNC_TEXT, sizeof RESYNC_TEXT - 1, SIZE_MAX);
        return;
    }
    for (; i < hub->ring_len; i++) {
        const ring_entry *e = &hub->ring[(hub->ring_start + i) % cap];
        if (e->ws == c->ws)
            client_push(c, e->text, strlen(e->text), hub->cfg.queue_max);
    }
}

/* ---- the hub thread ------------------------------------------------------------ */

/* Queues one posted item to every client it is for. Caller holds hub->mu. */
static void fan_out(ic_sse_hub *hub, item *it)
{
    if (!it->text) {
        ring_clear(hub);
        for (client *c = hub->clients; c; c = c->next) {
            pthread_mutex_lock(&c->mu);
            client_push(c, RESYNC_TEXT, sizeof RESYNC_TEXT - 1, hub->cfg.queue_max);
            client_wake(c);
            pthread_mutex_unlock(&c->mu);
        }
        return;
    }
    size_t len = strlen(it->text);
    hub->st.events++;
    for (client *c = hub->clients; c; c = c->next) {
        if (c->ws != it->ws)
            continue;
        pthread_mutex_lock(&c->mu);
        bool was_ending = c->ending;
        if (client_push(c, it->text, len, hub->cfg.queue_max))
            hub->st.delivered++;
        else if (!was_ending)
            hub->st.overflowed++;
        client_wake(c);
        pthread_mutex_unlock(&c->mu);
    }
    ring_add(hub, it->ws, it->id, it->text);
    it->text = NULL;
}

/* A heartbeat to every client with nothing queued. Caller holds hub->mu. */
static void heartbeat(ic_sse_hub *hub)
{
    for (client *c = hub->clients; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        if (c->out.len == c->off)
            client_push(c, HEARTBEAT_TEXT, sizeof HEARTBEAT_TEXT - 1, SIZE_MAX);
        client_wake(c);
        pthread_mutex_unlock(&c->mu);
    }
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *hub_main(void *arg)
{
    ic_sse_hub *hub = arg;
    pthread_setname_np(pthread_self(), "ic-sse-hub");
    struct timespec next_beat;
    deadline_after(&next_beat, hub->cfg.heartbeat_ms);
    pthread_mutex_lock(&hub->mu);
    while (!hub->stop) {
        int rc = 0;
        while (!hub->stop && !hub->in_head && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&hub->cv, &hub->mu, &next_beat);
        item *list = hub->in_head;
        hub->in_head = hub->in_tail = NULL;
        hub->in_len = 0;
        for (item *it = list, *nx; it; it = nx) {
            nx = it->next;
            if (!hub->closing)
                fan_out(hub, it);
            ic_free(it->text);
            ic_free(it);
        }
        if (rc == ETIMEDOUT) {
            if (!hub->closing)
                heartbeat(hub);
            deadline_after(&next_beat, hub->cfg.heartbeat_ms);
        }
    }
    pthread_mutex_unlock(&hub->mu);
    return NULL;
}

/* ---- the contract ----------------------------------------------------------------- */

/* Starts the hub; see sse.h. */
ic_err ic_sse_hub_start(const ic_sse_config *cfg, ic_sse_hub **out, ic_errmsg *em)
{
    *out = NULL;
    ic_sse_hub *hub = ic_calloc(1, sizeof *hub);
    if (cfg)
        hub->cfg = *cfg;
    if (hub->cfg.heartbeat_ms <= 0)
        hub->cfg.heartbeat_ms = 15000;
    if (hub->cfg.retry_ms <= 0)
        hub->cfg.retry_ms = 3000;
    if (hub->cfg.queue_max == 0)
        hub->cfg.queue_max = 64 * 1024;
    if (hub->cfg.ring == 0)
        hub->cfg.ring = 1024;
    if (hub->cfg.inbox_max == 0)
        hub->cfg.inbox_max = 65536;
    hub->ring = ic_calloc(hub->cfg.ring, sizeof *hub->ring);
    pthread_mutex_init(&hub->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&hub->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&hub->thread, NULL, hub_main, hub) != 0) {
        pthread_cond_destroy(&hub->cv);
        pthread_mutex_destroy(&hub->mu);
        ic_free(hub->ring);
        ic_free(hub);
        return ic_errf(em, IC_ERR_IO, "cannot start the event stream thread");
    }
    *out = hub;
    return IC_OK;
}

/* Opens a stream on r; see sse.h. */
ic_err ic_sse_open(ic_sse_hub *hub, ic_req *r, int64_t ws, const char *last_event_id)
{
    client *c = ic_calloc(1, sizeof *c);
    c->hub = hub;
    c->r = r;
    c->ws = ws;
    pthread_mutex_init(&c->mu, NULL);
    ic_buf_init(&c->out);
    ic_buf_printf(&c->out, "retry: %d\n\n", hub->cfg.retry_ms);

    pthread_mutex_lock(&hub->mu);
    if (hub->closing) {
        pthread_mutex_unlock(&hub->mu);
        ic_buf_free(&c->out);
        pthread_mutex_destroy(&c->mu);
        ic_free(c);
        return IC_ERR_BUSY;
    }
    if (last_event_id && *last_event_id) {
        pthread_mutex_lock(&c->mu);
        ring_replay(hub, c, last_event_id);
        pthread_mutex_unlock(&c->mu);
    }
    c->next = hub->clients;
    if (hub->clients)
        hub->clients->prev = c;
    hub->clients = c;
    hub->st.clients++;
    hub->st.opened++;
    pthread_mutex_unlock(&hub->mu);

    ic_req_add_header(r, "X-Accel-Buffering", "no"); /* nginx: do not buffer */
    ic_req_respond_stream(r, 200, "text/event-stream; charset=utf-8", client_read, client_done, c);
    return IC_OK;
}

static bool valid_token(const char *s, size_t max, bool type)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (type ? !((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_')
                 : (ch <= ' ' || ch >= 0x7f))
            return false;
    }
    return true;
}

static void inbox_push(ic_sse_hub *hub, item *it)
{
    it->next = NULL;
    if (hub->in_tail)
        hub->in_tail->next = it;
    else
        hub->in_head = it;
    hub->in_tail = it;
    hub->in_len++;
    pthread_cond_signal(&hub->cv);
}

/* Posts an event; see sse.h. */
ic_err ic_sse_post(ic_sse_hub *hub, int64_t ws, const char *id, const char *type, const char *data)
{
    if (!valid_token(id, SSE_ID_MAX, false) || !valid_token(type, SSE_TYPE_MAX, true) || !data ||
        strpbrk(data, "\r\n"))
        return IC_ERR_INVALID;
    item *it = ic_calloc(1, sizeof *it);
    it->ws = ws;
    ic_strlcpy(it->id, id, sizeof it->id);
    ic_buf b = IC_BUF_INIT;
    ic_buf_printf(&b, "id: %s\nevent: %s\ndata: %s\n\n", id, type, data);
    it->text = ic_buf_steal(&b);
    pthread_mutex_lock(&hub->mu);
    if (hub->in_len >= hub->cfg.inbox_max) {
        hub->st.dropped++;
        pthread_mutex_unlock(&hub->mu);
        ic_free(it->text);
        ic_free(it);
        return IC_ERR_BUSY;
    }
    inbox_push(hub, it);
    pthread_mutex_unlock(&hub->mu);
    return IC_OK;
}

/* Resynchronises every client; see sse.h. */
void ic_sse_post_resync(ic_sse_hub *hub)
{
    item *it = ic_calloc(1, sizeof *it);
    pthread_mutex_lock(&hub->mu);
    inbox_push(hub, it); /* never refused: a lost resync would hide lost events */
    pthread_mutex_unlock(&hub->mu);
}

/* Copies the counters; see sse.h. */
void ic_sse_stats_get(ic_sse_hub *hub, ic_sse_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!hub)
        return;
    pthread_mutex_lock(&hub->mu);
    *out = hub->st;
    pthread_mutex_unlock(&hub->mu);
}

/* Ends every stream; see sse.h. */
void ic_sse_hub_close(ic_sse_hub *hub)
{
    if (!hub)
        return;
    pthread_mutex_lock(&hub->mu);
    hub->closing = true;
    size_t n = 0;
    for (client *c = hub->clients; c; c = c->next, n++) {
        pthread_mutex_lock(&c->mu);
        c->ending = true;
        client_wake(c);
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&hub->mu);
    if (n)
        IC_INFO("sse_closing", "streams=%zu", n);
}

/* Stops the thread and frees the hub; see sse.h. */
void ic_sse_hub_free(ic_sse_hub *hub)
{
    if (!hub)
        return;
    pthread_mutex_lock(&hub->mu);
    hub->stop = true;
    pthread_cond_signal(&hub->cv);
    pthread_mutex_unlock(&hub->mu);
    pthread_join(hub->thread, NULL);
    for (item *it = hub->in_head, *nx; it; it = nx) {
        nx = it->next;
        ic_free(it->text);
        ic_free(it);
    }
    if (hub->clients) /* ic_http_stop ends every stream; this would be a bug */
        IC_ERROR("sse_clients_left", "clients=%" PRIu64, hub->st.clients);
    ring_clear(hub);
    ic_free(hub->ring);
    pthread_cond_destroy(&hub->cv);
    pthread_mutex_destroy(&hub->mu);
    ic_free(hub);
}
