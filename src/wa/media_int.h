/* media_int.h - the media thread's insides, shared by media.c (thread,
 * queues, scheduling), media_fetch.c (the HTTP transfers) and media_files.c
 * (types, limits, files). Not for use outside src/wa/media*.c.
 *
 * Everything here except the members marked "under mu" is touched by the
 * media thread alone.
 */
#ifndef IC_WA_MEDIA_INT_H
#define IC_WA_MEDIA_INT_H

#include "base/buf.h"
#include "base/err.h"
#include "store/store.h"
#include "wa/media.h"

#include <curl/curl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

/* Answers of the Graph API we keep in memory (metadata, upload ids). */
#define IC_MEDIA_MAX_ANSWER (64 * 1024)
/* Notifications waiting at most; they coalesce into one scan. */
#define IC_MEDIA_MAX_NOTIFY 1024

/* ---- types, limits, files (media_files.c) ------------------------------- */

/* Meta's size limit for a MIME type (parameters such as "; codecs=opus" are
 * ignored) and the file extension we store it under: image/jpeg and
 * image/png 5 MB, image/webp (stickers) 500 KB, the audio types (aac, amr,
 * mpeg, mp4, ogg) and video types (mp4, 3gpp) 16 MB, anything else a
 * document of at most 100 MB ("bin" when the type is not a known one).
 * IC_ERR_INVALID when mime is not a well-formed "type/subtype". *ext is
 * static. Pure and thread-safe. */
ic_err ic_media_mime_info(const char *mime, int64_t *limit, const char **ext);

/* Normalises a SHA-256 as Meta gives it (64 hex digits, or base64 of the 32
 * bytes, with or without padding) to 64 lowercase hex digits plus NUL.
 * IC_ERR_INVALID for anything else. Pure and thread-safe. */
ic_err ic_media_sha256_norm(const char *in, char out[65]);

/* Creates every missing folder of path (mode 0750). IC_ERR_IO with em when a
 * folder cannot be made or a component is not a folder. Thread-safe. */
ic_err ic_media_mkdirs(const char *path, ic_errmsg *em);

/* A file being written into the media store. */
typedef struct ic_media_file {
    int fd;               /* -1 when closed */
    char tmp[PATH_MAX];   /* the hidden temporary name, removed by discard */
    char final[PATH_MAX]; /* where commit renames it */
    char dir[PATH_MAX];   /* the folder, fsynced after the rename */
    char rel[128];        /* final path relative to media_dir */
    int64_t size;         /* bytes written */
    crypto_hash_sha256_state sha;
} ic_media_file;

/* Makes media_dir/<ws>/<yyyy>/<mm>/ (the UTC month of now_us) and opens a
 * new temporary file in it whose final name will be <32 hex>.<ext>. f is
 * filled in; on error f->fd is -1 and nothing is left behind. IC_ERR_IO
 * (em says which path) or IC_ERR_TOO_BIG when a path does not fit. */
ic_err ic_media_file_create(const char *media_dir, int64_t ws, int64_t now_us, const char *ext,
                            ic_media_file *f, ic_errmsg *em);

/* Appends n bytes and feeds them to the running SHA-256. IC_ERR_IO on a
 * write error (the file must then be discarded). */
ic_err ic_media_file_write(ic_media_file *f, const void *p, size_t n);

/* Finishes the SHA-256 of the bytes written into 64 hex digits plus NUL.
 * Call once, after the last write. */
void ic_media_file_digest(ic_media_file *f, char sha_hex[65]);

/* Fsyncs and closes the file, renames it to its final name and fsyncs the
 * folder. On error the temporary file is removed. IC_ERR_IO with em. */
ic_err ic_media_file_commit(ic_media_file *f, ic_errmsg *em);

/* Closes and removes the temporary file; a closed f is fine. */
void ic_media_file_discard(ic_media_file *f);

/* ---- jobs ------------------------------------------------------------------ */

typedef enum ic_mjob_kind { IC_MJOB_FETCH, IC_MJOB_UPLOAD } ic_mjob_kind;

/* What a job does next. */
typedef enum ic_mjob_phase {
    IC_MPH_META,     /* GET {graph}/{media id}: the URL, type, size, hash */
    IC_MPH_DOWNLOAD, /* GET the URL into a file */
    IC_MPH_UPLOAD,   /* POST {graph}/{phone number id}/media */
    IC_MPH_RECORD,   /* hand the outcome to the writer */
} ic_mjob_phase;

typedef enum ic_mjob_state {
    IC_MST_QUEUED,    /* waits for next_at and a free transfer slot */
    IC_MST_ACTIVE,    /* its easy handle is in the multi handle */
    IC_MST_RECORDING, /* the writer has it; its done callback gives it back */
} ic_mjob_state;

typedef struct ic_mjob ic_mjob;

struct ic_mjob {
    ic_media *m;
    ic_mjob_kind kind;
    ic_mjob_phase phase;
    ic_mjob_state state;
    int64_t row_id, ws, channel_id;
    char *wa_media_id; /* fetch: Meta's id */
    char *row_mime;    /* fetch: the type the webhook announced, may be NULL */
    int attempts;      /* failed attempts so far (5xx, connection) */
    bool refetched;    /* the download URL was fetched again after a 401/403/404 */
    int64_t next_at;   /* monotonic us when a queued job may start */

    /* the channel, loaded at the start of each attempt (owned) */
    char *token, *graph, *pnid;

    /* metadata from Meta (fetch) or the row (upload) */
    char *url;         /* download URL: never logged, it may carry a token */
    char *mime;        /* the type we store / upload */
    char want_sha[65]; /* "" when Meta gave none */
    int64_t want_size; /* -1 when unknown */
    int64_t limit;     /* Meta's limit for the type */

    /* the transfer */
    CURL *easy;
    struct curl_slist *hdrs;
    curl_mime *form;
    ic_buf body;      /* metadata or upload answer */
    bool answer_over; /* the answer passed IC_MEDIA_MAX_ANSWER */
    bool over_limit;  /* the download passed limit */
    bool io_failed;   /* writing the file failed */
    size_t discarded; /* bytes of an error answer thrown away */
    ic_media_file file;
    char file_path[PATH_MAX]; /* upload: the stored file */

    /* the outcome handed to the writer */
    const char *out_state; /* "stored", "failed", "too_big" (static) */
    char out_sha[65];
    int64_t out_size;
    ic_write_job wjob;
    ic_err write_result;

    /* upload */
    void (*done)(void *arg, ic_err result, const char *wa_media_id);
    void *done_arg;

    ic_mjob *next;  /* m->jobs or the upload inbox (media thread / under mu) */
    ic_mjob *rnext; /* m->recorded (under mu) */
};

struct ic_media {
    ic_db *db;
    ic_writer *w;
    char *dir;
    char *graph; /* default Graph API base, without a trailing slash */
    CURLM *multi;
    pthread_t thread;
    bool started;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    size_t notified;  /* notifications since the last scan */
    ic_mjob *up_head; /* upload requests not yet taken by the thread */
    ic_mjob *up_tail;
    size_t uploads;    /* uploads accepted and not yet answered */
    ic_mjob *recorded; /* jobs the writer is done with */
    size_t recording;  /* jobs the writer still holds */
    bool stopping;

    /* media thread only */
    ic_mjob *jobs; /* every job the thread holds, in arrival order */
    ic_mjob *jobs_tail;
    size_t fetches; /* fetch jobs held */
    int active;     /* transfers running */
    bool scan_full; /* the last scan filled its page: more may wait */
    int64_t last_scan;
    int64_t next_scan;
};

/* ---- transfers (media_fetch.c) ------------------------------------------- */

/* Starts the job's current phase (META, DOWNLOAD or UPLOAD) as a transfer
 * on m->multi: the job becomes ACTIVE. When it cannot start, the job is
 * moved on at once (retry, failed or answered) through the ic_media_job_*
 * calls below and nothing is running. */
void ic_media_transfer_start(ic_media *m, ic_mjob *j);

/* Handles the end of the job's transfer (rc from curl) and moves the job on.
 * The easy handle has been removed from the multi handle already. */
void ic_media_transfer_done(ic_media *m, ic_mjob *j, CURLcode rc);

/* Frees the job's easy handle, headers, form and answer; closes and removes
 * an unfinished download. Safe to call twice. */
void ic_media_transfer_clear(ic_mjob *j);

/* ---- moving a job on (media.c), media thread only ------------------------- */

/* A 5xx, 429 or connection failure: try again after a backoff, or give up
 * after IC_MEDIA_MAX_ATTEMPTS ("failed" for a fetch, IC_ERR_IO for an
 * upload). why is a short static word for the log. */
void ic_media_job_retry(ic_media *m, ic_mjob *j, const char *why, long http_status);

/* The fetch is over: record state ("stored" with j->file, out_sha and
 * out_size filled in, or "failed" / "too_big"). why is a short static word
 * for the log (NULL for stored). */
void ic_media_job_finish(ic_media *m, ic_mjob *j, const char *state, const char *why);

/* The upload is over: call its done callback and free the job. */
void ic_media_job_answer(ic_media *m, ic_mjob *j, ic_err result, const char *wa_media_id);

/* Queues the job to run its next phase at once (metadata then download). */
void ic_media_job_next(ic_media *m, ic_mjob *j, ic_mjob_phase phase);

#endif
