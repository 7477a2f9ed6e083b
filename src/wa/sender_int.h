/* sender_int.h - the sender's insides, shared by sender.c (the thread and
 * its inputs), sender_msg.c (preparing messages, recording outcomes through
 * the writer) and sender_http.c (the libcurl requests). Not for other parts.
 *
 * Everything here belongs to the sender thread, except the fields under
 * `mu` in ic_sender and the writer's done callback (sender_msg.c), which
 * runs on the writer thread and only hands a job back under `mu`.
 */
#ifndef IC_WA_SENDER_INT_H
#define IC_WA_SENDER_INT_H

#include "base/buf.h"
#include "jobs/idmap.h"
#include "jobs/outbox.h"
#include "store/store.h"
#include "wa/pacing.h"
#include "wa/sender.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* What to do once a job's write is durable. */
typedef enum snd_after {
    SND_AFTER_READY = 1,   /* the "sending" mark: the request may now leave */
    SND_AFTER_DONE = 2,    /* a final mark: the message leaves the outbox */
    SND_AFTER_RETRY = 3,   /* "queued" again: back to the head of its queue */
    SND_AFTER_REQUEUE = 4, /* a stale "unknown"/"sending" message queued again */
} snd_after;

typedef struct snd_chan snd_chan;

/* A take-or-renew of one channel's lease, on its way through the writer
 * (sender_lease.c). One per channel, reused. */
typedef struct snd_lease_job {
    ic_write_job wj; /* wj.arg is the job */
    struct snd_lease_job *next;
    ic_sender *owner;
    snd_chan *ch;
    bool release;        /* give the lease up instead (at stop) */
    int64_t epoch;       /* the epoch held (0: none) */
    int64_t epoch_out;   /* the epoch after the write */
    bool held;           /* whether this node holds the lease after it */
    int64_t now_us;      /* wall clock when submitted */
    int64_t submit_mono; /* monotonic clock when submitted */
    ic_err result;
} snd_lease_job;

/* One message from its pick until its outcome is durable. */
typedef struct snd_job {
    ic_write_job wj; /* wj.arg is the job */
    struct snd_job *next;
    ic_sender *owner;
    snd_chan *ch;
    int64_t msg_id;
    int64_t contact_id;
    ic_lane lane;
    int attempts;
    int part; /* the body to send next */
    unsigned flags;
    bool is_read;    /* mark-as-read: answers {"success":true} */
    char *bodies[2]; /* owned request bodies */
    int nbodies;
    char to_masked[32];

    /* the write in progress */
    snd_after after;
    const char *mark_status; /* static */
    char wa_id[160];
    bool marked;       /* the fenced writes: whether the row moved */
    int64_t epoch;     /* the channel's lease epoch when the write was submitted */
    int64_t cutoff_us; /* SND_AFTER_REQUEUE: unchanged since before this */
    int mark_code;
    char mark_reason[256];
    ic_err write_result;
    int64_t retry_at; /* SND_AFTER_RETRY: monotonic time it may go again */
    bool count_attempt;

    /* the request in flight */
    CURL *easy;
    size_t fly_idx; /* index in ic_sender.flying */
    ic_buf resp;
    char errbuf[CURL_ERROR_SIZE];
} snd_job;

typedef struct snd_fifo {
    snd_job *head;
    snd_job *tail;
} snd_fifo;

struct snd_chan {
    ic_channel ch;              /* owned copy, secrets included */
    char *url;                  /* owned: graph base + "/" + phone_number_id + "/messages" */
    struct curl_slist *headers; /* owned: bearer token, content type */
    ic_pacer pacer;
    ic_outbox *outbox;
    snd_fifo ready[2];   /* durable "sending", waiting for the pacer; per lane */
    size_t pipeline;     /* jobs marking or ready (picked, request not issued) */
    size_t pipeline_cap; /* how far ahead of the pacer picks may run */
    size_t outstanding;  /* jobs alive for this channel, any state */
    bool must_reload;    /* the database may hold queued messages memory does not
                            (beyond the cap, lease just taken, notes missed):
                            reload once nothing of the channel is in flight */
    ic_idmap window;     /* contact id -> Meta time of their last message (cache) */

    /* the lease (sender_lease.c): only the node holding it sends */
    bool held;                 /* this node holds the channel's lease */
    int64_t epoch;             /* its epoch while held */
    int64_t lease_valid_until; /* monotonic: nothing is issued from then on */
    int64_t lease_next_us;     /* monotonic: the next take or renewal */
    bool lease_pending;        /* lease_job is with the writer */
    snd_lease_job lease_job;
    int64_t sweep_next_us;  /* monotonic: next look for stale messages */
    int64_t sweep_after_id; /* where that look goes on */
};

/* A notification from ic_sender_notify. */
typedef struct snd_note {
    int64_t id;
    int64_t ws;
    int64_t channel_id;
    int64_t contact_id;
    uint8_t lane;
    uint8_t flags;
} snd_note;

struct ic_sender {
    ic_db *db;
    ic_writer *writer;
    char *default_url;
    ic_sender_options opt;
    ic_pace_config pace;
    pthread_t thread;
    bool started;
    CURLM *multi;

    pthread_mutex_t mu; /* guards the four inputs below */
    snd_note *notes;
    size_t nnotes, notes_cap;
    bool notes_overflowed;
    ic_channel *added;
    size_t nadded, added_cap;
    snd_fifo written;           /* jobs whose write finished (from the writer thread) */
    snd_lease_job *leases_done; /* lease jobs whose write finished */
    bool resync;                /* the bus may have missed notes: reload */
    atomic_bool stopping;

    /* the thread's own */
    ic_conn *conn;
    snd_chan **chans;
    size_t nchans;
    snd_fifo busy; /* jobs the writer refused (queue full): submitted again soon */
    CURL **pool;   /* idle easy handles */
    size_t npool;
    snd_job **flying; /* requests in flight */
    size_t in_flight, flying_cap;
    /* URLs and header lists replaced by a channel update while requests may
     * still use them: freed at stop */
    char **dead_urls;
    struct curl_slist **dead_headers;
    size_t ndead, dead_cap;
    size_t jobs_alive;
    size_t leases_pending; /* lease jobs with the writer */
    bool force_lease;      /* SQLite: one process, the lease is ours at once */
    uint32_t rng;

    /* counters (ic_sender_stats) */
    _Atomic uint64_t st_sent, st_retried, st_failed, st_unknown, st_requests, st_throttled, st_pair,
        st_window, st_overflowed, st_in_flight, st_queued, st_leases_held, st_leases_taken,
        st_leases_lost, st_resent;
    _Atomic uint64_t st_cpu_final; /* the thread's CPU time when it ended */
    atomic_bool running;           /* the thread has not ended */
};

/* ---- sender_msg.c --------------------------------------------------------- */

/* Prepares the picked message it of channel ch: reads it from the store,
 * checks the 24-hour window, builds its request bodies, and marks it
 * "sending" through the writer (or records why it cannot go). Takes care of
 * the outbox for every outcome. Sender thread only. */
void ic_snd_prepare(ic_sender *s, snd_chan *ch, const ic_outbox_item *it, int64_t now);

/* Records the final outcome of job j through the writer: status ("sent",
 * "failed", "unknown") with Meta's id (may be NULL) or the code and reason
 * (may be NULL). The job is freed once the write is durable. Sender thread
 * only. */
void ic_snd_settle(ic_sender *s, snd_job *j, const char *status, const char *wa_id, int code,
                   const char *reason);

/* Sends job j back to the head of its person's queue, eligible again at
 * retry_at (monotonic): marks it "queued" when no body has gone yet.
 * count_attempt as in ic_outbox_retry. Sender thread only. */
void ic_snd_retry(ic_sender *s, snd_job *j, int64_t retry_at, bool count_attempt);

/* Handles a job whose write finished (called for each job the writer handed
 * back). Sender thread only. */
void ic_snd_written(ic_sender *s, snd_job *j, int64_t now);

/* Submits again the jobs the writer refused while its queue was full.
 * Sender thread only. */
void ic_snd_submit_busy(ic_sender *s);

/* Frees a job and its bodies (not its easy handle). NULL ok. */
void ic_snd_job_free(ic_sender *s, snd_job *j);

/* Appends j to (front: prepends it to) fifo f. */
void ic_snd_fifo_push(snd_fifo *f, snd_job *j, bool front);

/* Removes and returns the first job of f, or NULL. */
snd_job *ic_snd_fifo_pop(snd_fifo *f);

/* Gives job j to the writer (or to the busy list when the writer's queue is
 * full); its apply depends on j->after. Sender thread only. */
void ic_snd_submit(ic_sender *s, snd_job *j);

/* A new job for the picked (or requeued) message it of channel ch. */
snd_job *ic_snd_job_new(ic_sender *s, snd_chan *ch, const ic_outbox_item *it);

/* ---- sender_lease.c ------------------------------------------------------- */

/* Submits the take or renewal of every channel's lease that is due, and
 * looks for stale messages on the channels held. Sender thread only. */
void ic_snd_leases_tick(ic_sender *s, int64_t now);

/* Acts on a lease job whose write finished: the channel is held (its outbox
 * is then loaded once nothing of it is in flight), renewed, or lost.
 * Sender thread only. */
void ic_snd_lease_written(ic_sender *s, snd_lease_job *lj, int64_t now);

/* Whether ch may issue requests at now: held, and its lease valid. */
bool ic_snd_lease_ok(const snd_chan *ch, int64_t now);

/* The earliest lease or sweep time due on any channel (monotonic). */
int64_t ic_snd_leases_next_us(ic_sender *s, int64_t now);

/* Gives every held lease up through the writer and waits (at stop, after
 * the last job). Sender thread only. */
void ic_snd_leases_release(ic_sender *s);

/* ---- sender_http.c -------------------------------------------------------- */

/* Sets up the multi handle's limits (connections per host, keep-alive).
 * Returns IC_ERR_INTERNAL with em when libcurl refuses. */
ic_err ic_snd_http_init(ic_sender *s, ic_errmsg *em);

/* Issues job j's next body now (the caller checked the pacer and the
 * in-flight cap) and counts it with the channel's pacer. Sender thread
 * only. */
void ic_snd_http_issue(ic_sender *s, snd_job *j, int64_t now);

/* Reads finished transfers from the multi handle and acts on each answer.
 * Sender thread only. */
void ic_snd_http_reap(ic_sender *s, int64_t now);

/* Aborts every request still in flight (at the end of the stop grace): each
 * becomes "unknown", since it may have reached Meta. Sender thread only. */
void ic_snd_http_abort_all(ic_sender *s);

/* Frees the pool of idle easy handles. */
void ic_snd_http_free(ic_sender *s);

#endif
