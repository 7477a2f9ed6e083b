/* bus_pg.c - the bus on PostgreSQL: one libpq connection of the bus's own
 * (ic_pg_connect, renamed 'impactchat-bus' so that operators and tests can
 * find it in pg_stat_activity), used without blocking by the bus thread.
 *
 * The thread polls the connection's socket and the bus's wake fd. With no
 * command in flight it sends, in this order: one LISTEN command for every
 * topic not listened yet; then (all topics listened) the NULL calls to
 * subscribers not told to resynchronise yet; then the oldest queued publish
 * as SELECT pg_notify($1, $2), one at a time, each its own transaction (so
 * PostgreSQL never folds two equal publishes into one). Notifications are
 * read with PQconsumeInput/PQnotifies after the command results, so a
 * subscriber's NULL call always comes before its events.
 *
 * A lost connection drops the event in flight, forgets what was listened,
 * and is re-established with backoff (50 ms doubling to 2 s); the queue
 * keeps what was not sent yet (bounded, see bus_int.h). */
#include "store/bus_int.h"
#include "store/pg_int.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/time.h"

#include <poll.h>
#include <string.h>

#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000
#define STOP_DRAIN_MS 1000

static const char SQL_NAME[] = "SET application_name = 'impactchat-bus'";
static const char SQL_NOTIFY[] = "SELECT pg_notify($1, $2)";

typedef enum pg_busy { PG_IDLE, PG_LISTEN, PG_NOTIFY } pg_busy;

typedef struct pg_state {
    PGconn *h;           /* NULL while disconnected */
    pg_busy busy;        /* the command in flight */
    bus_event *inflight; /* the publish in flight (PG_NOTIFY) */
    int backoff_ms;
} pg_state;

/* Connects, renames the session and makes it non-blocking. */
static PGconn *pg_connect(ic_bus *b, ic_errmsg *em)
{
    PGconn *h = ic_pg_connect(b->db, em);
    if (!h)
        return NULL;
    PGresult *r = PQexec(h, SQL_NAME);
    bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok || PQsetnonblocking(h, 1) != 0) {
        ic_errf(em, IC_ERR_DB, "cannot set up the bus's connection to PostgreSQL at %s",
                ic_pg_where(b->db));
        PQfinish(h);
        return NULL;
    }
    return h;
}

ic_err ic_bus_pg_open(ic_bus *b, ic_errmsg *em)
{
    pg_state *st = ic_calloc(1, sizeof *st);
    st->backoff_ms = BACKOFF_MIN_MS;
    b->pg = st;
    st->h = pg_connect(b, em);
    return st->h ? IC_OK : IC_ERR_DB;
}

void ic_bus_pg_free(ic_bus *b)
{
    pg_state *st = b->pg;
    if (!st)
        return;
    if (st->h)
        PQfinish(st->h);
    ic_free(st->inflight);
    ic_free(st);
    b->pg = NULL;
}

/* Forgets the connection: what was listened, the event in flight. */
static void lost(ic_bus *b, pg_state *st, const char *why)
{
    IC_WARN("bus_connection_lost", "where=%s why=%s in_flight=%d", ic_pg_where(b->db), why,
            st->inflight ? 1 : 0);
    PQfinish(st->h);
    st->h = NULL;
    ic_free(st->inflight);
    st->inflight = NULL;
    st->busy = PG_IDLE;
    st->backoff_ms = BACKOFF_MIN_MS;
    ic_bus_forget(b);
}

/* Sends one LISTEN command for every topic not listened yet; false when
 * there is none. */
static bool send_listens(ic_bus *b, pg_state *st)
{
    ic_buf sql;
    ic_buf_init(&sql);
    for (bus_topic *t = atomic_load(&b->topics); t; t = atomic_load(&t->next)) {
        if (t->listened)
            continue;
        char *q = PQescapeIdentifier(st->h, t->name, strlen(t->name));
        if (!q)
            continue; /* out of memory in libpq: the next round tries again */
        ic_buf_printf(&sql, "LISTEN %s;", q);
        PQfreemem(q);
        t->sent = true;
    }
    bool any = sql.len > 0;
    if (any) {
        if (PQsendQuery(st->h, ic_buf_cstr(&sql)))
            st->busy = PG_LISTEN;
        else
            lost(b, st, "send_listen");
    }
    ic_buf_free(&sql);
    return any;
}

/* Starts the next command when none is in flight (see the file comment). */
static void start_next(ic_bus *b, pg_state *st)
{
    if (!st->h || st->busy != PG_IDLE || send_listens(b, st) || !st->h)
        return;
    atomic_store(&b->listening, true);
    ic_bus_resync(b);
    bus_event *e = ic_bus_pop(b);
    if (!e)
        return;
    const char *vals[2] = {e->topic, e->payload};
    if (!PQsendQueryParams(st->h, SQL_NOTIFY, 2, NULL, vals, NULL, NULL, 0)) {
        ic_free(e);
        lost(b, st, "send_notify");
        return;
    }
    st->inflight = e;
    st->busy = PG_NOTIFY;
}

/* Reads the results of the command in flight that have arrived. */
static void read_results(ic_bus *b, pg_state *st)
{
    while (st->h && st->busy != PG_IDLE && !PQisBusy(st->h)) {
        PGresult *r = PQgetResult(st->h);
        if (!r) { /* the command is complete */
            if (st->busy == PG_LISTEN) {
                for (bus_topic *t = atomic_load(&b->topics); t; t = atomic_load(&t->next)) {
                    if (t->sent) {
                        t->listened = true;
                        t->sent = false;
                    }
                }
            }
            ic_free(st->inflight);
            st->inflight = NULL;
            st->busy = PG_IDLE;
            return;
        }
        ExecStatusType s = PQresultStatus(r);
        if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
            const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (st->busy == PG_NOTIFY) { /* never the payload, only its size */
                IC_WARN("bus_publish_failed", "topic=%s bytes=%zu sqlstate=%s", st->inflight->topic,
                        strlen(st->inflight->payload), code ? code : "-");
            } else { /* not listening as promised: start again from a new connection */
                IC_WARN("bus_listen_failed", "sqlstate=%s", code ? code : "-");
                PQclear(r);
                lost(b, st, "listen_failed");
                return;
            }
        } else if (st->busy == PG_NOTIFY) {
            atomic_fetch_add(&b->published, 1);
        }
        PQclear(r);
    }
}

/* Delivers the notifications that have arrived. */
static void read_notifies(ic_bus *b, pg_state *st)
{
    PGnotify *n;
    while (st->h && (n = PQnotifies(st->h))) {
        ic_bus_deliver(b, n->relname, n->extra ? n->extra : "");
        PQfreemem(n);
    }
}

/* One connection attempt after the backoff (the wake fd cuts it short). */
static void reconnect(ic_bus *b, pg_state *st)
{
    ic_bus_wait(b, -1, 0, st->backoff_ms, NULL);
    if (atomic_load(&b->stopping))
        return;
    ic_errmsg em = {{0}};
    st->h = pg_connect(b, &em);
    if (st->h) {
        atomic_fetch_add(&b->reconnects, 1);
        IC_INFO("bus_reconnected", "where=%s", ic_pg_where(b->db));
        st->backoff_ms = BACKOFF_MIN_MS;
        return;
    }
    IC_WARN("bus_reconnect_failed", "msg=\"%s\" retry_ms=%d", em.msg, st->backoff_ms * 2);
    st->backoff_ms = st->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : st->backoff_ms * 2;
}

void *ic_bus_pg_main(void *arg)
{
    ic_bus *b = arg;
    pg_state *st = b->pg;
    int64_t deadline = 0; /* ic_mono_us when stopping: the end of draining */
    for (;;) {
        int timeout = -1;
        if (atomic_load(&b->stopping)) {
            if (!deadline)
                deadline = ic_mono_us() + STOP_DRAIN_MS * 1000;
            int64_t left = deadline - ic_mono_us();
            bool drained = st->busy == PG_IDLE && !ic_bus_has_queued(b);
            if (!st->h || drained || left <= 0)
                break;
            timeout = (int)(left / 1000) + 1;
        }
        if (!st->h) {
            reconnect(b, st);
            continue;
        }
        start_next(b, st);
        if (!st->h)
            continue;
        int f = PQflush(st->h);
        if (f < 0) {
            lost(b, st, "flush");
            continue;
        }
        short rev = 0;
        ic_bus_wait(b, PQsocket(st->h), (short)(POLLIN | (f ? POLLOUT : 0)), timeout, &rev);
        if (!(rev & (POLLIN | POLLERR | POLLHUP)))
            continue;
        if (!PQconsumeInput(st->h) || PQstatus(st->h) != CONNECTION_OK) {
            lost(b, st, "read");
            continue;
        }
        read_results(b, st);
        start_next(b, st); /* after a LISTEN: resynchronise before the events */
        read_notifies(b, st);
    }
    atomic_store(&b->listening, false);
    return NULL;
}
