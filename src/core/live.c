/* live.c - publishing live events and handing them to this node's SSE hub
 * (live.h, docs/internals/live.md). */
#include "core/live.h"

#include "base/alloc.h"
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

/* ic_live instances at once (one per app; tests may run a few). */
#define LIVE_MAX 8

struct ic_live {
    ic_app *app;
    ic_sse_hub *hub;
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

/* A message's event built from its stored row. PostgreSQL: by the NOTIFY
 * statement itself, which needs no answer and so can be pipelined in the
 * writer's optimistic pass. */
static const char SQL_NOTIFY_MESSAGE[] =
    "SELECT pg_notify($1, json_build_object('ws', m.workspace_id, 'type', $2::text, 'id', "
    "$3::text, 'data', json_build_object('message_id', m.id, 'conversation_id', "
    "m.conversation_id, 'contact_id', m.contact_id, 'channel_id', m.channel_id, 'direction', "
    "m.direction, 'status', m.status))::text) FROM messages m "
    "WHERE m.channel_id = $4 AND m.wa_id = $5 AND m.workspace_id = $6";
static const char SQL_MESSAGE_ROW[] =
    "SELECT id, conversation_id, contact_id, direction, status FROM messages "
    "WHERE channel_id = $1 AND wa_id = $2 AND workspace_id = $3";

/* Publishes type for the message (channel_id, wa_id) of ws, as stored in
 * tx; nothing when there is no such message. */
static ic_err message_event(ic_conn *tx, int64_t ws, const char *type, int64_t channel_id,
                            const char *wa_id)
{
    if (!wa_id || !known_type(type))
        return IC_ERR_INVALID;
    if (ic_db_is_postgres(ic_sql_conn_db(tx))) {
        char id[40];
        new_id(id, sizeof id);
        return ic_sql_run(tx, SQL_NOTIFY_MESSAGE,
                          IC_ARGS(IC_TXT(IC_LIVE_TOPIC), IC_TXT(type), IC_TXT(id),
                                  IC_I64(channel_id), IC_TXT(wa_id), IC_I64(ws)),
                          NULL);
    }
    ic_stmt *st = NULL;
    ic_err err = ic_sql_row(tx, SQL_MESSAGE_ROW,
                            IC_ARGS(IC_I64(channel_id), IC_TXT(wa_id), IC_I64(ws)), &st);
    if (err == IC_ERR_NOT_FOUND)
        return IC_OK;
    if (err != IC_OK)
        return err;
    json_t *data = json_object();
    json_object_set_new(data, "message_id", json_integer(ic_sql_col_i64(st, 0)));
    json_object_set_new(data, "conversation_id",
                        ic_sql_col_null(st, 1) ? json_null() : json_integer(ic_sql_col_i64(st, 1)));
    json_object_set_new(data, "contact_id", json_integer(ic_sql_col_i64(st, 2)));
    json_object_set_new(data, "channel_id", json_integer(channel_id));
    json_object_set_new(data, "direction", json_string(ic_sql_col_text(st, 3)));
    json_object_set_new(data, "status", json_string(ic_sql_col_text(st, 4)));
    ic_sql_done(st);
    err = ic_live_publish(tx, ws, type, data);
    json_decref(data);
    return err;
}

/* message.created for an inbound message; see live.h. */
ic_err ic_live_inbound_message(ic_conn *tx, const ic_message *m)
{
    return message_event(tx, m->workspace_id, IC_LIVE_MESSAGE_CREATED, m->channel_id, m->wa_id);
}

/* message.status for a status just applied; see live.h. */
ic_err ic_live_message_status(ic_conn *tx, int64_t ws, int64_t channel_id, const char *wa_id)
{
    return message_event(tx, ws, IC_LIVE_MESSAGE_STATUS, channel_id, wa_id);
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

/* Starts the receiving side; see live.h. */
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
    ic_err err = ic_sse_hub_start(&sc, &live->hub, em);
    if (err != IC_OK) {
        ic_free(live);
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
        ic_free(live);
        return ic_errf(em, IC_ERR_BUSY, "too many live hubs in one process");
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

/* Ends every stream; see live.h. */
void ic_live_close(ic_live *live)
{
    if (live)
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
    ic_sse_hub_close(live->hub);
    ic_sse_hub_free(live->hub);
    ic_free(live);
}
