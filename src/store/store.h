/* store.h - the one storage interface of impactchat.
 *
 * Backends: SQLite (store/sqlite.c) and PostgreSQL (store/postgres.c), chosen
 * by the URL given to ic_db_open. Callers never see SQL. Everything that
 * belongs to an organisation carries workspace_id, and every function that
 * reads or writes such rows takes it and filters on it: it is the tenant
 * boundary.
 *
 * Threads: an ic_db is shared by all threads. Each thread reads through its
 * own connection (ic_db_thread_conn). All writes go through the single
 * writer thread (ic_writer), which runs jobs inside one transaction per
 * batch (group commit) and reports each job's outcome after the commit is
 * durable. Functions documented "writer only" must only be called from a
 * job's apply callback, with the connection it was given.
 *
 * Reads for the API return jansson values (owned by the caller) shaped as the
 * API documents them (docs/api.md); secrets are never part of them.
 *
 * Times are UTC microseconds since the epoch (int64_t *_us).
 */
#ifndef IC_STORE_STORE_H
#define IC_STORE_STORE_H

#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ic_db ic_db;
typedef struct ic_conn ic_conn;

/* ---- opening, migrations ------------------------------------------------ */

/* Opens the database named by url: a SQLite file path ("var/ic.db") or
 * "sqlite:PATH", or a PostgreSQL URL ("postgres://user@host:port/db" or
 * "postgresql://..."). SQLite: creates the file and its folder when missing;
 * sets WAL, synchronous=FULL, foreign keys and a busy timeout. PostgreSQL:
 * connects once to check the server. Does not migrate. On error *out is NULL
 * and em says why ("cannot open var/x.db: ...", "cannot connect to
 * PostgreSQL at host:port/db: ...", never with the password). */
ic_err ic_db_open(const char *url, ic_db **out, ic_errmsg *em);

/* Applies every numbered migration not applied yet, each in its own
 * transaction, in order. *applied (may be NULL) gets how many ran. Safe to run
 * on every start. Not concurrent with the writer. */
ic_err ic_db_migrate(ic_db *db, int *applied, ic_errmsg *em);

/* Closes every connection. All threads must have stopped using db. NULL ok. */
void ic_db_close(ic_db *db);

/* True when db is a PostgreSQL database (several nodes may share it), false
 * for SQLite (one process). */
bool ic_db_is_postgres(const ic_db *db);

/* The calling thread's own connection (created on first use, closed by
 * ic_db_close). Use it for reads, and for writes only in single-threaded
 * tools (the CLI) that run no writer. Never NULL: aborts if the file cannot
 * be opened again after ic_db_open succeeded. */
ic_conn *ic_db_thread_conn(ic_db *db);

/* Transactions on a connection, for the CLI and tests (the writer manages
 * its own). */
ic_err ic_conn_begin(ic_conn *c);
ic_err ic_conn_commit(ic_conn *c);
void ic_conn_rollback(ic_conn *c);

/* ---- the writer: one thread, group commit --------------------------------- */

typedef struct ic_writer ic_writer;
typedef struct ic_write_job ic_write_job;

/* A unit of work for the writer. The submitter owns the job and keeps it
 * alive until `done` has been called. */
struct ic_write_job {
    /* Runs on the writer thread inside the batch's transaction; returning an
     * error rolls back this job alone. It may run twice (on PostgreSQL a
     * batch runs first without savepoints and, when a job fails, again with
     * one per job), so it must depend only on the job and the database, and
     * must return every error it gets. */
    ic_err (*apply)(ic_conn *tx, ic_write_job *job);
    /* Runs on the writer thread once the batch is durable (result IC_OK) or
     * has failed (the job's own error, IC_ERR_DB when the commit failed, or
     * IC_ERR_BUSY when the connection to the database was lost).
     * Must not block and must not submit to the writer synchronously. */
    void (*done)(ic_write_job *job, ic_err result);
    void *arg;          /* the submitter's */
    ic_write_job *next; /* the writer's; do not touch */
};

/* Starts the writer thread on its own connection to db. queue_cap bounds the
 * jobs waiting (beyond it ic_writer_submit says IC_ERR_BUSY). */
ic_err ic_writer_start(ic_db *db, size_t queue_cap, ic_writer **out, ic_errmsg *em);

/* Queues job; never blocks. IC_ERR_BUSY when the queue is full or the writer
 * is stopping (the caller answers 503). Thread-safe. */
ic_err ic_writer_submit(ic_writer *w, ic_write_job *job);

/* Submits job and waits for its done. For the CLI, tests and rare admin
 * actions, never on a libmicrohttpd poll thread. job->done may be NULL. */
ic_err ic_writer_run(ic_writer *w, ic_write_job *job);

/* Commits everything already queued, then stops the thread. NULL ok. */
void ic_writer_stop(ic_writer *w);

/* Jobs committed and batches run so far (for logs and benchmarks). */
void ic_writer_stats(ic_writer *w, uint64_t *jobs, uint64_t *batches);

/* ---- workspaces, users, API tokens -------------------------------------- */

ic_err ic_store_workspace_insert(ic_conn *c, const char *name, int64_t *id);
/* IC_ERR_NOT_FOUND when there is no such workspace. *name_out is owned. */
ic_err ic_store_workspace_get(ic_conn *c, int64_t id, char **name_out);

/* role: "admin", "supervisor", "operator" or "viewer". IC_ERR_EXISTS when the
 * email is taken in that workspace. password_hash from ic_password_hash. */
ic_err ic_store_user_insert(ic_conn *c, int64_t ws, const char *email, const char *name,
                            const char *role, const char *password_hash, int64_t *id);

/* Stores the SHA-256 hex of a new API token (the token itself is shown once
 * and never stored). */
ic_err ic_store_token_insert(ic_conn *c, int64_t ws, const char *name, const char *token_sha256,
                             int64_t *id);
/* The workspace's tokens as a JSON array, newest first: {id, name,
 * created_at, revoked_at|null} (never a hash). */
ic_err ic_store_tokens_json(ic_conn *c, int64_t ws, json_t **out);
/* Revokes token id of ws (from now on it authenticates nothing).
 * IC_ERR_NOT_FOUND when ws has no such token or it is already revoked. */
ic_err ic_store_token_revoke(ic_conn *c, int64_t ws, int64_t id);
/* Finds the workspace of a token by its SHA-256 hex; IC_ERR_AUTH when unknown
 * or revoked. */
ic_err ic_store_token_lookup(ic_conn *c, const char *token_sha256, int64_t *ws, int64_t *token_id);

/* ---- channels ------------------------------------------------------------ */

typedef struct ic_channel {
    int64_t id;
    int64_t workspace_id;
    char uuid[40]; /* the webhook path key: /webhooks/whatsapp/{uuid} */
    char *name;
    char *phone_number_id; /* Meta's phone number id (digits) */
    char *waba_id;
    char *display_phone;
    char *access_token; /* secret */
    char *app_secret;   /* secret: webhook signatures */
    char *verify_token; /* secret: GET verification */
    char *graph_url;    /* Graph API base; NULL means the configured default */
    int throughput_mps; /* 80..1000 */
    int64_t created_us;
} ic_channel;

/* Frees the members (not c itself). NULL ok. */
void ic_channel_clear(ic_channel *c);
/* Makes *dst a deep copy of *src (dst's old members are not freed; clear
 * them first). */
void ic_channel_copy(ic_channel *dst, const ic_channel *src);

/* Inserts ch (uuid, created_us and id are filled in when empty/zero).
 * IC_ERR_EXISTS when the phone number id is already connected. */
ic_err ic_store_channel_insert(ic_conn *c, ic_channel *ch);
/* Looks a channel up by webhook uuid, with its secrets. */
ic_err ic_store_channel_by_uuid(ic_conn *c, const char *uuid, ic_channel *out);
/* Looks a channel up by id within ws, with its secrets. */
ic_err ic_store_channel_get(ic_conn *c, int64_t ws, int64_t id, ic_channel *out);
/* Every channel of every workspace, with secrets, for the sender at start.
 * *out is an owned array of *n channels (free each with ic_channel_clear). */
ic_err ic_store_channels_all(ic_conn *c, ic_channel **out, size_t *n);
/* The API's list: an array of channel objects without secrets. */
ic_err ic_store_channels_json(ic_conn *c, int64_t ws, json_t **out);

/* ---- contacts, conversations ------------------------------------------- */

/* Finds or creates the contact with this WhatsApp id in ws; updates the name
 * when a non-empty one is given. Writer only. */
ic_err ic_store_contact_upsert(ic_conn *c, int64_t ws, const char *wa_id, const char *name,
                               int64_t *contact_id);

/* Records an inbound message from contact on channel at Meta's time wa_us:
 * finds the contact's open conversation on that channel or opens one (a
 * closed one is reopened as a new conversation), moves last_inbound_us
 * (the 24-hour window) forward only, and bumps last_message_us. Writer only. */
ic_err ic_store_conversation_touch_inbound(ic_conn *c, int64_t ws, int64_t channel_id,
                                           int64_t contact_id, int64_t wa_us, int64_t *conv_id);

/* The contact's open (or most recent) conversation on channel, creating one
 * when there is none (for outbound sends). Writer only. */
ic_err ic_store_conversation_for_send(ic_conn *c, int64_t ws, int64_t channel_id,
                                      int64_t contact_id, int64_t *conv_id);

/* Meta's time of the contact's last inbound message on channel, 0 when never:
 * the 24-hour window runs from it. */
ic_err ic_store_last_inbound_us(ic_conn *c, int64_t ws, int64_t channel_id, int64_t contact_id,
                                int64_t *wa_us);

/* API reads. Lists are newest first, paged by an opaque cursor (the last
 * id seen; 0 for the first page); *next is 0 when there is no more. */
ic_err ic_store_contacts_list(ic_conn *c, int64_t ws, const char *search, int64_t cursor, int limit,
                              json_t **items, int64_t *next);
ic_err ic_store_contact_get(ic_conn *c, int64_t ws, int64_t id, json_t **out);
/* Finds a contact by WhatsApp id; IC_ERR_NOT_FOUND when none. */
ic_err ic_store_contact_by_wa_id(ic_conn *c, int64_t ws, const char *wa_id, int64_t *id);
/* Applies a validated patch {"name","language","fields":{...}} (any subset).
 * Writer only. IC_ERR_NOT_FOUND when the contact is not in ws. */
ic_err ic_store_contact_update(ic_conn *c, int64_t ws, int64_t id, const json_t *patch);

/* status: NULL for all, "open" or "closed". */
ic_err ic_store_conversations_list(ic_conn *c, int64_t ws, const char *status, int64_t cursor,
                                   int limit, json_t **items, int64_t *next);
ic_err ic_store_conversation_get(ic_conn *c, int64_t ws, int64_t id, json_t **out);
/* The conversation's contact and channel, for sending into it. */
ic_err ic_store_conversation_parties(ic_conn *c, int64_t ws, int64_t conv_id, int64_t *contact_id,
                                     int64_t *channel_id);

/* ---- messages ------------------------------------------------------------ */

typedef enum ic_direction { IC_DIR_IN = 1, IC_DIR_OUT = 2 } ic_direction;

/* Outbound lanes: replies to people waiting always go before bulk. */
typedef enum ic_lane { IC_LANE_REPLY = 0, IC_LANE_BULK = 1 } ic_lane;

typedef struct ic_message {
    int64_t id;
    int64_t workspace_id;
    int64_t channel_id;
    int64_t contact_id;
    int64_t conversation_id;
    ic_direction direction;
    ic_lane lane;
    const char *wa_id;    /* Meta's wamid; NULL for outbound until sent */
    const char *type;     /* message type */
    const char *text;     /* readable text, may be NULL */
    const char *media_id; /* Meta media id (inbound) or our media id */
    const char *mime_type;
    const char *reply_to_wa_id; /* context.id */
    const char *content_json;   /* inbound: the normalised event content; outbound:
                                   the message as the API accepted it */
    const char *to;             /* outbound: recipient wa_id */
    const char *status;         /* "received" (inbound), "queued" (outbound) ... */
    int64_t wa_us;              /* Meta's timestamp (inbound); 0 outbound */
    int64_t created_us;
} ic_message;

/* Inserts an inbound message; a message whose wa_id this channel already has
 * is a duplicate: nothing is written and *duplicate is true. Writer only.
 * Borrowed strings; sets m->id. */
ic_err ic_store_message_insert_inbound(ic_conn *c, ic_message *m, bool *duplicate);

/* Stores an inbound message from the contact with WhatsApp id from (created
 * in m->workspace_id when new; renamed when name is non-empty and differs),
 * in the contact's open conversation on m->channel_id (opened when there is
 * none), moving the conversation's and the contact's last_inbound_us (the
 * 24-hour window) forward only to m->wa_us (our clock when 0) and bumping
 * last_message_us: what ic_store_contact_upsert,
 * ic_store_conversation_touch_inbound and ic_store_message_insert_inbound do
 * together, in one statement needing an answer when the contact is known.
 * A message whose wa_id the channel already has is a duplicate: nothing at
 * all is written (no contact, conversation or window change) and *duplicate
 * is true. Sets m->id, m->contact_id, m->conversation_id, m->direction (and
 * m->status "received", m->created_us when unset). Borrowed strings.
 * Errors: IC_ERR_INVALID for a missing or overlong id, sender, name or type;
 * the executor's errors (sql.h). Writer only. In the writer's optimistic pass on PostgreSQL
 * (writer_pass.h) the ids are not known: m->id, m->contact_id and m->conversation_id are then 0. */
ic_err ic_store_inbound_message(ic_conn *c, ic_message *m, const char *from, const char *name,
                                bool *duplicate);

/* Sets *exists when channel already has a message with Meta's id wa_id, so
 * that a redelivered webhook is recognised before it touches the contact or
 * reopens a conversation. */
ic_err ic_store_message_exists(ic_conn *c, int64_t channel_id, const char *wa_id, bool *exists);

/* Inserts an outbound message in state "queued" (the outbox). Writer only.
 * Sets m->id and m->created_us. On PostgreSQL it also notifies every node
 * (topic IC_OUTBOX_TOPIC, ic_outbox_note_format) when the transaction
 * commits, so that the node whose sender holds the channel learns of it. */
ic_err ic_store_message_insert_outbound(ic_conn *c, ic_message *m);

/* The bus topic of outbox notifications, and their payload:
 * "channel_id,msg_id,contact_id,lane,flags,workspace_id" in decimal, flags
 * being IC_OUTBOX_NOTE_READ for a mark-as-read. */
#define IC_OUTBOX_TOPIC "ic_outbox"
#define IC_OUTBOX_NOTE_READ 1u
typedef struct ic_outbox_note {
    int64_t channel_id, msg_id, contact_id, workspace_id;
    ic_lane lane;
    unsigned flags;
} ic_outbox_note;

/* Writes note n as a payload into out (size at least 128). */
void ic_outbox_note_format(const ic_outbox_note *n, char *out, size_t size);

/* Reads a payload made by ic_outbox_note_format; IC_ERR_PARSE when it is
 * not one. */
ic_err ic_outbox_note_parse(const char *payload, ic_outbox_note *out);

/* Moves an outbound message to state status ("sending", "sent", "failed",
 * "unknown", "queued" for a retry), with Meta's id when known and the error
 * code and reason when failed. Applies statuses that arrived for wa_id before
 * we knew it. Writer only. */
ic_err ic_store_message_mark(ic_conn *c, int64_t msg_id, const char *status, const char *wa_id,
                             int err_code, const char *err_reason);

/* Applies a status webhook: records it in the status history, and moves the
 * message (found by channel + wa_id, or by our id from biz_opaque when
 * non-NULL) forward only (sent < delivered < read < played; failed only
 * before delivered). A status for an unknown wa_id is kept as pending and
 * applied when the id appears. *applied says whether the message moved.
 * raw_json (may be NULL) is the normalised event. Writer only. */
ic_err ic_store_status_apply(ic_conn *c, int64_t ws, int64_t channel_id, const char *wa_id,
                             const char *biz_opaque, const char *status, int64_t wa_us,
                             int err_code, const char *err_title, const char *raw_json,
                             bool *applied);

/* Records an error or an unusable webhook item for a channel. Writer only. */
ic_err ic_store_channel_error_insert(ic_conn *c, int64_t ws, int64_t channel_id, int code,
                                     const char *title, const char *details, const char *raw_json);

/* Outbound messages of channel still to send, oldest first: state "queued",
 * and "sending" ones (a crash while the request may have left) which this
 * call turns into "unknown" first. cb is called per message (borrowed
 * strings, valid during the call); a non-OK return stops the scan. */
typedef ic_err (*ic_outbox_cb)(void *arg, const ic_message *m);
ic_err ic_store_outbox_load(ic_conn *c, int64_t channel_id, ic_outbox_cb cb, void *arg);

/* Calls cb once with outbound message msg_id of channel_id (borrowed
 * strings, valid during the call; status says its state), for the sender,
 * which keeps only ids in memory and reads a message just before sending it.
 * Errors: IC_ERR_NOT_FOUND when there is no such outbound message on that
 * channel; IC_ERR_DB; or cb's own error. Reads only: any thread's own
 * connection. */
ic_err ic_store_outbox_get(ic_conn *c, int64_t channel_id, int64_t msg_id, ic_outbox_cb cb,
                           void *arg);

/* ---- the sender's lease per channel, and the writes it fences ----------------
 *
 * With several nodes on one database, one node's sender holds each channel
 * (docs/internals/sending.md, "Several nodes"). A lease row names the node
 * and an epoch; a takeover bumps the epoch, and the writes below only happen
 * while (node_id, epoch) still holds it, so a node that lost its lease can
 * no longer start or retry a send. node_id is at most 128 bytes. */

/* Takes or renews channel_id's lease for node_id until now_us + ttl_us: a
 * renewal when node_id holds it with epoch *epoch (kept), a takeover when it
 * is free, expired at now_us, or force (the epoch goes up by one). On return
 * *held says whether node_id holds it and *epoch is its epoch then (pass 0
 * when not holding it). The holder's own renewal keeps its epoch even after
 * expiry, when no other node took over meanwhile. Times are wall-clock
 * microseconds (ttl at most a day): nodes' clocks must agree to well within
 * the lease's safety margin. IC_ERR_INVALID for bad input. Writer only. */
ic_err ic_store_lease_take(ic_conn *tx, int64_t ws, int64_t channel_id, const char *node_id,
                           int64_t now_us, int64_t ttl_us, bool force, int64_t *epoch, bool *held);

/* Gives channel_id's lease up (it expires at once) when node_id still holds
 * it with epoch, so that another node takes over without waiting. The
 * fenced writes below check the node and epoch, not the expiry: the node
 * itself stops sending before its lease expires (sender_lease.c). Writer
 * only. */
ic_err ic_store_lease_release(ic_conn *tx, int64_t channel_id, const char *node_id, int64_t epoch);

/* Marks outbound message msg_id of channel_id "sending" when it is still
 * "queued" and node_id holds the channel's lease with epoch; *marked says
 * whether it did (false: the message is not ours to send). Writer only. */
ic_err ic_store_outbox_mark_sending(ic_conn *tx, int64_t channel_id, int64_t msg_id,
                                    const char *node_id, int64_t epoch, bool *marked);

/* Puts a "sending" message back to "queued" for a retry, under the same
 * condition; *queued says whether. Writer only. */
ic_err ic_store_outbox_back_to_queued(ic_conn *tx, int64_t channel_id, int64_t msg_id,
                                      const char *node_id, int64_t epoch, bool *queued);

/* Reads up to limit outbound messages of channel_id left "sending" or
 * "unknown" since before cutoff_us (their updated_us) and resent fewer than
 * max_resends times, with ids above after_id, in id order. cb gets id,
 * workspace_id, contact_id, lane and type (borrowed during the call).
 * Reads only: any thread's own connection. */
ic_err ic_store_outbox_stale(ic_conn *c, int64_t channel_id, int64_t cutoff_us, int max_resends,
                             int64_t after_id, int limit, ic_outbox_cb cb, void *arg);

/* Queues message msg_id again ("queued", resends + 1) when it is still
 * "sending" or "unknown", unchanged since before cutoff_us, and node_id holds
 * the channel's lease with epoch; *requeued says whether. A status webhook
 * that arrived meanwhile has moved the message on, and then nothing
 * happens. Writer only. */
ic_err ic_store_outbox_requeue(ic_conn *tx, int64_t channel_id, int64_t msg_id, const char *node_id,
                               int64_t epoch, int64_t cutoff_us, bool *requeued);

ic_err ic_store_messages_list(ic_conn *c, int64_t ws, int64_t conv_id, int64_t cursor, int limit,
                              json_t **items, int64_t *next);
ic_err ic_store_message_get(ic_conn *c, int64_t ws, int64_t id, json_t **out);
/* The status history of a message, oldest first. */
ic_err ic_store_message_statuses(ic_conn *c, int64_t ws, int64_t id, json_t **out);

/* Counts for tests and benchmarks: inbound messages stored in ws (0 = all). */
ic_err ic_store_count_messages(ic_conn *c, int64_t ws, ic_direction dir, int64_t *n);

/* ---- several nodes: notifications and engine claims ----------------------- */

/* Sends an event on topic (store/bus.h) as part of transaction tx: on
 * PostgreSQL a NOTIFY that every node's bus subscribers receive once tx
 * commits, and never when it rolls back. On SQLite (one process) it does
 * nothing: the caller informs its own process directly, e.g. from the job's
 * done callback. Topic and payload as in bus.h (IC_ERR_INVALID otherwise).
 * Writer only. */
ic_err ic_store_notify(ic_conn *tx, const char *topic, const char *payload);

/* Claims contact_id of workspace ws for the engine on connection c, so that
 * one person's messages are handled by one node (and one worker) at a time
 * (DESIGN.md 8.3). Never waits: *claimed is false when another connection
 * holds the claim. The claim lasts until ic_store_contact_release on c, or
 * until c is closed or its connection lost, so a killed node's claims vanish
 * with it. Claiming a contact c already holds gives IC_ERR_EXISTS.
 * PostgreSQL: a session advisory lock; SQLite (one process): a set shared by
 * the db's connections. Any thread's own connection (ic_db_thread_conn), not
 * inside the writer. */
ic_err ic_store_contact_claim(ic_conn *c, int64_t ws, int64_t contact_id, bool *claimed);

/* Releases a claim c holds; IC_ERR_NOT_FOUND when c does not hold it. */
ic_err ic_store_contact_release(ic_conn *c, int64_t ws, int64_t contact_id);

/* ---- media --------------------------------------------------------------- */

typedef struct ic_media_row {
    int64_t id;
    int64_t workspace_id;
    int64_t channel_id;
    const char *wa_media_id; /* Meta's id, NULL for uploads not sent yet */
    const char *mime_type;
    const char *sha256;
    const char *path;  /* relative to the media folder; NULL until fetched */
    const char *state; /* "pending", "stored", "failed", "too_big" */
    int64_t size;
} ic_media_row;

/* Inserts or finds the media row for (channel, wa_media_id). Writer only. */
ic_err ic_store_media_upsert(ic_conn *c, ic_media_row *m);
/* Updates state, path, size and sha256 after a fetch or upload. Writer only. */
ic_err ic_store_media_update(ic_conn *c, int64_t ws, int64_t id, const char *state,
                             const char *path, int64_t size, const char *sha256,
                             const char *mime_type);
/* Records wa_media_id, Meta's id for the file of media row id (after an
 * upload to the Graph API), replacing any earlier one. wa_media_id is
 * borrowed (copied into the row). IC_ERR_INVALID for a NULL, empty or
 * over-long (256 bytes) id, IC_ERR_NOT_FOUND when the row is not in ws,
 * IC_ERR_EXISTS when another row of the same channel already has that id.
 * Writer only (inside a write job). */
ic_err ic_store_media_set_wa_id(ic_conn *c, int64_t ws, int64_t id, const char *wa_media_id);
/* Media row by id within ws: a JSON object {id, mime_type, size, state, path, ...}. */
ic_err ic_store_media_get(ic_conn *c, int64_t ws, int64_t id, json_t **out);
/* Media rows in state "pending" (to fetch after a restart), oldest first. */
ic_err ic_store_media_pending(ic_conn *c, int limit, json_t **out);

#endif
