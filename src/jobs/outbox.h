/* outbox.h - one channel's pending outbox, in memory (DESIGN.md 8.3, 8.4).
 *
 * The database holds every queued message; this structure holds just enough
 * of each to decide what goes next without scanning tables: its id, its
 * person (contact), its lane, its retry count, the body it resumes at, and
 * the time it may go again. The content is read from the store when the
 * message is sent.
 *
 * Shape: one FIFO per person, so only the head of a person's queue is ever
 * eligible, and at most one of a person's messages is out at a time (picked
 * and not yet settled); a retried message stays at the head. A person whose
 * head is eligible sits in the heap of that head's lane (reply or bulk),
 * keyed by the time the head becomes eligible: the later of its retry time
 * and the person's pair-limit slot (pacing.h). A pick takes the reply lane
 * first and takes the person's pair slot. After their last message a person
 * is remembered until their pair-limit state has recovered, so a new burst
 * never exceeds the limit, then forgotten.
 *
 * Memory: about 48 bytes per queued message plus about 100 bytes per person
 * with queued messages (100,000 messages to 100,000 people: ~15 MB). The cap
 * bounds the messages held; beyond it ic_outbox_push says IC_ERR_BUSY and
 * the message simply stays "queued" in the database: the sender then stops
 * feeding this channel from memory and reloads it from the store once it has
 * drained (see docs/internals/sending.md).
 *
 * Not thread-safe: the sender thread owns its outboxes.
 */
#ifndef IC_JOBS_OUTBOX_H
#define IC_JOBS_OUTBOX_H

#include "base/err.h"
#include "store/store.h"
#include "wa/pacing.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ic_outbox ic_outbox;

/* Push flags. */
#define IC_OUTBOX_NO_PAIR                                                                          \
    1u /* not a message to the person (mark-as-read): takes                                        \
          no pair-limit slot */

/* A picked message, copied out. */
typedef struct ic_outbox_item {
    int64_t msg_id;
    int64_t contact_id;
    ic_lane lane;
    int attempts; /* retries so far (0 on the first try) */
    int part;     /* request bodies already accepted by Meta (2-body messages) */
    unsigned flags;
} ic_outbox_item;

/* Creates an empty outbox holding at most cap messages (0 means the default,
 * 500,000). cfg (pair limit) is borrowed and must outlive the outbox. */
ic_outbox *ic_outbox_new(const ic_pace_config *cfg, size_t cap);

/* Frees the outbox and everything in it; NULL is fine. */
void ic_outbox_free(ic_outbox *o);

/* Adds message msg_id to person contact_id's queue in lane, in id order:
 * normally at the end, but a message older than one pushed before (several
 * nodes commit out of id order) takes its place, behind a busy head. A
 * message pushed again after it left (settled) is accepted: the sender reads
 * its state before sending and drops it then. Errors: IC_ERR_BUSY when the
 * outbox holds cap messages; IC_ERR_EXISTS when the person's queue holds
 * msg_id (a duplicate); IC_ERR_INVALID for a non-positive id. */
ic_err ic_outbox_push(ic_outbox *o, int64_t msg_id, int64_t contact_id, ic_lane lane,
                      unsigned flags);

/* True when person contact_id's queue holds message msg_id (waiting, or
 * picked and not settled yet). */
bool ic_outbox_has(const ic_outbox *o, int64_t contact_id, int64_t msg_id);

/* Picks the next message that may go at now: the reply lane first, then
 * bulk; in a lane, the person whose head became eligible first (older head
 * first on ties). Takes the person's pair-limit slot and marks the person
 * busy until ic_outbox_done or ic_outbox_retry. Returns false when nothing
 * is eligible yet. */
bool ic_outbox_pick(ic_outbox *o, int64_t now, ic_outbox_item *out);

/* The earliest time a pick could succeed (INT64_MAX when no person is
 * waiting; busy persons do not count). Also forgets idle persons whose pair
 * state has recovered by now. */
int64_t ic_outbox_next_us(ic_outbox *o, int64_t now);

/* The busy head of contact_id's queue is settled (sent, failed or unknown):
 * it leaves, and the person's next message becomes eligible at their next
 * pair slot. IC_ERR_NOT_FOUND when the person has no busy message. */
ic_err ic_outbox_done(ic_outbox *o, int64_t contact_id, int64_t now);

/* The busy head of contact_id's queue goes back, still first in its queue,
 * eligible again at eligible_us, resuming at body `part`. count_attempt says
 * whether this was a real attempt (a Graph API answer or a connection that
 * failed) rather than a local hold-up (the writer was busy). IC_ERR_NOT_FOUND
 * when the person has no busy message. */
ic_err ic_outbox_retry(ic_outbox *o, int64_t contact_id, int64_t eligible_us, int part,
                       bool count_attempt);

/* Meta answered 131056 for this person: no message to them before until.
 * Works whether or not the person is busy; unknown persons are ignored. */
void ic_outbox_pause_person(ic_outbox *o, int64_t contact_id, int64_t until);

/* Messages held (queued and busy). */
size_t ic_outbox_count(const ic_outbox *o);

/* Persons remembered (with messages, or idle while their pair state
 * recovers). */
size_t ic_outbox_persons(const ic_outbox *o);

/* Approximate bytes used, for stats and the memory test. */
size_t ic_outbox_bytes(const ic_outbox *o);

#endif
