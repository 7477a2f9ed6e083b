/* sender.h - the one thread that sends outbound messages to the Graph API.
 *
 * The sender keeps each channel's pending outbox in memory (jobs/outbox.h),
 * loaded from the store and fed by ic_sender_notify after each commit (and,
 * with several nodes, by the bus: ic_sender_use_bus). It sends for a channel
 * only while this node holds the channel's lease (sender_leases; one node at
 * a time, so pacing is global). It paces every channel (wa/pacing.h), marks
 * each message "sending" through the writer (fenced by the lease) and issues
 * its request only once that mark is durable, then records the outcome:
 * "sent" with Meta's id, "failed" with the code and reason, "queued" again
 * for a retry (it stays first in its person's queue), or "unknown" when the
 * request may have reached Meta but no answer came. An "unknown" message is
 * not resent at once: the status webhook's biz_opaque_callback_data (our
 * message id) reconciles it, and only one still unsettled after
 * reconcile_after is queued again. Free-form messages outside the 24-hour
 * window fail with 131047 without a request. See docs/internals/sending.md.
 *
 * One thread owns a libcurl multi handle (keep-alive, a bounded number of
 * connections per host); every function here may be called from any thread.
 */
#ifndef IC_WA_SENDER_H
#define IC_WA_SENDER_H

#include "base/err.h"
#include "store/store.h"

#include <stdint.h>

struct ic_bus;

typedef struct ic_sender ic_sender;

/* Counters since start. (A struct tag without a typedef: the function that
 * fills it is called ic_sender_stats.) */
struct ic_sender_stats {
    uint64_t sent;             /* messages accepted by Meta ("sent") */
    uint64_t retried;          /* retries scheduled (any cause) */
    uint64_t failed;           /* messages marked "failed" */
    uint64_t unknown;          /* messages marked "unknown" */
    uint64_t requests;         /* HTTP requests issued */
    uint64_t throttled_130429; /* channel throughput answers (130429 and kin) */
    uint64_t pair_limited;     /* 131056 answers */
    uint64_t window_closed;    /* failed without a request: 24-hour window */
    uint64_t overflowed;       /* notifications beyond the in-memory cap (they stay
                                  queued in the database and are reloaded) */
    uint64_t in_flight;        /* requests out now */
    uint64_t queued;           /* messages held in memory now (all channels) */
    uint64_t cpu_us;           /* CPU time used by the sender thread */
    uint64_t leases_held;      /* channels this node sends for now */
    uint64_t leases_taken;     /* leases taken (at start, or from a node that died) */
    uint64_t leases_lost;      /* leases lost (not renewed in time, or taken over) */
    uint64_t resent;           /* stale "sending"/"unknown" messages queued again */
};

/* Optional tunables (ic_sender_start uses the defaults). */
typedef struct ic_sender_options {
    int max_conns;              /* connections per host and requests in flight: 64 */
    long connect_timeout_ms;    /* 10,000 */
    long request_timeout_ms;    /* whole request: 30,000 */
    int max_attempts;           /* retries before a message fails for good: 10 */
    int stop_grace_ms;          /* ic_sender_stop waits this long for answers: 10,000 */
    size_t outbox_cap;          /* messages held in memory per channel: 500,000 */
    int64_t window_margin_us;   /* pacing window margin (pacing.h): 12 ms */
    int pair_burst;             /* pair limit burst: 6 */
    int64_t pair_interval_us;   /* pair limit interval: 6 s */
    int64_t retry_base_us;      /* first retry: 1 s */
    char node_id[96];           /* this node in sender_leases: "host:pid:random" */
    int64_t lease_ttl_us;       /* a channel's lease lasts: 10 s (renewed every ttl/5) */
    int64_t reconcile_after_us; /* "sending"/"unknown" without a status for this
                                   long is sent again: 10 min; 0 never */
    int max_resends;            /* at most this many such resends per message: 2 */
} ic_sender_options;

/* Fills *o with the defaults; the environment may override them for operators
 * and benchmarks: IC_SENDER_MAX_CONNS, IC_SENDER_MARGIN_MS, IC_SENDER_PAIR_BURST,
 * IC_SENDER_PAIR_INTERVAL_MS, IC_SENDER_RETRY_BASE_MS, IC_SENDER_LEASE_MS,
 * IC_SENDER_RECONCILE_MS, IC_SENDER_MAX_RESENDS. */
void ic_sender_options_default(ic_sender_options *o);

/* Reads every channel (ic_store_channels_all) and starts the sender thread,
 * which takes each channel's lease (at once on SQLite; on PostgreSQL when no
 * other node holds it) and then loads that channel's outbox
 * (ic_store_outbox_load: "queued" ones, and "sending" ones, which the store
 * turns into "unknown"). db and w are borrowed and must outlive the sender (stop
 * the sender before the writer). default_graph_url (copied) is used for
 * channels without their own graph_url, e.g.
 * "https://graph.facebook.com/v21.0". On error *out is NULL and em says why.
 * Call from one thread, once per sender. */
ic_err ic_sender_start(ic_db *db, ic_writer *w, const char *default_graph_url, ic_sender **out,
                       ic_errmsg *em);

/* Like ic_sender_start with explicit options (NULL means the defaults). */
ic_err ic_sender_start_opts(ic_db *db, ic_writer *w, const char *default_graph_url,
                            const ic_sender_options *opts, ic_sender **out, ic_errmsg *em);

/* Tells the sender that outbound message m was committed as "queued". Copies
 * what it needs (ids, lane, type), never blocks on I/O (a short mutex), and
 * wakes the sender thread. Meant for a writer job's done callback. Messages
 * that are not outbound or whose channel is unknown are ignored (logged).
 * s may be NULL (nothing happens). Thread-safe. */
void ic_sender_notify(ic_sender *s, const ic_message *m);

/* Tells the sender that channel ch was created (or changed) at run time; the
 * sender copies it, secrets included. s may be NULL. Thread-safe. */
void ic_sender_channel_added(ic_sender *s, const ic_channel *ch);

/* Lets the sender learn through bus (store/bus.h; borrowed, must outlive
 * the sender) of messages other nodes queue for the channels it holds, and
 * reload a channel's outbox when the bus may have missed some. Call once,
 * after ic_sender_start. Thread-safe. */
void ic_sender_use_bus(ic_sender *s, struct ic_bus *bus);

/* Stops taking new work, waits up to stop_grace_ms for the requests in
 * flight, records every outcome through the writer (aborted requests become
 * "unknown"; picked messages whose request never left go back to "queued"),
 * waits for those writes, stops the thread and frees s. The writer must still
 * be running. s may be NULL. Not concurrent with other calls on s. */
void ic_sender_stop(ic_sender *s);

/* Copies the counters into *out (all zero when s is NULL). Thread-safe. */
void ic_sender_stats(ic_sender *s, struct ic_sender_stats *out);

#endif
