/* bus.c - the bus's common part (bus.h): validation, subscribers, the
 * bounded publish queue, the thread, and on SQLite the local dispatch.
 * PostgreSQL's connection handling lives in bus_pg.c.
 *
 * Subscribers and topics are append-only lists (linked through atomic next
 * pointers, appended under b->mu) so that the bus thread walks them and
 * calls callbacks without holding a lock: a callback may publish or
 * subscribe. */
#include "store/bus_int.h"

#include "base/alloc.h"
#include "base/log.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

ic_err ic_bus_check(const char *topic, const char *payload)
{
    if (!topic || !payload)
        return IC_ERR_INVALID;
    size_t n = 0;
    for (const char *p = topic; *p; p++, n++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
        if (!ok || n >= IC_BUS_TOPIC_MAX)
            return IC_ERR_INVALID;
    }
    if (n == 0 || strnlen(payload, IC_BUS_PAYLOAD_MAX + 1) > IC_BUS_PAYLOAD_MAX)
        return IC_ERR_INVALID;
    return IC_OK;
}

/* ---- the queue ----------------------------------------------------------- */

static void wake(ic_bus *b)
{
    uint64_t one = 1;
    while (write(b->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
}

bus_event *ic_bus_pop(ic_bus *b)
{
    pthread_mutex_lock(&b->mu);
    bus_event *e = b->head;
    if (e) {
        b->head = e->next;
        if (!b->head)
            b->tail = NULL;
        b->queued--;
    }
    pthread_mutex_unlock(&b->mu);
    return e;
}

bool ic_bus_has_queued(ic_bus *b)
{
    pthread_mutex_lock(&b->mu);
    bool any = b->head != NULL;
    pthread_mutex_unlock(&b->mu);
    return any;
}

ic_err ic_bus_publish(ic_bus *b, const char *topic, const char *payload)
{
    if (!b)
        return IC_OK;
    ic_err err = ic_bus_check(topic, payload);
    if (err != IC_OK)
        return err;
    size_t plen = strlen(payload);
    bus_event *e = ic_malloc(sizeof *e + plen + 1);
    e->next = NULL;
    memcpy(e->topic, topic, strlen(topic) + 1);
    memcpy(e->text, payload, plen + 1);
    e->payload = e->text;
    pthread_mutex_lock(&b->mu);
    if (b->queued >= IC_BUS_QUEUE_CAP) {
        pthread_mutex_unlock(&b->mu);
        ic_free(e);
        if (atomic_fetch_add(&b->dropped, 1) == 0)
            IC_WARN("bus_queue_full", "topic=%s cap=%d", topic, IC_BUS_QUEUE_CAP);
        return IC_ERR_BUSY;
    }
    if (b->tail)
        b->tail->next = e;
    else
        b->head = e;
    b->tail = e;
    b->queued++;
    pthread_mutex_unlock(&b->mu);
    wake(b);
    return IC_OK;
}

/* ---- subscribers --------------------------------------------------------- */

ic_err ic_bus_subscribe(ic_bus *b, const char *topic, ic_bus_cb cb, void *arg)
{
    if (!b || !cb || ic_bus_check(topic, "") != IC_OK)
        return IC_ERR_INVALID;
    bus_sub *s = ic_calloc(1, sizeof *s);
    s->cb = cb;
    s->arg = arg;
    pthread_mutex_lock(&b->mu);
    _Atomic(bus_topic *) *tp = &b->topics;
    bus_topic *t = NULL;
    for (t = atomic_load(tp); t; t = atomic_load(tp)) {
        if (strcmp(t->name, topic) == 0)
            break;
        tp = &t->next;
    }
    if (!t) {
        t = ic_calloc(1, sizeof *t);
        memcpy(t->name, topic, strlen(topic) + 1);
        atomic_store(tp, t);
    }
    s->topic = t;
    _Atomic(bus_sub *) *sp = &b->subs;
    while (atomic_load(sp))
        sp = &atomic_load(sp)->next;
    atomic_store(sp, s);
    pthread_mutex_unlock(&b->mu);
    wake(b);
    return IC_OK;
}

static bus_sub *first_sub(ic_bus *b)
{
    return atomic_load(&b->subs);
}

static bus_topic *first_topic(ic_bus *b)
{
    return atomic_load(&b->topics);
}

void ic_bus_deliver(ic_bus *b, const char *topic, const char *payload)
{
    atomic_fetch_add(&b->received, 1);
    for (bus_sub *s = first_sub(b); s; s = atomic_load(&s->next))
        if (s->ready && strcmp(s->topic->name, topic) == 0)
            s->cb(s->arg, s->topic->name, payload);
}

void ic_bus_resync(ic_bus *b)
{
    for (bus_sub *s = first_sub(b); s; s = atomic_load(&s->next)) {
        if (!s->ready && s->topic->listened) {
            s->ready = true;
            s->cb(s->arg, s->topic->name, NULL);
        }
    }
}

void ic_bus_forget(ic_bus *b)
{
    atomic_store(&b->listening, false);
    for (bus_topic *t = first_topic(b); t; t = atomic_load(&t->next))
        t->listened = t->sent = false;
    for (bus_sub *s = first_sub(b); s; s = atomic_load(&s->next))
        s->ready = false;
}

void ic_bus_wait(ic_bus *b, int fd, short events, int timeout_ms, short *revents)
{
    struct pollfd p[2] = {{.fd = b->wake_fd, .events = POLLIN}, {.fd = fd, .events = events}};
    int n = poll(p, fd >= 0 ? 2 : 1, timeout_ms);
    if (revents)
        *revents = (n > 0 && fd >= 0) ? p[1].revents : 0;
    if (n > 0 && (p[0].revents & POLLIN)) {
        uint64_t v;
        while (read(b->wake_fd, &v, sizeof v) < 0 && errno == EINTR)
            ;
    }
}

/* ---- SQLite: one process, local dispatch ---------------------------------- */

static void *local_main(void *arg)
{
    ic_bus *b = arg;
    atomic_store(&b->listening, true);
    for (;;) {
        for (bus_topic *t = first_topic(b); t; t = atomic_load(&t->next))
            t->listened = true;
        ic_bus_resync(b);
        bus_event *e;
        while ((e = ic_bus_pop(b))) {
            atomic_fetch_add(&b->published, 1);
            ic_bus_deliver(b, e->topic, e->payload);
            ic_free(e);
        }
        if (atomic_load(&b->stopping))
            break;
        ic_bus_wait(b, -1, 0, -1, NULL);
    }
    atomic_store(&b->listening, false);
    return NULL;
}

/* ---- start, stats, stop -------------------------------------------------- */

static void bus_free(ic_bus *b)
{
    bus_event *e;
    while ((e = ic_bus_pop(b)))
        ic_free(e);
    for (bus_sub *s = first_sub(b); s;) {
        bus_sub *next = atomic_load(&s->next);
        ic_free(s);
        s = next;
    }
    for (bus_topic *t = first_topic(b); t;) {
        bus_topic *next = atomic_load(&t->next);
        ic_free(t);
        t = next;
    }
    ic_bus_pg_free(b);
    if (b->wake_fd >= 0)
        close(b->wake_fd);
    pthread_mutex_destroy(&b->mu);
    ic_free(b);
}

ic_err ic_bus_start(ic_db *db, ic_bus **out, ic_errmsg *em)
{
    ic_err err = IC_OK;
    *out = NULL;
    if (!db)
        return ic_errf(em, IC_ERR_INVALID, "cannot start the bus: no database");
    ic_bus *b = ic_calloc(1, sizeof *b);
    b->db = db;
    pthread_mutex_init(&b->mu, NULL);
    b->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (b->wake_fd < 0) {
        err = ic_errf(em, IC_ERR_INTERNAL, "cannot start the bus: eventfd: %s", strerror(errno));
        goto out;
    }
    bool pg = ic_db_is_postgres(db);
    if (pg && (err = ic_bus_pg_open(b, em)) != IC_OK)
        goto out;
    if (pthread_create(&b->thread, NULL, pg ? ic_bus_pg_main : local_main, b) != 0) {
        err = ic_errf(em, IC_ERR_INTERNAL, "cannot start the bus: no thread");
        goto out;
    }
    IC_INFO("bus_started", "backend=%s", pg ? "postgres" : "sqlite");
    *out = b;
out:
    if (err != IC_OK)
        bus_free(b);
    return err;
}

void ic_bus_stats_get(ic_bus *b, ic_bus_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!b)
        return;
    out->published = atomic_load(&b->published);
    out->received = atomic_load(&b->received);
    out->dropped = atomic_load(&b->dropped);
    out->reconnects = atomic_load(&b->reconnects);
    out->listening = atomic_load(&b->listening);
}

void ic_bus_stop(ic_bus *b)
{
    if (!b)
        return;
    atomic_store(&b->stopping, true);
    wake(b);
    pthread_join(b->thread, NULL);
    IC_INFO("bus_stopped", "published=%llu received=%llu dropped=%llu reconnects=%llu",
            (unsigned long long)atomic_load(&b->published),
            (unsigned long long)atomic_load(&b->received),
            (unsigned long long)atomic_load(&b->dropped),
            (unsigned long long)atomic_load(&b->reconnects));
    bus_free(b);
}
