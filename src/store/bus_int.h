/* bus_int.h - what bus.c (subscribers, the publish queue, the thread, the
 * local SQLite dispatch), bus_pg.c (LISTEN/NOTIFY) and notify.c share.
 * Internal to src/store.
 *
 * Threads: subscribe and publish run on any thread under b->mu; everything
 * marked "thread's" below is read and written by the bus thread alone. */
#ifndef IC_STORE_BUS_INT_H
#define IC_STORE_BUS_INT_H

#include "store/bus.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Publishes waiting beyond this are refused (IC_ERR_BUSY, counted). */
#define IC_BUS_QUEUE_CAP 65536

/* IC_OK when topic is 1..IC_BUS_TOPIC_MAX characters of [a-z0-9_] and
 * payload is non-NULL text of at most IC_BUS_PAYLOAD_MAX bytes; else
 * IC_ERR_INVALID. The one check for ic_bus_publish, ic_bus_subscribe (with
 * payload "") and ic_store_notify. */
ic_err ic_bus_check(const char *topic, const char *payload);

/* One distinct subscribed topic; never freed before the bus stops. */
typedef struct bus_topic {
    _Atomic(struct bus_topic *) next;
    bool listened; /* thread's: the connection listens on it */
    bool sent;     /* thread's: in the LISTEN command in flight */
    char name[IC_BUS_TOPIC_MAX + 1];
} bus_topic;

/* One subscriber; never freed before the bus stops. */
typedef struct bus_sub {
    _Atomic(struct bus_sub *) next;
    bus_topic *topic;
    ic_bus_cb cb;
    void *arg;
    bool ready; /* thread's: had its NULL call since the last (re)connect */
} bus_sub;

/* A queued publish: both strings in one allocation. */
typedef struct bus_event {
    struct bus_event *next;
    const char *payload; /* points into text, after the topic */
    char topic[IC_BUS_TOPIC_MAX + 1];
    char text[];
} bus_event;

struct ic_bus {
    ic_db *db;
    pthread_t thread;
    pthread_mutex_t mu;          /* the lists' tails and the queue */
    int wake_fd;                 /* eventfd: publish, subscribe, stop */
    _Atomic(bus_topic *) topics; /* heads: appended under mu, walked by the thread */
    _Atomic(bus_sub *) subs;
    bus_event *head, *tail; /* the queue, under mu */
    size_t queued;
    atomic_bool stopping;
    _Atomic uint64_t published, received, dropped, reconnects;
    atomic_bool listening;
    void *pg; /* bus_pg.c's connection state (PostgreSQL only) */
};

/* Takes the oldest queued event (owned: ic_free) or NULL. */
bus_event *ic_bus_pop(ic_bus *b);

/* True when an event is queued. */
bool ic_bus_has_queued(ic_bus *b);

/* Calls every ready subscriber of topic with payload (counts received). */
void ic_bus_deliver(ic_bus *b, const char *topic, const char *payload);

/* Calls every subscriber that is not ready and whose topic is listened
 * with payload NULL, and marks it ready. */
void ic_bus_resync(ic_bus *b);

/* After a lost connection: no topic is listened, no subscriber ready. */
void ic_bus_forget(ic_bus *b);

/* Waits up to timeout_ms (-1: forever) for fd (-1: none) to have events or
 * for the wake fd to be signalled (drained here); *revents gets fd's
 * revents (0 on timeout or a wake alone). */
void ic_bus_wait(ic_bus *b, int fd, short events, int timeout_ms, short *revents);

/* PostgreSQL (bus_pg.c): opens the first connection into b->pg (em says why
 * not), the thread's main loop, and freeing b->pg. */
ic_err ic_bus_pg_open(ic_bus *b, ic_errmsg *em);
void *ic_bus_pg_main(void *arg);
void ic_bus_pg_free(ic_bus *b);

#endif
