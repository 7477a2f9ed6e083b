/* media_fetch.c - the media thread's HTTP transfers: media metadata from the
 * Graph API, the download of the media URL into a file, and uploads. Each
 * transfer is one easy handle on the thread's multi handle; its end is read
 * here and the job is moved on through the ic_media_job_* calls of media.c.
 *
 * Never logged: URLs (a download URL can carry a signature), the bearer,
 * answer bodies.
 */
#include "wa/media_int.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_S 10L
#define META_TIMEOUT_S 30L
#define DOWNLOAD_TIMEOUT_S 3600L
#define UPLOAD_TIMEOUT_S 600L
/* A download slower than this many bytes/s for LOW_SPEED_S is dropped. */
#define LOW_SPEED_BPS 512L
#define LOW_SPEED_S 60L

static bool status_ok(long s)
{
    return s >= 200 && s < 300;
}

/* 5xx and 429 are worth trying again; any other 4xx is final. */
static bool status_transient(long s)
{
    return s >= 500 || s == 429 || s == 0;
}

static size_t answer_cb(char *p, size_t size, size_t n, void *arg)
{
    ic_mjob *j = arg;
    size_t len = size * n;
    if (j->body.len + len > IC_MEDIA_MAX_ANSWER) {
        j->answer_over = true;
        return 0;
    }
    ic_buf_append(&j->body, p, len);
    return len;
}

static size_t download_cb(char *p, size_t size, size_t n, void *arg)
{
    ic_mjob *j = arg;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    if (!status_ok(status)) {
        /* An error page: thrown away, but bounded. */
        j->discarded += len;
        return j->discarded > IC_MEDIA_MAX_ANSWER ? 0 : len;
    }
    if (j->file.size + (int64_t)len > j->limit) {
        j->over_limit = true;
        j->out_size = j->file.size + (int64_t)len; /* at least this big */
        return 0;
    }
    if (ic_media_file_write(&j->file, p, len) != IC_OK) {
        j->io_failed = true;
        return 0;
    }
    return len;
}

/* A 2xx download that announces a length over the limit stops before its
 * first byte. */
static size_t header_cb(char *p, size_t size, size_t n, void *arg)
{
    ic_mjob *j = arg;
    size_t len = size * n;
    static const char name[] = "content-length:";
    long status = 0;
    char num[32];
    int64_t announced = 0;
    if (len <= sizeof name - 1 || strncasecmp(p, name, sizeof name - 1) != 0)
        return len;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    if (!status_ok(status))
        return len;
    size_t k = 0;
    for (size_t i = sizeof name - 1; i < len && k + 1 < sizeof num; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            num[k++] = p[i];
    num[k] = '\0';
    if (ic_parse_i64(num, &announced) == IC_OK && announced > j->limit) {
        j->over_limit = true;
        j->out_size = announced;
        return 0;
    }
    return len;
}

void ic_media_transfer_clear(ic_mjob *j)
{
    if (j->easy) {
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
    }
    curl_slist_free_all(j->hdrs);
    j->hdrs = NULL;
    curl_mime_free(j->form);
    j->form = NULL;
    ic_buf_free(&j->body);
    j->answer_over = false;
    j->over_limit = false;
    j->io_failed = false;
    j->discarded = 0;
    ic_media_file_discard(&j->file);
}

/* Ids go into URL paths and queries: only plain characters. */
static bool plain_id(const char *s, size_t max)
{
    size_t n = 0;
    if (!s || !*s)
        return false;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= max || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                          (c >= 'A' && c <= 'Z') || c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* A bearer must not be able to add header lines. */
static bool header_safe(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || *s == 0x7f)
            return false;
    return true;
}

/* A new easy handle with what every transfer shares. */
static ic_err easy_new(ic_mjob *j, const char *url, long timeout_s)
{
    ic_buf auth = IC_BUF_INIT;
    ic_err err = IC_OK;
    j->easy = curl_easy_init();
    if (!j->easy) {
        err = IC_ERR_INTERNAL;
        goto out;
    }
    ic_buf_printf(&auth, "Authorization: Bearer %s", j->token);
    struct curl_slist *h = curl_slist_append(NULL, auth.data);
    if (!h) {
        err = IC_ERR_INTERNAL;
        goto out;
    }
    j->hdrs = h;
    h = curl_slist_append(j->hdrs, "Expect:");
    if (!h) {
        err = IC_ERR_INTERNAL;
        goto out;
    }
    j->hdrs = h;
    if (curl_easy_setopt(j->easy, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
        err = IC_ERR_INVALID;
        goto out;
    }
    curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->hdrs);
    curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
    curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(j->easy, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(j->easy, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(j->easy, CURLOPT_USERAGENT, "impactchat");
out:
    /* The header line holds the bearer: wipe our copy. */
    if (auth.data)
        sodium_memzero(auth.data, auth.len);
    ic_buf_free(&auth);
    return err;
}

static ic_err start_meta(ic_mjob *j)
{
    ic_buf url = IC_BUF_INIT;
    ic_err err = IC_OK;
    if (!plain_id(j->wa_media_id, 128) || !plain_id(j->pnid, 64)) {
        err = IC_ERR_INVALID;
        goto out;
    }
    ic_buf_printf(&url, "%s/%s?phone_number_id=%s", j->graph, j->wa_media_id, j->pnid);
    err = easy_new(j, url.data, META_TIMEOUT_S);
    if (err)
        goto out;
    curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, answer_cb);
    curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
out:
    ic_buf_free(&url);
    return err;
}

static ic_err start_download(ic_media *m, ic_mjob *j, ic_errmsg *em)
{
    const char *ext = NULL;
    ic_err err = ic_media_mime_info(j->mime, &j->limit, &ext);
    if (err)
        goto out;
    err = ic_media_file_create(m->dir, j->ws, ic_now_us(), ext, &j->file, em);
    if (err)
        goto out;
    err = easy_new(j, j->url, DOWNLOAD_TIMEOUT_S);
    if (err)
        goto out;
    curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, download_cb);
    curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(j->easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(j->easy, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(j->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(j->easy, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(j->easy, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(j->easy, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BPS);
    curl_easy_setopt(j->easy, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_S);
out:
    return err;
}

static ic_err start_upload(ic_mjob *j)
{
    ic_buf url = IC_BUF_INIT;
    ic_err err = IC_OK;
    curl_mimepart *part = NULL;
    if (!plain_id(j->pnid, 64)) {
        err = IC_ERR_INVALID;
        goto out;
    }
    ic_buf_printf(&url, "%s/%s/media", j->graph, j->pnid);
    err = easy_new(j, url.data, UPLOAD_TIMEOUT_S);
    if (err)
        goto out;
    j->form = curl_mime_init(j->easy);
    if (!j->form) {
        err = IC_ERR_INTERNAL;
        goto out;
    }
    part = curl_mime_addpart(j->form);
    if (!part || curl_mime_name(part, "messaging_product") != CURLE_OK ||
        curl_mime_data(part, "whatsapp", CURL_ZERO_TERMINATED) != CURLE_OK) {
        err = IC_ERR_INTERNAL;
        goto out;
    }
    part = curl_mime_addpart(j->form);
    if (!part || curl_mime_name(part, "type") != CURLE_OK ||
        curl_mime_data(part, j->mime, CURL_ZERO_TERMINATED) != CURLE_OK) {
        err = IC_ERR_INTERNAL;
        goto out;
    }
    part = curl_mime_addpart(j->form);
    if (!part || curl_mime_name(part, "file") != CURLE_OK ||
        curl_mime_filedata(part, j->file_path) != CURLE_OK ||
        curl_mime_type(part, j->mime) != CURLE_OK) {
        err = IC_ERR_NOT_FOUND;
        goto out;
    }
    curl_easy_setopt(j->easy, CURLOPT_MIMEPOST, j->form);
    curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, answer_cb);
    curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
out:
    ic_buf_free(&url);
    return err;
}

void ic_media_transfer_start(ic_media *m, ic_mjob *j)
{
    ic_errmsg em = {{0}};
    ic_err err = IC_OK;
    ic_media_transfer_clear(j);
    if (!header_safe(j->token)) {
        err = IC_ERR_AUTH;
        goto out;
    }
    if (j->phase == IC_MPH_META)
        err = start_meta(j);
    else if (j->phase == IC_MPH_DOWNLOAD)
        err = start_download(m, j, &em);
    else
        err = start_upload(j);
    if (err)
        goto out;
    if (curl_multi_add_handle(m->multi, j->easy) != CURLM_OK) {
        err = IC_ERR_INTERNAL;
        goto out;
    }
    j->state = IC_MST_ACTIVE;
    m->active++;
out:
    if (!err)
        return;
    ic_media_transfer_clear(j);
    if (em.msg[0])
        IC_WARN("media_transfer_not_started", "media_id=%lld err=\"%s\"", (long long)j->row_id,
                em.msg);
    if (j->kind == IC_MJOB_UPLOAD)
        ic_media_job_answer(m, j, err, NULL);
    else if (err == IC_ERR_IO || err == IC_ERR_INTERNAL)
        ic_media_job_retry(m, j, "local", 0);
    else
        ic_media_job_finish(m, j, "failed", err == IC_ERR_AUTH ? "bad_token" : "bad_metadata");
}

/* Reads Meta's metadata answer into the job; false when it is unusable. */
static bool read_meta(ic_mjob *j, const char **why)
{
    json_error_t jerr;
    bool ok = false;
    json_t *doc =
        json_loadb(j->body.data ? j->body.data : "", j->body.len, JSON_REJECT_DUPLICATES, &jerr);
    const char *ext = NULL;
    *why = "bad_metadata";
    if (!json_is_object(doc))
        goto out;
    const char *url = json_string_value(json_object_get(doc, "url"));
    const char *mime = json_string_value(json_object_get(doc, "mime_type"));
    const char *sha = json_string_value(json_object_get(doc, "sha256"));
    json_t *size = json_object_get(doc, "file_size");
    if (!url || !(ic_str_starts(url, "https://") || ic_str_starts(url, "http://")) ||
        strlen(url) > 4096)
        goto out;
    if (!mime || !*mime)
        mime = j->row_mime;
    if (!mime || strlen(mime) > 127 || ic_media_mime_info(mime, &j->limit, &ext) != IC_OK) {
        *why = "bad_type";
        goto out;
    }
    j->want_size = -1;
    if (json_is_integer(size))
        j->want_size = (int64_t)json_integer_value(size);
    else if (json_is_string(size) && ic_parse_i64(json_string_value(size), &j->want_size) != IC_OK)
        j->want_size = -1;
    if (j->want_size < -1)
        j->want_size = -1;
    j->want_sha[0] = '\0';
    if (sha && ic_media_sha256_norm(sha, j->want_sha) != IC_OK) {
        IC_WARN("media_sha256_unreadable", "media_id=%lld", (long long)j->row_id);
        j->want_sha[0] = '\0';
    }
    ic_free(j->url);
    j->url = ic_strdup(url);
    ic_free(j->mime);
    j->mime = ic_strdup(mime);
    ok = true;
out:
    json_decref(doc);
    return ok;
}

static void meta_done(ic_media *m, ic_mjob *j, CURLcode rc, long status)
{
    const char *why = NULL;
    if (rc != CURLE_OK) {
        ic_media_job_retry(m, j, "connection", 0);
        return;
    }
    if (!status_ok(status)) {
        if (status_transient(status))
            ic_media_job_retry(m, j, "graph_error", status);
        else
            ic_media_job_finish(m, j, "failed", status == 404 ? "media_id_unknown" : "refused");
        return;
    }
    if (!read_meta(j, &why)) {
        ic_media_job_finish(m, j, "failed", why);
        return;
    }
    if (j->want_size > j->limit) {
        j->out_size = j->want_size;
        ic_media_job_finish(m, j, "too_big", "over_limit");
        return;
    }
    ic_media_job_next(m, j, IC_MPH_DOWNLOAD);
}

static void download_done(ic_media *m, ic_mjob *j, CURLcode rc, long status)
{
    ic_errmsg em = {{0}};
    if (j->over_limit) {
        /* out_size holds the announced length or the bytes seen so far. */
        ic_media_file_discard(&j->file);
        ic_media_job_finish(m, j, "too_big", "over_limit");
        return;
    }
    if (j->io_failed) {
        ic_media_file_discard(&j->file);
        ic_media_job_retry(m, j, "disk", 0);
        return;
    }
    if (rc != CURLE_OK && (status == 0 || status_ok(status))) {
        ic_media_file_discard(&j->file);
        ic_media_job_retry(m, j, "connection", 0);
        return;
    }
    if (!status_ok(status)) {
        /* Judged by the status even when its error page was cut short. */
        ic_media_file_discard(&j->file);
        if ((status == 401 || status == 403 || status == 404) && !j->refetched) {
            /* The URL lives five minutes: ask for a fresh one, once. */
            IC_INFO("media_url_refetch", "media_id=%lld status=%ld", (long long)j->row_id, status);
            j->refetched = true;
            ic_media_job_next(m, j, IC_MPH_META);
        } else if (status_transient(status)) {
            ic_media_job_retry(m, j, "download_error", status);
        } else {
            ic_media_job_finish(m, j, "failed", "download_refused");
        }
        return;
    }
    if (j->want_size >= 0 && j->file.size != j->want_size) {
        j->out_size = j->file.size;
        ic_media_file_discard(&j->file);
        ic_media_job_finish(m, j, "failed", "size_mismatch");
        return;
    }
    j->out_size = j->file.size;
    ic_media_file_digest(&j->file, j->out_sha);
    if (j->want_sha[0] && strcmp(j->want_sha, j->out_sha) != 0) {
        ic_media_file_discard(&j->file);
        j->out_sha[0] = '\0';
        ic_media_job_finish(m, j, "failed", "sha256_mismatch");
        return;
    }
    if (ic_media_file_commit(&j->file, &em) != IC_OK) {
        IC_ERROR("media_file_failed", "media_id=%lld err=\"%s\"", (long long)j->row_id, em.msg);
        ic_media_job_retry(m, j, "disk", 0);
        return;
    }
    ic_media_job_finish(m, j, "stored", NULL);
}

static void upload_done(ic_media *m, ic_mjob *j, CURLcode rc, long status)
{
    json_error_t jerr;
    json_t *doc = NULL;
    if (rc != CURLE_OK) {
        ic_media_job_retry(m, j, "connection", 0);
        goto out;
    }
    if (!status_ok(status)) {
        if (status_transient(status))
            ic_media_job_retry(m, j, "graph_error", status);
        else
            ic_media_job_answer(m, j, status == 401 || status == 403 ? IC_ERR_AUTH : IC_ERR_INVALID,
                                NULL);
        goto out;
    }
    doc = json_loadb(j->body.data ? j->body.data : "", j->body.len, JSON_REJECT_DUPLICATES, &jerr);
    const char *id = json_string_value(json_object_get(doc, "id"));
    if (!id || !plain_id(id, 128)) {
        IC_WARN("media_upload_unreadable", "media_id=%lld status=%ld", (long long)j->row_id,
                status);
        ic_media_job_answer(m, j, IC_ERR_INVALID, NULL);
        goto out;
    }
    ic_media_job_answer(m, j, IC_OK, id);
out:
    json_decref(doc);
}

void ic_media_transfer_done(ic_media *m, ic_mjob *j, CURLcode rc)
{
    long status = 0;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    j->state = IC_MST_QUEUED;
    m->active--;
    /* A body that would not fit is an unreadable answer, worth a retry. */
    if (rc == CURLE_WRITE_ERROR && j->answer_over)
        rc = CURLE_RECV_ERROR;
    if (j->phase == IC_MPH_META)
        meta_done(m, j, rc, status);
    else if (j->phase == IC_MPH_DOWNLOAD)
        download_done(m, j, rc, status);
    else
        upload_done(m, j, rc, status);
}
