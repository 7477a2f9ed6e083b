/* live.h - the operator inbox's live updates: publishing events and
 * receiving them on every node (docs/internals/live.md, docs/drafts/events.md).
 *
 * An event is small: a workspace, a type, a unique id and a JSON object of a
 * few ids and fields (clients fetch details through the API). It travels on
 * the bus (store/bus.h) topic IC_LIVE_TOPIC as the text
 * {"ws":N,"type":"...","id":"...","data":{...}}, at most IC_BUS_PAYLOAD_MAX
 * bytes, so every node's hub gets every event and hands it to its own
 * clients of that workspace (http/sse.h). Events are hints, best effort:
 * a client told "resync" rereads from the API.
 */
#ifndef IC_CORE_LIVE_H
#define IC_CORE_LIVE_H

#include "app.h"
#include "base/err.h"
#include "store/store.h"
#include "wa/event.h"

#include <jansson.h>
#include <stdint.h>

#define IC_LIVE_TOPIC "ic_live"

/* The event types (docs/drafts/events.md lists each one's fields). */
#define IC_LIVE_MESSAGE_CREATED "message.created"
#define IC_LIVE_MESSAGE_STATUS "message.status"
#define IC_LIVE_CONVERSATION_UPDATED "conversation.updated"
#define IC_LIVE_CONVERSATION_ASSIGNED "conversation.assigned"
#define IC_LIVE_NOTE_CREATED "note.created"
#define IC_LIVE_TYPING "typing"

typedef struct ic_live ic_live;
typedef struct ic_sse_hub ic_sse_hub;
typedef struct ic_bus ic_bus;

/* Publishes an event of workspace ws inside the writer's transaction tx, so
 * that it goes out only once the transaction commits. type: one of the
 * IC_LIVE_* types; data: a JSON object (borrowed; may be NULL for {}).
 * PostgreSQL: a NOTIFY in tx (ic_store_notify), delivered at commit, never
 * after a rollback. SQLite (one process): handed at once to the bus of the
 * running ic_live (none: nothing happens); the writer commits the batch
 * right after, but an event of a job that then fails still goes out, and it
 * may reach a client just before the commit (see live.md). Errors:
 * IC_ERR_INVALID for an unknown type, data that is not an object, or an
 * event over the bus's payload bound; the store's error for the NOTIFY. Writer
 * thread only (inside apply). */
ic_err ic_live_publish(ic_conn *tx, int64_t ws, const char *type, const json_t *data);

/* Publishes an event outside any transaction, through bus (queued, never
 * blocks on I/O): for events that write nothing (typing) and for done
 * callbacks. bus NULL: nothing happens. Errors as ic_live_publish, and
 * IC_ERR_BUSY when the bus's queue is full. Thread-safe. */
ic_err ic_live_publish_now(ic_bus *bus, int64_t ws, const char *type, const json_t *data);

/* Publishes message.created for the batch's messages and message.status for
 * its statuses (the events' data {message_id, conversation_id, contact_id,
 * channel_id, direction, status} read from the stored rows, by channel and
 * wa_id; one event per message, message.created winning), once the writer
 * committed b for channel_id of ws: call from the job's done callback with
 * result IC_OK. Never blocks and reads nothing: copies the wa_ids into a
 * request for live's worker thread, which resolves it on its own connection
 * outside any transaction (PostgreSQL: one pg_notify statement, autocommit;
 * SQLite: reads the rows and publishes through the bus). A redelivered
 * message or an older status also publishes (events are hints). live or b
 * NULL, or no wa_ids: nothing, IC_OK. Errors: IC_ERR_BUSY when the queue is
 * full (dropped, counted, logged live_dropped) or live is closed. The
 * request's failure on the worker is logged (live_publish_failed). Thread-safe. */
ic_err ic_live_ingested(ic_live *live, int64_t ws, int64_t channel_id, const ic_wa_batch *b);

/* Configuration of ic_live_start; zero members take the defaults of
 * ic_sse_config (http/sse.h). */
typedef struct ic_live_config {
    int heartbeat_ms;
    size_t queue_max;
} ic_live_config;

/* Starts this node's receiving side: the SSE hub and its subscription to
 * IC_LIVE_TOPIC on app->bus (NULL: events published through
 * ic_live_publish_now(NULL, ...) go nowhere; the hub still serves streams).
 * Registers the result for app, so that GET /api/v1/events
 * (ic_api_events_routes) finds it. With app->db, also starts the worker
 * of ic_live_ingested (its own connection, ic_db_thread_conn; app->db must
 * stay open until ic_live_close). cfg may be NULL. app is borrowed and must
 * outlive ic_live_stop. On error *out is NULL and em says why. */
ic_err ic_live_start(ic_app *app, const ic_live_config *cfg, ic_live **out, ic_errmsg *em);

/* The ic_live started for app, or NULL. Thread-safe. */
ic_live *ic_live_for(const ic_app *app);

/* The hub of live (borrowed), for the events endpoint. */
ic_sse_hub *ic_live_hub(ic_live *live);

/* Ends every open stream and refuses new ones: call before ic_http_stop
 * (which waits for open streams). Also stops the worker of ic_live_ingested
 * once it has published what is queued (it may use the bus, which stops
 * later); requests after it are dropped. NULL ok. */
void ic_live_close(ic_live *live);

/* Frees live: call after ic_http_stop and after ic_bus_stop (the bus's
 * subscriber uses it until then). NULL ok. */
void ic_live_stop(ic_live *live);

/* Builds the bus payload of an event into out (size bytes): IC_OK, or
 * IC_ERR_INVALID as for ic_live_publish. id gets the event's new unique id
 * (id_size >= 32). Exposed for tests. */
ic_err ic_live_format(int64_t ws, const char *type, const json_t *data, char *out, size_t size,
                      char *id, size_t id_size);

#endif
