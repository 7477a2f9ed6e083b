/* media.c - the media thread: its queues, its loop over the curl multi
 * handle, the pending-row scans, backoff, and handing outcomes to the
 * writer. The transfers themselves are in media_fetch.c, files and types in
 * media_files.c. */
#include "wa/media_int.h"

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEC 1000000LL
#define SCAN_EVERY_US (60 * SEC)
/* A scan asked for because the last page was full waits at least this. */
#define RESCAN_MIN_US (1 * SEC)
/* Transfers in flight get this long to finish when stopping. */
#define STOP_GRACE_US (10 * SEC)
/* Backoff after the n-th failed attempt: BACKOFF_BASE_US * 5^(n-1), plus up
 * to a quarter of it at random: 2 s, 10 s, 50 s, 250 s. */
#define BACKOFF_BASE_US (2 * SEC)
/* A result the writer could not take (queue full) is offered again after. */
#define RECORD_RETRY_US (1 * SEC)
/* Rows one scan reads: those held already come back too, so it is above
 * IC_MEDIA_MAX_JOBS (and below the store's page cap of 500). */
#define SCAN_PAGE 400

static void wake_locked(ic_media *m)
{
    curl_multi_wakeup(m->multi);
}

static char *trim_slashes(const char *s)
{
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        n--;
    return ic_strndup(s, n);
}

static void free_secret(char *s)
{
    if (s) {
        sodium_memzero(s, strlen(s));
        ic_free(s);
    }
}

static void clear_channel(ic_mjob *j)
{
    free_secret(j->token);
    ic_free(j->graph);
    ic_free(j->pnid);
    j->token = j->graph = j->pnid = NULL;
}

static ic_mjob *job_new(ic_media *m, ic_mjob_kind kind)
{
    ic_mjob *j = ic_calloc(1, sizeof *j);
    j->m = m;
    j->kind = kind;
    j->phase = kind == IC_MJOB_UPLOAD ? IC_MPH_UPLOAD : IC_MPH_META;
    j->state = IC_MST_QUEUED;
    j->want_size = -1;
    j->file.fd = -1;
    ic_buf_init(&j->body);
    return j;
}

static void job_free(ic_mjob *j)
{
    if (!j)
        return;
    ic_media_transfer_clear(j);
    clear_channel(j);
    ic_free(j->wa_media_id);
    ic_free(j->row_mime);
    ic_free(j->url);
    ic_free(j->mime);
    ic_free(j);
}

static void job_append(ic_media *m, ic_mjob *j)
{
    j->next = NULL;
    if (m->jobs_tail)
        m->jobs_tail->next = j;
    else
        m->jobs = j;
    m->jobs_tail = j;
    if (j->kind == IC_MJOB_FETCH)
        m->fetches++;
}

static void job_remove(ic_media *m, ic_mjob *j)
{
    ic_mjob *prev = NULL;
    for (ic_mjob *it = m->jobs; it; prev = it, it = it->next) {
        if (it != j)
            continue;
        if (prev)
            prev->next = j->next;
        else
            m->jobs = j->next;
        if (m->jobs_tail == j)
            m->jobs_tail = prev;
        if (j->kind == IC_MJOB_FETCH)
            m->fetches--;
        j->next = NULL;
        return;
    }
}

/* ---- handing outcomes to the writer ---------------------------------------- */

static ic_err record_apply(ic_conn *tx, ic_write_job *job)
{
    ic_mjob *j = job->arg;
    bool stored = strcmp(j->out_state, "stored") == 0;
    return ic_store_media_update(tx, j->ws, j->row_id, j->out_state, stored ? j->file.rel : NULL,
                                 j->out_size, stored ? j->out_sha : NULL,
                                 j->mime ? j->mime : j->row_mime);
}

/* On the writer thread: give the job back to the media thread. */
static void record_done(ic_write_job *job, ic_err result)
{
    ic_mjob *j = job->arg;
    ic_media *m = j->m;
    pthread_mutex_lock(&m->mu);
    j->write_result = result;
    j->rnext = m->recorded;
    m->recorded = j;
    m->recording--;
    pthread_cond_broadcast(&m->cv);
    wake_locked(m);
    pthread_mutex_unlock(&m->mu);
}

static void record_submit(ic_media *m, ic_mjob *j)
{
    memset(&j->wjob, 0, sizeof j->wjob);
    j->wjob.apply = record_apply;
    j->wjob.done = record_done;
    j->wjob.arg = j;
    j->state = IC_MST_RECORDING;
    pthread_mutex_lock(&m->mu);
    m->recording++;
    pthread_mutex_unlock(&m->mu);
    if (ic_writer_submit(m->w, &j->wjob) == IC_OK)
        return;
    pthread_mutex_lock(&m->mu);
    m->recording--;
    pthread_mutex_unlock(&m->mu);
    j->state = IC_MST_QUEUED;
    j->next_at = ic_mono_us() + RECORD_RETRY_US;
}

/* The writer is done with j: log the outcome and let the job go. */
static void record_finished(ic_media *m, ic_mjob *j)
{
    bool stored = strcmp(j->out_state, "stored") == 0;
    if (j->write_result == IC_OK) {
        IC_INFO("media_recorded", "media_id=%lld state=%s size=%lld", (long long)j->row_id,
                j->out_state, (long long)j->out_size);
    } else {
        /* The row stays pending: a later scan fetches it again. */
        IC_ERROR("media_record_failed", "media_id=%lld state=%s err=\"%s\"", (long long)j->row_id,
                 j->out_state, ic_strerror(j->write_result));
        if (stored)
            unlink(j->file.final);
    }
    job_remove(m, j);
    job_free(j);
}

/* ---- moving jobs on ------------------------------------------------------------ */

void ic_media_job_next(ic_media *m, ic_mjob *j, ic_mjob_phase phase)
{
    (void)m;
    ic_media_transfer_clear(j);
    j->phase = phase;
    j->state = IC_MST_QUEUED;
    j->next_at = 0;
}

void ic_media_job_retry(ic_media *m, ic_mjob *j, const char *why, long http_status)
{
    ic_media_transfer_clear(j);
    j->attempts++;
    if (j->attempts >= IC_MEDIA_MAX_ATTEMPTS) {
        IC_WARN("media_gave_up", "media_id=%lld attempts=%d why=%s status=%ld",
                (long long)j->row_id, j->attempts, why, http_status);
        if (j->kind == IC_MJOB_UPLOAD)
            ic_media_job_answer(m, j, IC_ERR_IO, NULL);
        else
            ic_media_job_finish(m, j, "failed", why);
        return;
    }
    int64_t delay = BACKOFF_BASE_US;
    for (int i = 1; i < j->attempts; i++)
        delay *= 5;
    delay += (int64_t)randombytes_uniform((uint32_t)(delay / 4 / 1000)) * 1000;
    IC_INFO("media_retry", "media_id=%lld attempt=%d why=%s status=%ld delay_ms=%lld",
            (long long)j->row_id, j->attempts, why, http_status, (long long)(delay / 1000));
    j->phase = j->kind == IC_MJOB_UPLOAD ? IC_MPH_UPLOAD : IC_MPH_META;
    j->refetched = false;
    j->state = IC_MST_QUEUED;
    j->next_at = ic_mono_us() + delay;
}

void ic_media_job_finish(ic_media *m, ic_mjob *j, const char *state, const char *why)
{
    ic_media_transfer_clear(j);
    j->out_state = state;
    if (j->out_size < 0)
        j->out_size = 0;
    if (strcmp(state, "stored") != 0) {
        j->file.rel[0] = '\0';
        j->out_sha[0] = '\0';
        IC_WARN("media_not_stored", "media_id=%lld state=%s why=%s size=%lld", (long long)j->row_id,
                state, why ? why : "-", (long long)j->out_size);
    }
    j->phase = IC_MPH_RECORD;
    record_submit(m, j);
}

void ic_media_job_answer(ic_media *m, ic_mjob *j, ic_err result, const char *wa_media_id)
{
    ic_media_transfer_clear(j);
    IC_INFO("media_upload_done", "media_id=%lld result=\"%s\"", (long long)j->row_id,
            ic_strerror(result));
    j->done(j->done_arg, result, wa_media_id);
    pthread_mutex_lock(&m->mu);
    m->uploads--;
    pthread_mutex_unlock(&m->mu);
    job_remove(m, j);
    job_free(j);
}

/* ---- starting a job ---------------------------------------------------------------- */

static ic_err load_channel(ic_media *m, ic_mjob *j)
{
    ic_channel ch;
    memset(&ch, 0, sizeof ch);
    ic_err err = ic_store_channel_get(ic_db_thread_conn(m->db), j->ws, j->channel_id, &ch);
    if (err)
        goto out;
    clear_channel(j);
    j->token = ic_strdup(ch.access_token ? ch.access_token : "");
    j->pnid = ic_strdup(ch.phone_number_id ? ch.phone_number_id : "");
    j->graph = ch.graph_url && *ch.graph_url ? trim_slashes(ch.graph_url) : ic_strdup(m->graph);
out:
    if (ch.access_token)
        sodium_memzero(ch.access_token, strlen(ch.access_token));
    ic_channel_clear(&ch);
    return err;
}

/* The stored file of an upload: its path, type and Meta's limit for it. */
static ic_err load_upload(ic_media *m, ic_mjob *j)
{
    json_t *row = NULL;
    const char *ext = NULL;
    struct stat st;
    ic_err err = ic_store_media_get(ic_db_thread_conn(m->db), j->ws, j->row_id, &row);
    if (err)
        goto out;
    const char *state = json_string_value(json_object_get(row, "state"));
    const char *path = json_string_value(json_object_get(row, "path"));
    const char *mime = json_string_value(json_object_get(row, "mime_type"));
    if (!ic_str_eq(state, "stored") || !path) {
        err = IC_ERR_NOT_FOUND;
        goto out;
    }
    if (!mime || strlen(mime) > 127 || ic_media_mime_info(mime, &j->limit, &ext) != IC_OK) {
        err = IC_ERR_INVALID;
        goto out;
    }
    err = ic_media_path(m, path, j->file_path, sizeof j->file_path);
    if (err) {
        err = IC_ERR_NOT_FOUND;
        goto out;
    }
    if (stat(j->file_path, &st) != 0 || !S_ISREG(st.st_mode)) {
        err = IC_ERR_NOT_FOUND;
        goto out;
    }
    if ((int64_t)st.st_size > j->limit) {
        err = IC_ERR_LIMIT;
        goto out;
    }
    ic_free(j->mime);
    j->mime = ic_strdup(mime);
out:
    json_decref(row);
    return err;
}

static void job_begin(ic_media *m, ic_mjob *j)
{
    ic_err err = IC_OK;
    if (j->phase == IC_MPH_META || j->phase == IC_MPH_UPLOAD) {
        err = load_channel(m, j);
        if (!err && j->phase == IC_MPH_UPLOAD)
            err = load_upload(m, j);
    }
    if (!err) {
        ic_media_transfer_start(m, j);
        return;
    }
    if (err == IC_ERR_DB || err == IC_ERR_IO) {
        ic_media_job_retry(m, j, "database", 0);
    } else if (j->kind == IC_MJOB_UPLOAD) {
        ic_media_job_answer(m, j, err, NULL);
    } else {
        ic_media_job_finish(m, j, "failed", "no_channel");
    }
}

/* ---- the loop ------------------------------------------------------------------------ */

static bool holds_row(const ic_media *m, int64_t id)
{
    for (const ic_mjob *j = m->jobs; j; j = j->next)
        if (j->kind == IC_MJOB_FETCH && j->row_id == id)
            return true;
    return false;
}

/* Takes pending rows this thread does not hold yet, up to IC_MEDIA_MAX_JOBS. */
static void scan_pending(ic_media *m)
{
    json_t *rows = NULL;
    size_t i = 0, added = 0;
    json_t *row = NULL;
    int64_t now = ic_mono_us();
    m->last_scan = now;
    m->next_scan = now + SCAN_EVERY_US;
    ic_err err = ic_store_media_pending(ic_db_thread_conn(m->db), SCAN_PAGE, &rows);
    if (err) {
        IC_WARN("media_scan_failed", "err=\"%s\"", ic_strerror(err));
        goto out;
    }
    m->scan_full = json_array_size(rows) >= SCAN_PAGE;
    json_array_foreach(rows, i, row)
    {
        if (m->fetches >= IC_MEDIA_MAX_JOBS)
            break;
        json_t *id = json_object_get(row, "id");
        json_t *ws = json_object_get(row, "workspace_id");
        json_t *ch = json_object_get(row, "channel_id");
        const char *wa = json_string_value(json_object_get(row, "wa_media_id"));
        const char *mime = json_string_value(json_object_get(row, "mime_type"));
        if (!json_is_integer(id) || !json_is_integer(ws) || !json_is_integer(ch) || !wa || !*wa ||
            holds_row(m, json_integer_value(id)))
            continue;
        ic_mjob *j = job_new(m, IC_MJOB_FETCH);
        j->row_id = json_integer_value(id);
        j->ws = json_integer_value(ws);
        j->channel_id = json_integer_value(ch);
        j->wa_media_id = ic_strdup(wa);
        j->row_mime = ic_strdup(mime);
        job_append(m, j);
        added++;
    }
    if (added)
        IC_DEBUG("media_scan", "added=%zu held=%zu", added, m->fetches);
out:
    json_decref(rows);
}

/* Takes what other threads left under mu: notifications, upload requests,
 * results back from the writer. */
static void take_inbox(ic_media *m, bool *notified, bool *stopping)
{
    pthread_mutex_lock(&m->mu);
    *notified = m->notified > 0;
    m->notified = 0;
    *stopping = m->stopping;
    ic_mjob *ups = m->up_head;
    m->up_head = m->up_tail = NULL;
    ic_mjob *done = m->recorded;
    m->recorded = NULL;
    pthread_mutex_unlock(&m->mu);

    while (ups) {
        ic_mjob *nx = ups->next;
        job_append(m, ups);
        ups = nx;
    }
    while (done) {
        ic_mjob *nx = done->rnext;
        record_finished(m, done);
        done = nx;
    }
}

/* Starts what is due: results to record, then uploads (a person may be
 * waiting for them), then fetches, within IC_MEDIA_MAX_ACTIVE transfers. */
static void run_ready(ic_media *m, bool stopping)
{
    int64_t now = ic_mono_us();
    for (int pass = 0; pass < 3; pass++) {
        ic_mjob *nx = NULL;
        for (ic_mjob *j = m->jobs; j; j = nx) {
            nx = j->next;
            if (j->state != IC_MST_QUEUED || j->next_at > now)
                continue;
            if (j->phase == IC_MPH_RECORD) {
                if (pass == 0)
                    record_submit(m, j);
                continue;
            }
            if (pass == 0 || stopping || m->active >= IC_MEDIA_MAX_ACTIVE)
                continue;
            if ((pass == 1) == (j->kind == IC_MJOB_UPLOAD))
                job_begin(m, j);
        }
    }
}

static void read_finished(ic_media *m)
{
    CURLMsg *msg = NULL;
    int left = 0;
    while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        CURLcode rc = msg->data.result;
        CURL *easy = msg->easy_handle;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        curl_multi_remove_handle(m->multi, easy);
        if (priv)
            ic_media_transfer_done(m, (ic_mjob *)(void *)priv, rc);
    }
}

/* How long the loop may sleep, in milliseconds (at most one second). */
static int sleep_ms(const ic_media *m, bool stopping, int64_t stop_deadline)
{
    int64_t now = ic_mono_us();
    int64_t wake = now + SEC;
    if (!stopping && m->next_scan < wake)
        wake = m->next_scan;
    if (stopping && stop_deadline < wake)
        wake = stop_deadline;
    for (const ic_mjob *j = m->jobs; j; j = j->next) {
        if (j->state != IC_MST_QUEUED || j->next_at >= wake)
            continue;
        if (j->phase == IC_MPH_RECORD || (!stopping && m->active < IC_MEDIA_MAX_ACTIVE))
            wake = j->next_at;
    }
    return wake <= now ? 0 : (int)((wake - now + 999) / 1000);
}

/* Aborts what still runs, answers the uploads, waits for the writer to give
 * every handed-over result back, and frees every job. */
static void shutdown_jobs(ic_media *m)
{
    bool notified = false, stopping = false;
    for (ic_mjob *j = m->jobs; j; j = j->next) {
        if (j->state != IC_MST_ACTIVE)
            continue;
        curl_multi_remove_handle(m->multi, j->easy);
        m->active--;
        ic_media_transfer_clear(j);
        j->state = IC_MST_QUEUED;
        IC_WARN("media_aborted", "media_id=%lld", (long long)j->row_id);
    }
    take_inbox(m, &notified, &stopping);
    ic_mjob *nx = NULL;
    for (ic_mjob *j = m->jobs; j; j = nx) {
        nx = j->next;
        if (j->kind == IC_MJOB_UPLOAD)
            ic_media_job_answer(m, j, IC_ERR_BUSY, NULL);
        else if (j->state == IC_MST_QUEUED && j->phase == IC_MPH_RECORD)
            record_submit(m, j);
    }
    pthread_mutex_lock(&m->mu);
    while (m->recording > 0)
        pthread_cond_wait(&m->cv, &m->mu);
    pthread_mutex_unlock(&m->mu);
    take_inbox(m, &notified, &stopping);
    while (m->jobs) {
        ic_mjob *j = m->jobs;
        /* A stored file the writer never took is not referenced by its row. */
        if (j->phase == IC_MPH_RECORD && j->out_state && strcmp(j->out_state, "stored") == 0)
            unlink(j->file.final);
        job_remove(m, j);
        job_free(j);
    }
}

static void *media_main(void *arg)
{
    ic_media *m = arg;
    pthread_setname_np(pthread_self(), "ic-media"); /* shows in top -H and /proc */
    int64_t stop_deadline = 0;
    bool stopping = false, notified = false;
    for (;;) {
        take_inbox(m, &notified, &stopping);
        int64_t now = ic_mono_us();
        if (stopping && stop_deadline == 0)
            stop_deadline = now + STOP_GRACE_US;
        if (stopping && (m->active == 0 || now >= stop_deadline))
            break;
        if (!stopping && m->fetches < IC_MEDIA_MAX_JOBS &&
            (notified || now >= m->next_scan ||
             (m->scan_full && m->fetches < IC_MEDIA_MAX_JOBS / 2 &&
              now - m->last_scan >= RESCAN_MIN_US)))
            scan_pending(m);
        run_ready(m, stopping);
        int running = 0;
        curl_multi_perform(m->multi, &running);
        read_finished(m);
        curl_multi_poll(m->multi, NULL, 0, sleep_ms(m, stopping, stop_deadline), NULL);
    }
    shutdown_jobs(m);
    return NULL;
}

/* ---- the public functions ------------------------------------------------------------ */

ic_err ic_media_start(ic_db *db, ic_writer *w, const char *media_dir, const char *default_graph_url,
                      ic_media **out, ic_errmsg *em)
{
    ic_err err = IC_OK;
    ic_media *m = NULL;
    bool curl_up = false, sync_up = false;
    if (out)
        *out = NULL;
    if (!db || !w || !media_dir || !*media_dir || !default_graph_url || !*default_graph_url || !out)
        return ic_errf(em, IC_ERR_INVALID,
                       "the media store needs a database, a writer, a folder "
                       "and a Graph API address");
    if (!ic_str_starts(default_graph_url, "https://") &&
        !ic_str_starts(default_graph_url, "http://"))
        return ic_errf(em, IC_ERR_INVALID, "the Graph API address must start with https://");
    err = ic_crypto_init();
    if (err)
        return ic_errf(em, err, "libsodium could not start");
    err = ic_media_mkdirs(media_dir, em);
    if (err)
        return err;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ic_errf(em, IC_ERR_INTERNAL, "libcurl could not start");
    curl_up = true;
    m = ic_calloc(1, sizeof *m);
    m->db = db;
    m->w = w;
    m->dir = trim_slashes(media_dir);
    m->graph = trim_slashes(default_graph_url);
    if (pthread_mutex_init(&m->mu, NULL) != 0 || pthread_cond_init(&m->cv, NULL) != 0) {
        err = ic_errf(em, IC_ERR_INTERNAL, "cannot create the media thread's lock");
        goto out;
    }
    sync_up = true;
    m->multi = curl_multi_init();
    if (!m->multi) {
        err = ic_errf(em, IC_ERR_INTERNAL, "libcurl could not make a multi handle");
        goto out;
    }
    if (pthread_create(&m->thread, NULL, media_main, m) != 0) {
        err = ic_errf(em, IC_ERR_INTERNAL, "cannot start the media thread");
        goto out;
    }
    m->started = true;
    IC_INFO("media_started", "max_active=%d", IC_MEDIA_MAX_ACTIVE);
    *out = m;
out:
    if (err && m) {
        if (m->multi)
            curl_multi_cleanup(m->multi);
        if (sync_up) {
            pthread_mutex_destroy(&m->mu);
            pthread_cond_destroy(&m->cv);
        }
        ic_free(m->dir);
        ic_free(m->graph);
        ic_free(m);
    }
    if (err && curl_up)
        curl_global_cleanup();
    return err;
}

void ic_media_notify(ic_media *m, int64_t media_row_id)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    if (!m->stopping && m->notified < IC_MEDIA_MAX_NOTIFY) {
        if (m->notified++ == 0)
            wake_locked(m);
    } else {
        IC_DEBUG("media_notify_dropped", "media_id=%lld", (long long)media_row_id);
    }
    pthread_mutex_unlock(&m->mu);
}

ic_err ic_media_upload(ic_media *m, int64_t ws, int64_t channel_id, int64_t media_row_id,
                       void (*done)(void *arg, ic_err result, const char *wa_media_id), void *arg)
{
    if (!m || !done)
        return IC_ERR_INVALID;
    ic_mjob *j = job_new(m, IC_MJOB_UPLOAD);
    j->ws = ws;
    j->channel_id = channel_id;
    j->row_id = media_row_id;
    j->done = done;
    j->done_arg = arg;
    pthread_mutex_lock(&m->mu);
    if (m->stopping || m->uploads >= IC_MEDIA_MAX_UPLOADS) {
        pthread_mutex_unlock(&m->mu);
        job_free(j);
        return IC_ERR_BUSY;
    }
    if (m->up_tail)
        m->up_tail->next = j;
    else
        m->up_head = j;
    m->up_tail = j;
    m->uploads++;
    wake_locked(m);
    pthread_mutex_unlock(&m->mu);
    return IC_OK;
}

ic_err ic_media_path(const ic_media *m, const char *rel, char *out, size_t size)
{
    if (!m || !rel || !out || size == 0 || !*rel || rel[0] == '/')
        return IC_ERR_INVALID;
    const char *seg = rel;
    for (const char *p = rel;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\\' || (c != '\0' && c < 0x20) || c == 0x7f)
            return IC_ERR_INVALID;
        if (c != '/' && c != '\0')
            continue;
        size_t n = (size_t)(p - seg);
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return IC_ERR_INVALID;
        if (c == '\0')
            break;
        seg = p + 1;
    }
    int n = snprintf(out, size, "%s/%s", m->dir, rel);
    if (n < 0 || (size_t)n >= size)
        return IC_ERR_TOO_BIG;
    return IC_OK;
}

void ic_media_stop(ic_media *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    m->stopping = true;
    wake_locked(m);
    pthread_mutex_unlock(&m->mu);
    if (m->started)
        pthread_join(m->thread, NULL);
    curl_multi_cleanup(m->multi);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    ic_free(m->dir);
    ic_free(m->graph);
    ic_free(m);
    curl_global_cleanup();
    IC_INFO("media_stopped", NULL);
}
