/* ingest.h - storing one parsed webhook batch, inside the writer.
 *
 * The webhook endpoint parses a POST body into events (wa/event.h) and
 * submits a write job; the job's apply callback calls ic_ingest_apply with
 * the writer's transaction. Everything in the batch is stored or nothing is
 * (the job's savepoint): the webhook is answered 200 only once it is durable.
 */
#ifndef IC_CORE_INGEST_H
#define IC_CORE_INGEST_H

#include "base/err.h"
#include "store/store.h"
#include "wa/event.h"

#include <stddef.h>
#include <stdint.h>

/* At most this many new media rows are reported per batch; the media fetcher
 * finds the others through ic_store_media_pending after a restart. */
#define IC_INGEST_MAX_MEDIA 64

/* What one batch did. */
typedef struct ic_ingest_counts {
    size_t messages;                        /* new inbound messages stored */
    size_t duplicates;                      /* messages this channel already had (not errors) */
    size_t statuses;                        /* statuses recorded */
    size_t errors;                          /* error events kept as channel errors */
    size_t ignored;                         /* unusable items kept as channel errors */
    int64_t media_ids[IC_INGEST_MAX_MEDIA]; /* media rows of new messages, to fetch */
    size_t media_count;
    size_t media_unreported; /* media rows beyond IC_INGEST_MAX_MEDIA */
} ic_ingest_counts;

/* Stores batch b for channel channel_id of workspace ws on the writer's
 * transaction tx:
 *  - MESSAGE: finds or creates the contact (from, contact_name), records the
 *    inbound message in the contact's conversation at Meta's time (moving the
 *    24-hour window), inserts the message with its normalised content (a
 *    message already stored is counted as a duplicate), for media messages
 *    a media row in state "pending", and for messages that carry Meta's
 *    errors[] (unsupported types) a channel error with the first one; a new
 *    message's text is checked against the workspace's urgency words (a
 *    match marks the conversation urgent), and a conversation it opens may
 *    be auto-assigned (core/urgency.h, core/autoassign.h,
 *    docs/internals/routing.md), both in tx;
 *  - STATUS: applies it to our message (forward only; kept when the message
 *    is not known yet);
 *  - ERROR: a channel error with Meta's code and title;
 *  - IGNORED: a channel error with code 0 and the reason, plus a WARN log
 *    line (never a body or a whole number).
 * out is zeroed first and filled in. b is borrowed.
 *
 * A message or status without an id (or a message without a sender) is kept
 * as an ignored item; the parser does not produce them.
 *
 * Errors: the first store error (IC_ERR_DB, ...); the caller's savepoint then
 * rolls the whole batch back. Writer only: call from a write job's apply
 * callback with the connection it was given. */
ic_err ic_ingest_apply(ic_conn *tx, int64_t ws, int64_t channel_id, const ic_wa_batch *b,
                       ic_ingest_counts *out);

#endif
