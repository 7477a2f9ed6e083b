/* live.c - publishing live events and handing them to this node's SSE hub
 * (live.h, docs/internals/live.md). */
#include "core/live.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "http/sse.h"
#include "store/bus.h"
#include "store/sql.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

typedef struct live_req live_req;

/* ic_live instances at once (one per app; tests may run a few). */
#define LIVE_MAX 8

struct ic_live {
    ic_app *app;
    ic_sse_hub *hub;
    /* The worker publishing committed batches' message events (live_req). */
    pthread_t worker;
    bool worker_running; /* started and not joined yet */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    live_req *head, *tail; /* under mu */
    size_t queued;         /* under mu */
    bool closing;          /* under mu: no new requests; the worker ends once idle */
    uint64_t dropped;      /* under mu */
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static ic_live *reg[LIVE_MAX];
/* SQLite's bus for ic_live_publish: the newest started ic_live's. */
static _Atomic(ic_bus *) local_bus;

static const char *const TYPES[] = {
    IC_LIVE_MESSAGE_CREATED,       IC_LIVE_MESSAGE_STATUS, IC_LIVE_CONVERSATION_UPDATED,
    IC_LIVE_CONVERSATION_ASSIGNED, IC_LIVE_NOTE_CREATED,   IC_LIVE_TYPING,
};

static bool known_type(const char *type)
{
    for (size_t i = 0; type && i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (strcmp(type, TYPES[i]) == 0)
            return true;
    return false;
}

/* A new event id, unique across nodes without coordination: the time in
 * microseconds, then 32 random bits (hex). */
static void new_id(char *id, size_t size)
{
    char rnd[9];
    ic_random_hex(rnd, 4);
    snprintf(id, size, "%" PRIx64 "-%s", (uint64_t)ic_now_us(), rnd);
}

typedef struct dump_ctx {
    char *out;
    size_t size, len;
    bool over;
} dump_ctx;

static int dump_fixed(const char *buf, size_t n, void *arg)
{
    dump_ctx *d = arg;
    if (d->over || n >= d->size - d->len) {
        d->over = true;
        return -1;
    }
    memcpy(d->out + d->len, buf, n);
    d->len += n;
    d->out[d->len] = '\0';
    return 0;
}

/* Builds the bus payload; see live.h. */
ic_err ic_live_format(int64_t ws, const char *type, const json_t *data, char *out, size_t size,
                      char *id, size_t id_size)
{
    if (!known_type(type) || (data && !json_is_object(data)) || size < 2 || id_size < 32)
        return IC_ERR_INVALID;
    /* Unique across nodes without coordination: the time, then randomness. */
    new_id(id, id_size);
    int n = snprintf(out, size, "{\"ws\":%" PRId64 ",\"type\":\"%s\",\"id\":\"%s\",\"data\":", ws,
                     type, id);
    if (n < 0 || (size_t)n >= size)
        return IC_ERR_INVALID;
    dump_ctx d = {.out = out, .size = size, .len = (size_t)n};
    if (data) {
        if (json_dump_callback(data, dump_fixed, &d, JSON_COMPACT) != 0 || d.over)
            return IC_ERR_INVALID;
    } else if (dump_fixed("{}", 2, &d) != 0) {
        return IC_ERR_INVALID;
    }
    if (dump_fixed("}", 1, &d) != 0 || d.len > IC_BUS_PAYLOAD_MAX)
        return IC_ERR_INVALID;
    return IC_OK;
}

static ic_err publish(ic_conn *tx, ic_bus *bus, int64_t ws, const char *type, const json_t *data)
{
    char payload[IC_BUS_PAYLOAD_MAX + 1];
    char id[40];
    ic_err err = ic_live_format(ws, type, data, payload, sizeof payload, id, sizeof id);
    if (err != IC_OK) {
        IC_WARN("live_event_refused", "ws=%" PRId64 " type=%.40s", ws, type ? type : "-");
        return err;
    }
    if (tx && ic_db_is_postgres(ic_sql_conn_db(tx)))
        return ic_store_notify(tx, IC_LIVE_TOPIC, payload);
    return ic_bus_publish(bus, IC_LIVE_TOPIC, payload);
}

/* Publishes inside tx; see live.h. */
ic_err ic_live_publish(ic_conn *tx, int64_t ws, const char *type, const json_t *data)
{
    return publish(tx, atomic_load(&local_bus), ws, type, data);
}

/* Publishes through bus now; see live.h. */
ic_err ic_live_publish_now(ic_bus *bus, int64_t ws, const char *type, const json_t *data)
{
    return publish(NULL, bus, ws, type, data);
}

/* ---- message events after the commit ----------------------------------------- */

/* Requests waiting for the worker, at most; beyond it they are dropped. */
#define LIVE_QUEUE_MAX 1024
/* A wa_id longer than this is not one of Meta's: skipped. */
#define LIVE_WA_ID_MAX 256

/* One committed webhook batch: its message and status wa_ids, copied into
 * the same allocation (ids[0..n_msg) messages, then n_status statuses). */
struct live_req {
    live_req *next;
    int64_t ws, channel_id;
    size_t n_msg, n_status;
    char **ids;
};

/* The events of the messages of several requests, built by the NOTIFY
 * statement itself from the stored rows: one per message, message.created
 * when one of the requests had it as a message, else message.status. The
 * requests come as four aligned arrays, one element per wa_id: workspace,
 * channel, wa_id, and whether it was a message. Each event's id is $2
 * (unique), '-' and the row's id in hex. */
static const char SQL_NOTIFY_MESSAGES[] =
    "SELECT pg_notify($1, json_build_object('ws', m.workspace_id, 'type', CASE WHEN m.created "
    "THEN '" IC_LIVE_MESSAGE_CREATED "' ELSE '" IC_LIVE_MESSAGE_STATUS "' END, 'id', $2::text || "
    "'-' || to_hex(m.id), 'data', json_build_object('message_id', m.id, 'conversation_id', "
    "m.conversation_id, 'contact_id', m.contact_id, 'channel_id', m.channel_id, 'direction', "
    "m.direction, 'status', m.status))::text) FROM (SELECT m.id, m.workspace_id, "
    "m.conversation_id, m.contact_id, m.channel_id, m.direction, m.status, bool_or(r.created) AS "
    "created FROM unnest(CAST($3 AS bigint[]), CAST($4 AS bigint[]), CAST($5 AS text[]), "
    "CAST($6 AS boolean[])) AS r(ws, ch, wa_id, created) JOIN messages m ON m.channel_id = r.ch "
    "AND m.workspace_id = r.ws AND m.wa_id = r.wa_id GROUP BY m.id) m";
static const char SQL_ASYNC_COMMIT[] = "SET synchronous_commit = off";
static const char SQL_MESSAGE_ROW[] =
    "SELECT id, conversation_id, contact_id, direction, status FROM messages "
    "WHERE channel_id = $1 AND wa_id = $2 AND workspace_id = $3";

/* wa_ids per statement, about: a drained queue is sent in statements of
 * whole requests of about this many ids. */
#define LIVE_IDS_PER_STATEMENT 2000

/* The four array literals of SQL_NOTIFY_MESSAGES. */
typedef struct pg_arrays {
    ic_buf ws, ch, wa_id, created;
} pg_arrays;

/* Appends a request's ids to the arrays. A wa_id is double-quoted, with '"'
 * and '\' escaped by a backslash, so no id can end its element early. */
static void pg_arrays_add(pg_arrays *a, const live_req *q)
{
    for (size_t i = 0; i < q->n_msg + q->n_status; i++) {
        bool first = a->wa_id.len == 0;
        ic_buf_printf(&a->ws, "%s%" PRId64, first ? "" : ",", q->ws);
        ic_buf_printf(&a->ch, "%s%" PRId64, first ? "" : ",", q->channel_id);
        ic_buf_puts(&a->created, first ? (i < q->n_msg ? "t" : "f") : (i < q->n_msg ? ",t" : ",f"));
        ic_buf_puts(&a->wa_id, first ? "\"" : ",\"");
        for (const char *c = q->ids[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                ic_buf_putc(&a->wa_id, '\\');
            ic_buf_putc(&a->wa_id, *c);
        }
        ic_buf_putc(&a->wa_id, '"');
    }
}

/* "{" s "}" in out (reset first). */
static const char *braced(ic_buf *out, const ic_buf *s)
{
    ic_buf_reset(out);
    ic_buf_putc(out, '{');
    if (s->len)
        ic_buf_append(out, s->data, s->len);
    ic_buf_putc(out, '}');
    return ic_buf_cstr(out);
}

/* PostgreSQL: the requests from *list, about LIVE_IDS_PER_STATEMENT wa_ids
 * of them, in one autocommitted statement (a notifying transaction gets an
 * xid and flushes WAL at commit: one commit for many requests). *list
 * becomes the requests left; the ones sent are freed. */
static ic_err resolve_pg(ic_conn *c, live_req **list)
{
    pg_arrays a = {IC_BUF_INIT, IC_BUF_INIT, IC_BUF_INIT, IC_BUF_INIT};
    size_t ids = 0;
    while (*list && ids < LIVE_IDS_PER_STATEMENT) {
        live_req *q = *list;
        pg_arrays_add(&a, q);
        ids += q->n_msg + q->n_status;
        *list = q->next;
        ic_free(q);
    }
    ic_buf b[4] = {IC_BUF_INIT, IC_BUF_INIT, IC_BUF_INIT, IC_BUF_INIT};
    char id[40];
    new_id(id, sizeof id);
    ic_err err = ic_sql_run(c, SQL_NOTIFY_MESSAGES,
                            IC_ARGS(IC_TXT(IC_LIVE_TOPIC), IC_TXT(id), IC_TXT(braced(&b[0], &a.ws)),
                                    IC_TXT(braced(&b[1], &a.ch)), IC_TXT(braced(&b[2], &a.wa_id)),
                                    IC_TXT(braced(&b[3], &a.created))),
                            NULL);
    if (err != IC_OK)
        IC_WARN("live_publish_failed", "ids=%zu err=\"%s\"", ids, ic_strerror(err));
    for (int i = 0; i < 4; i++)
        ic_buf_free(&b[i]);
    ic_buf_free(&a.ws);
    ic_buf_free(&a.ch);
    ic_buf_free(&a.wa_id);
    ic_buf_free(&a.created);
    return err;
}

/* SQLite: reads the message wa_id's row and hands its event to the bus;
 * nothing when there is no such message. */
static ic_err publish_row(ic_conn *c, ic_bus *bus, const live_req *q, const char *type,
                          const char *wa_id)
{
    ic_stmt *st = NULL;
    ic_err err = ic_sql_row(c, SQL_MESSAGE_ROW,
                            IC_ARGS(IC_I64(q->channel_id), IC_TXT(wa_id), IC_I64(q->ws)), &st);
    if (err == IC_ERR_NOT_FOUND)
        return IC_OK;
    if (err != IC_OK)
        return err;
    json_t *data = json_object();
    json_object_set_new(data, "message_id", json_integer(ic_sql_col_i64(st, 0)));
    json_object_set_new(data, "conversation_id",
                        ic_sql_col_null(st, 1) ? json_null() : json_integer(ic_sql_col_i64(st, 1)));
    json_object_set_new(data, "contact_id", json_integer(ic_sql_col_i64(st, 2)));
    json_object_set_new(data, "channel_id", json_integer(q->channel_id));
    json_object_set_new(data, "direction", json_string(ic_sql_col_text(st, 3)));
    json_object_set_new(data, "status", json_string(ic_sql_col_text(st, 4)));
    ic_sql_done(st);
    err = ic_live_publish_now(bus, q->ws, type, data);
    json_decref(data);
    return err;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* SQLite: one event per distinct message, message.created winning over
 * message.status (as on PostgreSQL). Sorts the request's ids. */
static ic_err resolve_sqlite(ic_conn *c, ic_bus *bus, live_req *q)
{
    char **msg = q->ids, **sts = q->ids + q->n_msg;
    qsort(msg, q->n_msg, sizeof *msg, cmp_str);
    qsort(sts, q->n_status, sizeof *sts, cmp_str);
    ic_err err = IC_OK;
    for (size_t i = 0; i < q->n_msg && err == IC_OK; i++)
        if (i == 0 || strcmp(msg[i], msg[i - 1]) != 0)
            err = publish_row(c, bus, q, IC_LIVE_MESSAGE_CREATED, msg[i]);
    for (size_t i = 0; i < q->n_status && err == IC_OK; i++)
        if ((i == 0 || strcmp(sts[i], sts[i - 1]) != 0) &&
            !bsearch(&sts[i], msg, q->n_msg, sizeof *msg, cmp_str))
            err = publish_row(c, bus, q, IC_LIVE_MESSAGE_STATUS, sts[i]);
    return err;
}

/* The worker: takes all the queued requests at once and publishes their
 * events, on its own connection, until closing and idle. On PostgreSQL the
 * requests that queued during one statement go together in the next. */
static void *worker_main(void *arg)
{
    ic_live *live = arg;
    ic_conn *c = ic_db_thread_conn(live->app->db);
    bool pg = ic_db_is_postgres(live->app->db);
    /* A notifying transaction gets an xid, so its commit would wait for a WAL
     * flush (holding PostgreSQL's notify lock meanwhile) though it stored
     * nothing: these hints need no durability. Best effort (a reconnected
     * session commits synchronously again). */
    if (pg && ic_sql_exec(c, SQL_ASYNC_COMMIT) != IC_OK)
        IC_WARN("live_async_commit_failed", NULL);
    pthread_mutex_lock(&live->mu);
    for (;;) {
        while (!live->head && !live->closing)
            pthread_cond_wait(&live->cond, &live->mu);
        live_req *q = live->head;
        if (!q)
            break; /* closing and idle */
        live->head = NULL;
        live->tail = NULL;
        live->queued = 0;
        pthread_mutex_unlock(&live->mu);
        while (pg && q)
            resolve_pg(c, &q);
        while (q) {
            live_req *next = q->next;
            ic_err err = resolve_sqlite(c, live->app->bus, q);
            if (err != IC_OK)
                IC_WARN("live_publish_failed", "ws=%" PRId64 " channel=%" PRId64 " err=\"%s\"",
                        q->ws, q->channel_id, ic_strerror(err));
            ic_free(q);
            q = next;
        }
        pthread_mutex_lock(&live->mu);
    }
    pthread_mutex_unlock(&live->mu);
    return NULL;
}

static bool wa_id_ok(const ic_wa_event *ev, ic_wa_kind kind)
{
    return ev->kind == kind && ev->id && ev->id[0] && strlen(ev->id) <= LIVE_WA_ID_MAX;
}

/* Copies the batch's message and status wa_ids into one new request; NULL
 * when it has none. */
static live_req *req_new(int64_t ws, int64_t channel_id, const ic_wa_batch *b)
{
    size_t n_msg = 0, n_status = 0, bytes = 0;
    for (size_t i = 0; i < b->count; i++) {
        const ic_wa_event *ev = &b->events[i];
        bool m = wa_id_ok(ev, IC_WA_MESSAGE), s = wa_id_ok(ev, IC_WA_STATUS);
        n_msg += m;
        n_status += s;
        if (m || s)
            bytes += strlen(ev->id) + 1;
    }
    if (n_msg + n_status == 0)
        return NULL;
    size_t n = n_msg + n_status;
    live_req *q = ic_malloc(sizeof *q + n * sizeof(char *) + bytes);
    *q = (live_req){.ws = ws, .channel_id = channel_id, .n_msg = n_msg, .n_status = n_status};
    q->ids = (char **)(q + 1);
    char *text = (char *)(q->ids + n);
    size_t mi = 0, si = n_msg;
    for (size_t i = 0; i < b->count; i++) {
        const ic_wa_event *ev = &b->events[i];
        bool m = wa_id_ok(ev, IC_WA_MESSAGE);
        if (!m && !wa_id_ok(ev, IC_WA_STATUS))
            continue;
        size_t len = strlen(ev->id) + 1;
        memcpy(text, ev->id, len);
        q->ids[m ? mi++ : si++] = text;
        text += len;
    }
    return q;
}

/* Queues a committed batch's message events; see live.h. */
ic_err ic_live_ingested(ic_live *live, int64_t ws, int64_t channel_id, const ic_wa_batch *b)
{
    if (!live || !b)
        return IC_OK;
    live_req *q = req_new(ws, channel_id, b);
    if (!q)
        return IC_OK;
    pthread_mutex_lock(&live->mu);
    bool take = live->worker_running && !live->closing && live->queued < LIVE_QUEUE_MAX;
    if (take) {
        if (live->tail)
            live->tail->next = q;
        else
            live->head = q;
        live->tail = q;
        live->queued++;
        pthread_cond_signal(&live->cond);
    } else {
        live->dropped++;
    }
    uint64_t dropped = live->dropped;
    bool closing = live->closing;
    pthread_mutex_unlock(&live->mu);
    if (take)
        return IC_OK;
    if (!closing)
        IC_WARN("live_dropped", "ws=%" PRId64 " channel=%" PRId64 " dropped=%" PRIu64, ws,
                channel_id, dropped);
    ic_free(q);
    return IC_ERR_BUSY;
}

/* Lets the worker finish what is queued and joins it; later requests are
 * dropped. */
static void worker_stop(ic_live *live)
{
    pthread_mutex_lock(&live->mu);
    live->closing = true;
    bool running = live->worker_running;
    live->worker_running = false;
    pthread_cond_signal(&live->cond);
    pthread_mutex_unlock(&live->mu);
    if (running)
        pthread_join(live->worker, NULL);
}

/* ---- receiving ---------------------------------------------------------------- */

/* The bus subscriber: an event to the hub, or a resync when events may have
 * been missed. Runs on the bus thread; ic_sse_post never blocks. */
static void on_bus(void *arg, const char *topic, const char *payload)
{
    (void)topic;
    ic_live *live = arg;
    if (!payload) {
        ic_sse_post_resync(live->hub);
        return;
    }
    json_t *ev = json_loads(payload, 0, NULL);
    json_int_t ws = 0;
    const char *type = NULL, *id = NULL;
    json_t *data = NULL;
    char *text = NULL;
    if (!ev ||
        json_unpack(ev, "{s:I,s:s,s:s,s:o}", "ws", &ws, "type", &type, "id", &id, "data", &data) !=
            0 ||
        !json_is_object(data) || !(text = json_dumps(data, JSON_COMPACT))) {
        IC_WARN("live_event_malformed", "bytes=%zu", strlen(payload));
    } else if (ic_sse_post(live->hub, (int64_t)ws, id, type, text) != IC_OK) {
        IC_WARN("live_event_dropped", "ws=%" PRId64 " type=%.40s", (int64_t)ws, type);
    }
    free(text); /* jansson's allocator */
    json_decref(ev);
}

static void live_free(ic_live *live)
{
    pthread_mutex_destroy(&live->mu);
    pthread_cond_destroy(&live->cond);
    ic_free(live);
}

/* Starts the receiving side and the worker; see live.h. */
ic_err ic_live_start(ic_app *app, const ic_live_config *cfg, ic_live **out, ic_errmsg *em)
{
    *out = NULL;
    ic_sse_config sc = {0};
    if (cfg) {
        sc.heartbeat_ms = cfg->heartbeat_ms;
        sc.queue_max = cfg->queue_max;
    }
    ic_live *live = ic_calloc(1, sizeof *live);
    live->app = app;
    pthread_mutex_init(&live->mu, NULL);
    pthread_cond_init(&live->cond, NULL);
    ic_err err = ic_sse_hub_start(&sc, &live->hub, em);
    if (err != IC_OK) {
        live_free(live);
        return err;
    }
    pthread_mutex_lock(&reg_mu);
    size_t i = 0;
    while (i < LIVE_MAX && reg[i])
        i++;
    if (i < LIVE_MAX)
        reg[i] = live;
    pthread_mutex_unlock(&reg_mu);
    if (i == LIVE_MAX) {
        ic_sse_hub_free(live->hub);
        live_free(live);
        return ic_errf(em, IC_ERR_BUSY, "too many live hubs in one process");
    }
    if (app->db) {
        if (pthread_create(&live->worker, NULL, worker_main, live) != 0) {
            ic_live_stop(live);
            return ic_errf(em, IC_ERR_INTERNAL, "cannot start the live worker thread");
        }
        live->worker_running = true;
    }
    if (app->bus) {
        err = ic_bus_subscribe(app->bus, IC_LIVE_TOPIC, on_bus, live);
        if (err != IC_OK) { /* the topic is a constant: cannot happen */
            ic_live_stop(live);
            return ic_errf(em, err, "cannot subscribe to the live events");
        }
        atomic_store(&local_bus, app->bus);
    }
    *out = live;
    return IC_OK;
}

/* The registered ic_live of app; see live.h. */
ic_live *ic_live_for(const ic_app *app)
{
    ic_live *found = NULL;
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < LIVE_MAX && !found; i++)
        if (reg[i] && reg[i]->app == app)
            found = reg[i];
    pthread_mutex_unlock(&reg_mu);
    return found;
}

ic_sse_hub *ic_live_hub(ic_live *live)
{
    return live ? live->hub : NULL;
}

/* Stops the worker, ends every stream; see live.h. */
void ic_live_close(ic_live *live)
{
    if (!live)
        return;
    worker_stop(live);
    ic_sse_hub_close(live->hub);
}

/* Unregisters and frees; see live.h. */
void ic_live_stop(ic_live *live)
{
    if (!live)
        return;
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < LIVE_MAX; i++)
        if (reg[i] == live)
            reg[i] = NULL;
    pthread_mutex_unlock(&reg_mu);
    if (live->app && live->app->bus)
        atomic_compare_exchange_strong(&local_bus, &(ic_bus *){live->app->bus}, NULL);
    worker_stop(live);
    ic_sse_hub_close(live->hub);
    ic_sse_hub_free(live->hub);
    live_free(live);
}
