/* media_api.c - GET /api/v1/media/{id} (download a stored file) and
 * POST /api/v1/media?channel_id=N (upload a file to send later).
 *
 * Files live under cfg->media_dir; the database keeps their path relative
 * to it. Uploads are written to a temporary file, synced, then renamed, so a
 * row never points at half a file. An upload is then sent on to Meta by the
 * media thread (ic_media_upload) and answered only once Meta's media id is
 * recorded on the row, so the answer's "wa_media_id" can go straight into a
 * message. The request is deferred throughout: poll thread (checks, file),
 * writer (row), media thread (Meta), writer (Meta's id, then the answer). */
#include "api/api.h"
#include "api/auth.h"
#include "api/json_in.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/str.h"
#include "wa/media.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define KB ((size_t)1024)
#define MB (KB * 1024)

/* What WhatsApp accepts, with Meta's size limit for each kind. */
typedef struct media_kind {
    const char *mime;
    const char *ext;
    size_t max;
    const char *limit_text;
} media_kind;

static const media_kind kinds[] = {
    {"image/jpeg", "jpg", 5 * MB, "5 MB"},
    {"image/png", "png", 5 * MB, "5 MB"},
    {"image/webp", "webp", 500 * KB, "500 KB (stickers)"},
    {"audio/aac", "aac", 16 * MB, "16 MB"},
    {"audio/amr", "amr", 16 * MB, "16 MB"},
    {"audio/mpeg", "mp3", 16 * MB, "16 MB"},
    {"audio/mp4", "m4a", 16 * MB, "16 MB"},
    {"audio/ogg", "ogg", 16 * MB, "16 MB"},
    {"video/mp4", "mp4", 16 * MB, "16 MB"},
    {"video/3gpp", "3gp", 16 * MB, "16 MB"},
    {"text/plain", "txt", 100 * MB, "100 MB"},
    {"application/pdf", "pdf", 100 * MB, "100 MB"},
    {"application/msword", "doc", 100 * MB, "100 MB"},
    {"application/vnd.ms-excel", "xls", 100 * MB, "100 MB"},
    {"application/vnd.ms-powerpoint", "ppt", 100 * MB, "100 MB"},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", 100 * MB,
     "100 MB"},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", 100 * MB,
     "100 MB"},
    {"application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx", 100 * MB,
     "100 MB"},
};

/* The route's body bound: the largest kind (documents). */
#define UPLOAD_MAX_BODY (100 * MB)

/* Finds the kind of a Content-Type header value, ignoring parameters
 * ("audio/ogg; codecs=opus") and case. */
static const media_kind *kind_for(const char *content_type)
{
    if (!content_type)
        return NULL;
    size_t n = strcspn(content_type, ";");
    while (n > 0 && (content_type[n - 1] == ' ' || content_type[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strlen(kinds[i].mime) == n && strncasecmp(kinds[i].mime, content_type, n) == 0)
            return &kinds[i];
    return NULL;
}

/* ---- download ------------------------------------------------------------------- */

/* A stored path is relative to the media folder and stays inside it. */
static bool path_is_safe(const char *p)
{
    return p && *p && p[0] != '/' && !strstr(p, "..") && !strchr(p, '\\');
}

/* A mime type from the database goes into a header: keep it to token chars. */
static bool mime_is_clean(const char *m)
{
    if (!m || !*m || strlen(m) > 127 || !strchr(m, '/'))
        return false;
    for (; *m; m++) {
        char c = *m;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("!#$&^_.+-/;= ", c)))
            return false;
    }
    return true;
}

static bool mime_inline(const char *m)
{
    /* SVG is an image that can carry script: never inline. */
    if (strncasecmp(m, "image/svg", 9) == 0)
        return false;
    return ic_str_starts(m, "image/") || ic_str_starts(m, "audio/") || ic_str_starts(m, "video/");
}

/* Meta's media id goes into a header: keep it to the characters its ids
 * use. */
static bool wa_id_is_clean(const char *id)
{
    if (!id || !*id || strlen(id) > 128)
        return false;
    for (; *id; id++)
        if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z') ||
              (*id >= '0' && *id <= '9') || strchr("._-", *id)))
            return false;
    return true;
}

static void get_media(ic_req *r, void *arg)
{
    ic_app *app = arg;
    int64_t ws = 0, id = 0;
    json_t *row = NULL;
    char *full = NULL;
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_VIEWER, &who) != IC_OK)
        return;
    ws = who.ws;
    ic_err e = IC_ERR_NOT_FOUND;
    if (ic_api_parse_id(ic_req_param(r, "id"), &id) != IC_OK ||
        (e = ic_store_media_get(ic_db_thread_conn(app->db), ws, id, &row)) != IC_OK) {
        ic_api_fail(r, e, NULL);
        goto out;
    }
    const char *state = json_string_value(json_object_get(row, "state"));
    const char *path = json_string_value(json_object_get(row, "path"));
    const char *mime = json_string_value(json_object_get(row, "mime_type"));
    if (!state || strcmp(state, "stored") != 0) {
        ic_req_error(r, 404, "not_found", "media %lld is not stored (state %s)", (long long)id,
                     state ? state : "unknown");
        goto out;
    }
    if (!path_is_safe(path)) {
        IC_WARN("api_media_path_refused", "rid=%s ws=%lld media=%lld", ic_req_id(r), (long long)ws,
                (long long)id);
        ic_req_error(r, 404, "not_found", "not found");
        goto out;
    }
    if (!mime_is_clean(mime))
        mime = "application/octet-stream";
    ic_buf b = IC_BUF_INIT;
    ic_buf_printf(&b, "%s/%s", app->cfg->media_dir, path);
    full = ic_buf_steal(&b);
    char disp[96];
    const char *ext = strrchr(path, '.');
    if (ext && (strlen(ext) > 8 || strchr(ext, '/')))
        ext = NULL;
    snprintf(disp, sizeof disp, "%s; filename=\"media-%lld%s\"",
             mime_inline(mime) ? "inline" : "attachment", (long long)id, ext ? ext : "");
    /* The HTTP layer adds X-Content-Type-Options: nosniff to every answer. */
    ic_req_add_header(r, "Content-Disposition", disp);
    ic_req_add_header(r, "Content-Security-Policy", "sandbox; default-src 'none'");
    /* Meta's id of the file (an upload sent to Meta, or inbound media), for
     * naming it in a message. */
    const char *wa_id = json_string_value(json_object_get(row, "wa_media_id"));
    if (wa_id_is_clean(wa_id))
        ic_req_add_header(r, "X-WhatsApp-Media-Id", wa_id);
    ic_req_respond_file(r, 200, mime, full);
out:
    ic_free(full);
    json_decref(row);
}

/* ---- upload ------------------------------------------------------------------------ */

/* mkdir -p for the media folder and the workspace folder under it. */
static ic_err make_dirs(const char *path)
{
    char tmp[4096];
    if (ic_strlcpy(tmp, path, sizeof tmp) >= sizeof tmp)
        return IC_ERR_TOO_BIG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return IC_ERR_IO;
        *p = '/';
    }
    if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
        return IC_ERR_IO;
    return IC_OK;
}

static ic_err write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return IC_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return IC_OK;
}

/* Writes data to dir/name durably: a temporary file, fsync, rename, then
 * fsync of the folder. */
static ic_err write_durable(const char *dir, const char *name, const char *data, size_t len)
{
    ic_buf tmp = IC_BUF_INIT, dst = IC_BUF_INIT;
    ic_buf_printf(&tmp, "%s/.%s.tmp", dir, name);
    ic_buf_printf(&dst, "%s/%s", dir, name);
    ic_err e = IC_ERR_IO;
    int fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        goto out;
    e = write_all(fd, data, len);
    if (e == IC_OK && fsync(fd) != 0)
        e = IC_ERR_IO;
    if (close(fd) != 0 && e == IC_OK)
        e = IC_ERR_IO;
    if (e == IC_OK && rename(tmp.data, dst.data) != 0)
        e = IC_ERR_IO;
    if (e != IC_OK) {
        unlink(tmp.data);
        goto out;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0)
            e = IC_ERR_IO;
        close(dfd);
    }
out:
    ic_buf_free(&tmp);
    ic_buf_free(&dst);
    return e;
}

/* One upload, from the request to the answer. Owned by whichever step runs:
 * the writer (the row), then the media thread (the upload to Meta), then the
 * writer again (Meta's id); the step that answers frees it. */
typedef struct upload_job {
    ic_write_job job;    /* stores the row */
    ic_write_job record; /* records Meta's id on it */
    ic_app *app;
    ic_req *r;
    ic_media_row row;
    const media_kind *kind;
    char rel[128];
    char sha[65];
    char wa_id[257]; /* Meta's media id once uploaded */
    char *full;
} upload_job;

static void upload_free(upload_job *j)
{
    if (!j)
        return;
    ic_free(j->full);
    ic_free(j);
}

/* 201 with the row, and Meta's id when the file went to Meta. */
static void answer_created(upload_job *j)
{
    json_t *answer = json_pack("{s:I, s:I, s:s, s:I, s:s}", "id", (json_int_t)j->row.id,
                               "channel_id", (json_int_t)j->row.channel_id, "mime_type",
                               j->kind->mime, "size", (json_int_t)j->row.size, "sha256", j->sha);
    if (j->wa_id[0])
        json_object_set_new(answer, "wa_media_id", json_string(j->wa_id));
    ic_req_respond_json(j->r, 201, answer);
}

/* The file is stored but has no WhatsApp id: 503 when the uploader is busy
 * or stopping, else 502 upload_failed saying why. */
static void answer_not_uploaded(upload_job *j, ic_err e)
{
    const char *why = NULL;
    IC_WARN("api_media_upload_failed", "rid=%s ws=%lld media=%lld err=\"%s\"", ic_req_id(j->r),
            (long long)j->row.workspace_id, (long long)j->row.id, ic_strerror(e));
    if (e == IC_ERR_BUSY) {
        ic_req_add_header(j->r, "Retry-After", "1");
        ic_req_error(j->r, 503, ic_api_error_code(e),
                     "the upload to WhatsApp is busy; the file is stored as media %lld without a "
                     "WhatsApp id: upload it again later",
                     (long long)j->row.id);
        return;
    }
    switch (e) {
    case IC_ERR_AUTH:
        why = "WhatsApp refused the upload: the channel's access token was not accepted";
        break;
    case IC_ERR_INVALID:
        why = "WhatsApp refused the upload: it did not accept the file";
        break;
    case IC_ERR_LIMIT:
        why = "WhatsApp refused the upload: the file is over WhatsApp's size limit for its type";
        break;
    case IC_ERR_NOT_FOUND:
        why = "the upload to WhatsApp could not start: the stored file or the channel is gone";
        break;
    case IC_ERR_IO:
        why = "the upload to WhatsApp failed: the Graph API kept failing or could not be reached";
        break;
    default:
        why = "the upload to WhatsApp failed";
        break;
    }
    ic_req_error(j->r, 502, "upload_failed",
                 "%s; the file is stored as media %lld without a WhatsApp id", why,
                 (long long)j->row.id);
}

static ic_err upload_apply(ic_conn *tx, ic_write_job *job)
{
    upload_job *j = job->arg;
    j->row.id = 0;
    ic_err e = ic_store_media_upsert(tx, &j->row);
    if (e != IC_OK)
        return e;
    return ic_store_media_update(tx, j->row.workspace_id, j->row.id, "stored", j->rel, j->row.size,
                                 j->sha, j->kind->mime);
}

static ic_err record_apply(ic_conn *tx, ic_write_job *job)
{
    upload_job *j = job->arg;
    return ic_store_media_set_wa_id(tx, j->row.workspace_id, j->row.id, j->wa_id);
}

/* Writer thread: Meta's id is durable on the row (or not). Answers and
 * frees j. */
static void record_done(ic_write_job *job, ic_err result)
{
    upload_job *j = job->arg;
    if (result != IC_OK) {
        IC_WARN("api_media_wa_id_not_recorded", "rid=%s ws=%lld media=%lld err=\"%s\"",
                ic_req_id(j->r), (long long)j->row.workspace_id, (long long)j->row.id,
                ic_strerror(result));
        ic_api_fail(j->r, result, NULL);
        goto out;
    }
    IC_INFO("api_media_sendable", "rid=%s ws=%lld media=%lld", ic_req_id(j->r),
            (long long)j->row.workspace_id, (long long)j->row.id);
    answer_created(j);
out:
    upload_free(j);
}

/* Media thread: Meta answered the upload (or it failed for good). Submits
 * the write of Meta's id, which never blocks; answers and frees j itself
 * when there is nothing to write. */
static void upload_sent(void *arg, ic_err result, const char *wa_media_id)
{
    upload_job *j = arg;
    if (result == IC_OK &&
        (!wa_media_id || ic_strlcpy(j->wa_id, wa_media_id, sizeof j->wa_id) >= sizeof j->wa_id))
        result = IC_ERR_INVALID;
    if (result != IC_OK)
        goto fail;
    j->record.apply = record_apply;
    j->record.done = record_done;
    j->record.arg = j;
    result = ic_writer_submit(j->app->writer, &j->record);
    if (result == IC_OK)
        return; /* record_done owns j now */
fail:
    j->wa_id[0] = '\0';
    answer_not_uploaded(j, result);
    upload_free(j);
}

/* Writer thread: the row and its file are durable. Without a media thread
 * (app->media NULL) the answer has no WhatsApp id; otherwise the file goes
 * to Meta first and upload_sent carries on. */
static void upload_done(ic_write_job *job, ic_err result)
{
    upload_job *j = job->arg;
    if (result != IC_OK) {
        unlink(j->full);
        ic_api_fail(j->r, result, NULL);
        goto out;
    }
    IC_INFO("api_media_uploaded", "rid=%s ws=%lld media=%lld mime=%s size=%lld", ic_req_id(j->r),
            (long long)j->row.workspace_id, (long long)j->row.id, j->kind->mime,
            (long long)j->row.size);
    if (!j->app->media) {
        answer_created(j);
        goto out;
    }
    result = ic_media_upload(j->app->media, j->row.workspace_id, j->row.channel_id, j->row.id,
                             upload_sent, j);
    if (result == IC_OK)
        return; /* upload_sent owns j now, and may be running already */
    answer_not_uploaded(j, result == IC_ERR_INVALID ? IC_ERR_INTERNAL : result);
out:
    upload_free(j);
}

static void upload_media(ic_req *r, void *arg)
{
    ic_app *app = arg;
    int64_t ws = 0, channel = 0;
    ic_channel ch = {0};
    ic_errmsg em = {{0}};
    char *dir = NULL;
    upload_job *j = NULL;
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_OPERATOR, &who) != IC_OK)
        return;
    ws = who.ws;
    ic_err e = IC_ERR_INVALID;
    if (ic_api_parse_id(ic_req_query(r, "channel_id"), &channel) != IC_OK) {
        ic_errf(&em, e, "channel_id (in the query string) must name the channel to send from");
        goto fail;
    }
    e = ic_store_channel_get(ic_db_thread_conn(app->db), ws, channel, &ch);
    if (e == IC_ERR_NOT_FOUND)
        ic_errf(&em, e, "there is no channel %lld in this workspace", (long long)channel);
    if (e != IC_OK)
        goto fail;
    const media_kind *kind = kind_for(ic_req_header(r, "Content-Type"));
    if (!kind) {
        ic_req_error(r, 415, "unsupported_media_type",
                     "Content-Type must be a type WhatsApp accepts: image/jpeg, image/png, "
                     "image/webp, audio/aac, audio/amr, audio/mpeg, audio/mp4, audio/ogg, "
                     "video/mp4, video/3gpp, or a document (PDF, text, Word, Excel, "
                     "PowerPoint)");
        goto out;
    }
    size_t len = 0;
    const char *body = ic_req_body(r, &len);
    if (len == 0) {
        e = ic_errf(&em, IC_ERR_INVALID, "the body is empty: send the file's bytes");
        goto fail;
    }
    if (len > kind->max) {
        e = ic_errf(&em, IC_ERR_TOO_BIG, "%s files may be at most %s (WhatsApp's limit)",
                    kind->mime, kind->limit_text);
        goto fail;
    }
    j = ic_calloc(1, sizeof *j);
    j->app = app;
    j->r = r;
    j->kind = kind;
    ic_sha256_hex(body, len, j->sha);
    char rnd[33], name[64];
    ic_random_hex(rnd, 16);
    snprintf(name, sizeof name, "upload-%s.%s", rnd, kind->ext);
    snprintf(j->rel, sizeof j->rel, "%lld/%s", (long long)ws, name);
    ic_buf b = IC_BUF_INIT;
    ic_buf_printf(&b, "%s/%lld", app->cfg->media_dir, (long long)ws);
    dir = ic_buf_steal(&b);
    ic_buf_printf(&b, "%s/%s", dir, name);
    j->full = ic_buf_steal(&b);
    if ((e = make_dirs(dir)) != IC_OK || (e = write_durable(dir, name, body, len)) != IC_OK) {
        IC_ERROR("api_media_write_failed", "rid=%s ws=%lld err=\"%s\"", ic_req_id(r), (long long)ws,
                 strerror(errno));
        goto fail;
    }
    j->row = (ic_media_row){.workspace_id = ws,
                            .channel_id = channel,
                            .mime_type = kind->mime,
                            .sha256 = j->sha,
                            .path = j->rel,
                            .state = "stored",
                            .size = (int64_t)len};
    j->job.apply = upload_apply;
    j->job.done = upload_done;
    j->job.arg = j;
    ic_req_defer(r);
    e = ic_writer_submit(app->writer, &j->job);
    if (e != IC_OK) {
        unlink(j->full);
        goto fail;
    }
    j = NULL;
    goto out;
fail:
    ic_api_fail(r, e, &em);
out:
    upload_free(j);
    ic_free(dir);
    ic_channel_clear(&ch);
}

void ic_api_media_routes(ic_http *h, ic_app *app)
{
    ic_http_route(h, "GET", "/api/v1/media/{id}", 0, get_media, app);
    ic_http_route(h, "POST", "/api/v1/media", UPLOAD_MAX_BODY, upload_media, app);
}
