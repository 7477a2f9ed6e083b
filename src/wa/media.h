/* media.h - the media store: inbound media fetched from the Graph API into
 * files under media_dir, and stored files uploaded to Meta for sending.
 *
 * One media thread owns its own libcurl multi handle and runs every
 * transfer (at most IC_MEDIA_MAX_ACTIVE at once). It finds work in two ways:
 * media rows in state "pending" (scanned at start, every minute, and when
 * ic_media_notify says a new one was committed), and upload requests from
 * ic_media_upload. Results are written through the store writer
 * (ic_store_media_update): "stored" with the relative path, size, SHA-256
 * and MIME type, or "too_big" / "failed" for good. Files are laid out as
 * media_dir/<workspace>/<yyyy>/<mm>/<random hex>.<ext>, written through a
 * temporary file that is fsynced and renamed, so a stored path always names
 * a complete file. docs/internals/media.md tells the whole story.
 */
#ifndef IC_WA_MEDIA_H
#define IC_WA_MEDIA_H

#include "base/err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct ic_db ic_db;
typedef struct ic_writer ic_writer;
typedef struct ic_media ic_media;

/* Transfers running at once, and rows held in memory (queued, running, in
 * backoff or being recorded) at most. */
#define IC_MEDIA_MAX_ACTIVE 4
#define IC_MEDIA_MAX_JOBS 256
/* Upload requests waiting at most; beyond it ic_media_upload says busy. */
#define IC_MEDIA_MAX_UPLOADS 64
/* Attempts of one fetch or upload before it fails for good (5xx and
 * connection errors only; other answers fail at once). */
#define IC_MEDIA_MAX_ATTEMPTS 5

/* Starts the media thread. db and w are borrowed and must outlive the media
 * thread (stop it before the writer). media_dir is created when missing and
 * copied; default_graph_url (e.g. "https://graph.facebook.com/v21.0") is
 * copied and used for channels without their own graph_url. On success *out
 * owns the thread (release it with ic_media_stop); on error *out is NULL and
 * em (may be NULL) says why: IC_ERR_INVALID for a missing argument, IC_ERR_IO
 * when media_dir cannot be created, IC_ERR_INTERNAL when curl or the thread
 * cannot start. Call from one thread; not concurrent with ic_media_stop. */
ic_err ic_media_start(ic_db *db, ic_writer *w, const char *media_dir, const char *default_graph_url,
                      ic_media **out, ic_errmsg *em);

/* Tells the media thread that a media row in state "pending" was committed.
 * Never blocks (meant for the writer's done callback). When the bounded
 * notification queue is full the notification is dropped: the row stays
 * pending and the periodic scan finds it. m NULL is a no-op. Thread-safe;
 * must not be called once ic_media_stop has started. */
void ic_media_notify(ic_media *m, int64_t media_row_id);

/* Queues the upload of the stored file of media row media_row_id (in
 * workspace ws, state "stored") to channel channel_id: POST
 * {graph}/{phone_number_id}/media as multipart (messaging_product=whatsapp,
 * type, file with its MIME type). done(arg, result, wa_media_id) is called
 * exactly once, on the media thread, when the request was queued
 * successfully: result IC_OK with Meta's media id (borrowed for the call), or
 * IC_ERR_NOT_FOUND (no such row, file or channel), IC_ERR_LIMIT (the file is
 * over Meta's limit for its type), IC_ERR_AUTH (Meta refused the token),
 * IC_ERR_INVALID (Meta refused the file), IC_ERR_IO (still failing after
 * IC_MEDIA_MAX_ATTEMPTS on 5xx or connection errors) or IC_ERR_BUSY (the
 * media thread stopped first), with wa_media_id NULL. done must not call
 * ic_media_stop. Returns IC_ERR_BUSY without calling done when the upload
 * queue is full or the thread is stopping, IC_ERR_INVALID for a NULL m or
 * done. Never blocks on the network. Thread-safe. */
ic_err ic_media_upload(ic_media *m, int64_t ws, int64_t channel_id, int64_t media_row_id,
                       void (*done)(void *arg, ic_err result, const char *wa_media_id), void *arg);

/* Resolves a stored relative path (as kept in a media row) to a path inside
 * media_dir, written into out (size bytes). IC_ERR_INVALID for an empty or
 * absolute path, a backslash, a control character, or an empty, "." or ".."
 * segment; IC_ERR_TOO_BIG when out is too small. Pure and thread-safe. */
ic_err ic_media_path(const ic_media *m, const char *rel, char *out, size_t size);

/* Stops the media thread: no new transfer starts; transfers in flight get a
 * bounded time (about 10 s) to finish and are then aborted (their rows stay
 * pending); uploads not done are answered IC_ERR_BUSY; results already handed
 * to the writer are waited for (the writer must still be running). Frees m.
 * NULL ok. Not concurrent with any other call on m. */
void ic_media_stop(ic_media *m);

#endif
