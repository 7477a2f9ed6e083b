/* bus.h - events between the impactchat nodes that share one database.
 *
 * Several `impactchat serve` processes may share one PostgreSQL (DESIGN.md
 * section 4). The bus carries small events between them: "a message was
 * queued for channel 7" for the node whose sender holds that channel, and
 * later the inbox's live updates for the operators connected to any node.
 *
 * PostgreSQL: each bus owns one connection of its own (ic_pg_connect) and a
 * thread. The thread LISTENs on every subscribed topic and sends the queued
 * publishes as NOTIFY, so every node's subscribers (this node's too) get
 * each event once, after the publishing transaction committed. A lost
 * connection is re-established with backoff; events sent meanwhile are lost,
 * so after every (re)connection each subscriber is told to resynchronise
 * from the store (payload NULL, see ic_bus_cb).
 *
 * SQLite: one process only; the bus delivers this process's publishes to
 * its own subscribers, on its thread, in order.
 *
 * Events are best effort and small: code that must not miss one also reads
 * the store when told to resynchronise. A topic is 1..63 characters of
 * [a-z0-9_]; a payload is at most IC_BUS_PAYLOAD_MAX bytes of text.
 */
#ifndef IC_STORE_BUS_H
#define IC_STORE_BUS_H

#include "base/err.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

#define IC_BUS_PAYLOAD_MAX 7999 /* PostgreSQL's NOTIFY limit, less one */
#define IC_BUS_TOPIC_MAX 63

typedef struct ic_bus ic_bus;

/* A subscriber's callback. Runs on the bus thread, one event at a time, in
 * the order the bus received them; it must not block (copy what it needs and
 * wake its own thread). topic is the subscribed topic. payload is the
 * event's text, or NULL when events on this topic may have been missed (the
 * bus has just connected or reconnected and is listening again): the
 * subscriber then rereads what it needs from the store. Every subscriber
 * gets one NULL call after ic_bus_start's first connection is listening,
 * before any event. Both strings are borrowed for the call. */
typedef void (*ic_bus_cb)(void *arg, const char *topic, const char *payload);

/* Starts the bus for db (borrowed; must outlive the bus). PostgreSQL: opens
 * the bus's connection (a wrong URL or a server that is down fails here,
 * with em saying why) and starts the thread. SQLite: starts the thread.
 * On error *out is NULL. */
ic_err ic_bus_start(ic_db *db, ic_bus **out, ic_errmsg *em);

/* Adds a subscriber for topic; may be called before or after events flow
 * (it is told to resynchronise once listening). Errors: IC_ERR_INVALID for a
 * bad topic name. Thread-safe. */
ic_err ic_bus_subscribe(ic_bus *b, const char *topic, ic_bus_cb cb, void *arg);

/* Publishes payload on topic to every node's subscribers, outside any
 * transaction: queued and sent by the bus thread, never blocking on I/O
 * (for done callbacks and poll threads). Errors: IC_ERR_INVALID for a bad
 * topic or a payload over IC_BUS_PAYLOAD_MAX; IC_ERR_BUSY when the bus's
 * queue is full (the event is dropped and counted). Thread-safe. b may be
 * NULL (nothing happens, IC_OK). */
ic_err ic_bus_publish(ic_bus *b, const char *topic, const char *payload);

/* Counters since start, for logs, health and tests. */
typedef struct ic_bus_stats {
    uint64_t published; /* events handed to the database (or dispatched, SQLite) */
    uint64_t received;  /* events delivered to subscribers' callbacks */
    uint64_t dropped;   /* publishes refused because the queue was full */
    uint64_t reconnects;
    bool listening; /* connected and listening now */
} ic_bus_stats;

/* Copies the counters. Thread-safe; b may be NULL (all zero). */
void ic_bus_stats_get(ic_bus *b, ic_bus_stats *out);

/* Stops the thread (events still queued are sent first when connected,
 * within a second), closes the connection and frees b. Subscribers'
 * callbacks are not called after it returns. NULL ok. */
void ic_bus_stop(ic_bus *b);

#endif
