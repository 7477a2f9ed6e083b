/* test_media.c - the media thread against a tiny Graph API played by
 * libmicrohttpd inside the test, with a real SQLite store and writer.
 *
 * Every case inserts a pending media row through the writer (or, for the
 * first, before the media thread starts so that its first scan finds it),
 * waits for the row to leave "pending", then checks what a user would see:
 * the row's state, size and hash, the stored file's bytes and place, and
 * what the fake Graph API was asked (request counts, bearer, multipart).
 */
#include "base/alloc.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/str.h"
#include "base/time.h"
#include "store/store.h"
#include "wa/media.h"
#include "wa/media_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_db.h"

#define TOKEN "tok-abc"
#define PNID "1234567890"
#define BIG_STREAM (5 * 1024 * 1024 + 100)

/* ---- the fake Graph API ------------------------------------------------------ */

enum { C_META, C_FILE, C_UPLOAD, C_COUNT };

typedef struct counter {
    char name[32];
    int n[C_COUNT];
} counter;

static struct {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    counter counters[32];
    size_t ncounters;
    int bad_bearer;      /* requests refused for a wrong or missing bearer */
    char up_body[65536]; /* the last upload's multipart body */
    size_t up_len;
    char up_ctype[256];
} srv = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const char ok_bytes[] = "\xff\xd8\xff\xe0 a small jpeg, honestly";
static const char pdf_bytes[] = "%PDF-1.4 a tiny document";
static char *stream_bytes; /* BIG_STREAM bytes */

/* Counts a request for name of kind k and returns how many came before. */
static int count(const char *name, int k)
{
    pthread_mutex_lock(&srv.mu);
    counter *c = NULL;
    for (size_t i = 0; i < srv.ncounters; i++)
        if (strcmp(srv.counters[i].name, name) == 0)
            c = &srv.counters[i];
    if (!c && srv.ncounters < 32) {
        c = &srv.counters[srv.ncounters++];
        ic_strlcpy(c->name, name, sizeof c->name);
    }
    int before = c ? c->n[k]++ : 0;
    pthread_mutex_unlock(&srv.mu);
    return before;
}

static int counted(const char *name, int k)
{
    int n = 0;
    pthread_mutex_lock(&srv.mu);
    for (size_t i = 0; i < srv.ncounters; i++)
        if (strcmp(srv.counters[i].name, name) == 0)
            n = srv.counters[i].n[k];
    pthread_mutex_unlock(&srv.mu);
    return n;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const void *body,
                             size_t len, const char *ctype)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *doc)
{
    char *s = json_dumps(doc, JSON_COMPACT);
    enum MHD_Result ret = reply(c, status, s, strlen(s), "application/json");
    free(s);
    json_decref(doc);
    return ret;
}

static void sha_hex(const void *p, size_t n, char out[65])
{
    ic_sha256_hex(p, n, out);
}

/* GET /v1/<media id>: the metadata of each scripted media id. */
static enum MHD_Result meta(struct MHD_Connection *c, const char *id)
{
    char url[256], sha[65];
    const char *pnid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "phone_number_id");
    int before = count(id, C_META);
    if (!ic_str_eq(pnid, PNID))
        return reply_json(c, 400, json_pack("{s:{s:s}}", "error", "message", "no phone id"));
    if (strcmp(id, "m_gone") == 0)
        return reply_json(c, 404, json_pack("{s:{s:i}}", "error", "code", 100));
    if (strcmp(id, "m_500") == 0 && before == 0)
        return reply(c, 500, "oops", 4, "text/plain");
    if (strcmp(id, "m_expire") == 0)
        snprintf(url, sizeof url, "http://127.0.0.1:%d/files/%s?sig=%d", srv.port, id, before);
    else
        snprintf(url, sizeof url, "http://127.0.0.1:%d/files/%s", srv.port, id);
    if (strcmp(id, "m_big") == 0)
        return reply_json(c, 200,
                          json_pack("{s:s,s:s,s:s,s:I,s:s,s:s}", "url", url, "mime_type",
                                    "image/png", "sha256", "00", "file_size",
                                    (json_int_t)6 * 1024 * 1024, "id", id, "messaging_product",
                                    "whatsapp"));
    if (strcmp(id, "m_stream") == 0)
        return reply_json(
            c, 200, json_pack("{s:s,s:s,s:s}", "url", url, "mime_type", "image/jpeg", "id", id));
    if (strcmp(id, "m_b64") == 0) {
        unsigned char bin[32];
        char b64[64];
        crypto_hash_sha256(bin, (const unsigned char *)pdf_bytes, sizeof pdf_bytes - 1);
        sodium_bin2base64(b64, sizeof b64, bin, sizeof bin, sodium_base64_VARIANT_ORIGINAL);
        char size[32];
        snprintf(size, sizeof size, "%zu", sizeof pdf_bytes - 1);
        /* file_size as a string, as some answers have it. */
        return reply_json(c, 200,
                          json_pack("{s:s,s:s,s:s,s:s,s:s}", "url", url, "mime_type",
                                    "application/pdf", "sha256", b64, "file_size", size, "id", id));
    }
    if (strcmp(id, "m_badsha") == 0)
        sha_hex("something else", 14, sha);
    else
        sha_hex(ok_bytes, sizeof ok_bytes - 1, sha);
    return reply_json(c, 200,
                      json_pack("{s:s,s:s,s:s,s:I,s:s}", "url", url, "mime_type", "image/jpeg",
                                "sha256", sha, "file_size", (json_int_t)(sizeof ok_bytes - 1), "id",
                                id));
}

/* A body of BIG_STREAM bytes without a Content-Length (chunked). */
static ssize_t chunked_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    if (pos >= BIG_STREAM)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = BIG_STREAM - pos < max ? BIG_STREAM - pos : max;
    memset(buf, 'y', n);
    return (ssize_t)n;
}

/* A download that trickles until the test lets it go (slow_released). */
static _Atomic int slow_released;

static ssize_t slow_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)cls;
    (void)pos;
    if (slow_released)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    ic_sleep_us(50000);
    size_t n = max < 16 ? max : 16;
    memset(buf, 'z', n);
    return (ssize_t)n;
}

/* GET /files/<media id>: the bytes. */
static enum MHD_Result file(struct MHD_Connection *c, const char *id)
{
    int before = count(id, C_FILE);
    if (strcmp(id, "m_expire") == 0 && before == 0)
        return reply(c, 404, "expired", 7, "text/plain");
    if (strcmp(id, "m_stream") == 0)
        return reply(c, 200, stream_bytes, BIG_STREAM, "image/jpeg");
    if (strcmp(id, "m_chunked") == 0 || strcmp(id, "m_slow") == 0) {
        struct MHD_Response *r = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, 64 * 1024, id[2] == 'c' ? chunked_cb : slow_cb, NULL, NULL);
        enum MHD_Result ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (strcmp(id, "m_b64") == 0)
        return reply(c, 200, pdf_bytes, sizeof pdf_bytes - 1, "application/pdf");
    return reply(c, 200, ok_bytes, sizeof ok_bytes - 1, "image/jpeg");
}

typedef struct req_ctx {
    ic_buf body;
} req_ctx;

/* Every request gets a context on its first call (answered on a later call,
 * as libmicrohttpd wants), freed by request_done. */
static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    req_ctx *u = *con_cls;
    if (!u) {
        u = ic_calloc(1, sizeof *u);
        *con_cls = u;
        return MHD_YES;
    }
    if (*data_size) {
        if (u->body.len + *data_size <= sizeof srv.up_body)
            ic_buf_append(&u->body, data, *data_size);
        *data_size = 0;
        return MHD_YES;
    }
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!ic_str_eq(auth, "Bearer " TOKEN)) {
        pthread_mutex_lock(&srv.mu);
        srv.bad_bearer++;
        pthread_mutex_unlock(&srv.mu);
        return reply_json(c, 401, json_pack("{s:{s:i}}", "error", "code", 190));
    }
    if (strcmp(method, "POST") == 0) {
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        count("upload", C_UPLOAD);
        pthread_mutex_lock(&srv.mu);
        memcpy(srv.up_body, u->body.data ? u->body.data : "", u->body.len);
        srv.up_len = u->body.len;
        ic_strlcpy(srv.up_ctype, ct ? ct : "", sizeof srv.up_ctype);
        pthread_mutex_unlock(&srv.mu);
        if (strcmp(url, "/v1/" PNID "/media") != 0)
            return reply_json(c, 404, json_pack("{s:{s:i}}", "error", "code", 100));
        return reply_json(c, 200, json_pack("{s:s}", "id", "777000111"));
    }
    if (ic_str_starts(url, "/v1/"))
        return meta(c, url + 4);
    if (ic_str_starts(url, "/files/"))
        return file(c, url + 7);
    return reply(c, 404, "no", 2, "text/plain");
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    req_ctx *u = *con_cls;
    if (u) {
        ic_buf_free(&u->body);
        ic_free(u);
        *con_cls = NULL;
    }
}

/* ---- the store ------------------------------------------------------------------ */

static struct {
    char dir[512];   /* this run's temporary folder */
    char media[600]; /* media_dir */
    ic_db *db;
    ic_writer *w;
    ic_media *m;
    int64_t ws;
    int64_t channel;     /* token TOKEN */
    int64_t bad_channel; /* a token Meta refuses */
} t;

static char db_url[700]; /* a file in t.dir, or a PostgreSQL database (test_db.h) */

typedef enum { J_WORKSPACE, J_CHANNEL, J_MEDIA, J_STORED } tjob_kind;

typedef struct tjob {
    ic_write_job job;
    tjob_kind kind;
    ic_channel ch;
    ic_media_row row;
    int64_t id;
} tjob;

static ic_err tjob_apply(ic_conn *tx, ic_write_job *job)
{
    tjob *j = job->arg;
    switch (j->kind) {
    case J_WORKSPACE:
        return ic_store_workspace_insert(tx, "Media test", &j->id);
    case J_CHANNEL: {
        ic_err e = ic_store_channel_insert(tx, &j->ch);
        j->id = j->ch.id;
        return e;
    }
    case J_MEDIA: {
        ic_err e = ic_store_media_upsert(tx, &j->row);
        j->id = j->row.id;
        return e;
    }
    case J_STORED: {
        ic_err e = ic_store_media_upsert(tx, &j->row);
        j->id = j->row.id;
        if (e == IC_OK)
            e = ic_store_media_update(tx, j->row.workspace_id, j->row.id, "stored", j->row.path,
                                      j->row.size, j->row.sha256, j->row.mime_type);
        return e;
    }
    }
    return IC_ERR_INTERNAL;
}

static int64_t run_job(tjob *j)
{
    j->job.apply = tjob_apply;
    j->job.arg = j;
    assert_int_equal(ic_writer_run(t.w, &j->job), IC_OK);
    assert_true(j->id > 0);
    return j->id;
}

static int64_t add_channel(const char *pnid, const char *token)
{
    char graph[128];
    snprintf(graph, sizeof graph, "http://127.0.0.1:%d/v1/", srv.port);
    tjob j = {.kind = J_CHANNEL};
    j.ch.workspace_id = t.ws;
    j.ch.name = (char *)"Helpline";
    j.ch.phone_number_id = (char *)pnid;
    j.ch.waba_id = (char *)"555";
    j.ch.display_phone = (char *)"+27 11 000 0000";
    j.ch.access_token = (char *)token;
    j.ch.app_secret = (char *)"secret";
    j.ch.verify_token = (char *)"verify";
    j.ch.graph_url = graph;
    j.ch.throughput_mps = 80;
    return run_job(&j);
}

/* Inserts a pending media row for Meta's id wa on channel ch. */
static int64_t add_pending(int64_t ch, const char *wa, const char *mime)
{
    tjob j = {.kind = J_MEDIA};
    j.row = (ic_media_row){.workspace_id = t.ws,
                           .channel_id = ch,
                           .wa_media_id = wa,
                           .mime_type = mime,
                           .state = "pending"};
    return run_job(&j);
}

/* The row as the API shows it once it left "pending" (owned). */
static json_t *wait_settled(int64_t id)
{
    json_t *row = NULL;
    /* A safety net against a hang, not a timing assertion. */
    int64_t deadline = ic_mono_us() + 120 * 1000000LL;
    for (;;) {
        json_decref(row);
        row = NULL;
        assert_int_equal(ic_store_media_get(ic_db_thread_conn(t.db), t.ws, id, &row), IC_OK);
        const char *state = json_string_value(json_object_get(row, "state"));
        assert_non_null(state);
        if (strcmp(state, "pending") != 0)
            return row;
        if (ic_mono_us() > deadline)
            fail_msg("media row %lld is still pending", (long long)id);
        ic_sleep_us(20000);
    }
}

static const char *jstr(json_t *row, const char *key)
{
    return json_string_value(json_object_get(row, key));
}

static int64_t jint(json_t *row, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(row, key));
}

/* Checks a stored row: its file has exactly these bytes, and sits in
 * media_dir/<ws>/<yyyy>/<mm>/<32 hex>.<ext>. */
static void assert_stored(json_t *row, const void *bytes, size_t len, const char *ext)
{
    char full[1024], want_prefix[64], sha[65];
    assert_string_equal(jstr(row, "state"), "stored");
    assert_int_equal(jint(row, "size"), (int64_t)len);
    ic_sha256_hex(bytes, len, sha);
    assert_string_equal(jstr(row, "sha256"), sha);
    const char *path = jstr(row, "path");
    assert_non_null(path);

    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(want_prefix, sizeof want_prefix, "%lld/%04d/%02d/", (long long)t.ws, tm.tm_year + 1900,
             tm.tm_mon + 1);
    assert_true(ic_str_starts(path, want_prefix));
    const char *name = path + strlen(want_prefix);
    assert_int_equal(strspn(name, "0123456789abcdef"), 32);
    assert_string_equal(name + 32 + 1, ext);
    assert_int_equal(name[32], '.');

    assert_int_equal(ic_media_path(t.m, path, full, sizeof full), IC_OK);
    assert_true(ic_str_starts(full, t.media));
    FILE *f = fopen(full, "rb");
    assert_non_null(f);
    char *got = ic_malloc(len + 16);
    size_t n = fread(got, 1, len + 16, f);
    fclose(f);
    assert_int_equal(n, len);
    assert_memory_equal(got, bytes, len);
    ic_free(got);
}

/* Regular files under dir (recursively); *parts counts temporary ones. */
static int count_files(const char *dir, int *parts)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char p[1024];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (lstat(p, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            n += count_files(p, parts);
        } else {
            n++;
            if (strstr(e->d_name, ".part"))
                (*parts)++;
        }
    }
    closedir(d);
    return n;
}

/* ---- cases ------------------------------------------------------------------------ */

/* Inserted before the thread started: its first scan finds it. */
static int64_t early_row;

static void test_pending_at_start_is_fetched(void **state)
{
    (void)state;
    json_t *row = wait_settled(early_row);
    assert_stored(row, ok_bytes, sizeof ok_bytes - 1, "jpg");
    assert_string_equal(jstr(row, "mime_type"), "image/jpeg");
    assert_int_equal(counted("m_ok", C_META), 1);
    assert_int_equal(counted("m_ok", C_FILE), 1);
    json_decref(row);
}

static void test_notified_row_is_fetched_with_base64_hash(void **state)
{
    (void)state;
    int64_t id = add_pending(t.channel, "m_b64", "application/pdf");
    ic_media_notify(t.m, id);
    json_t *row = wait_settled(id);
    assert_stored(row, pdf_bytes, sizeof pdf_bytes - 1, "pdf");
    json_decref(row);
}

static void test_expired_url_is_fetched_again_once(void **state)
{
    (void)state;
    int64_t id = add_pending(t.channel, "m_expire", "image/jpeg");
    ic_media_notify(t.m, id);
    json_t *row = wait_settled(id);
    assert_stored(row, ok_bytes, sizeof ok_bytes - 1, "jpg");
    assert_int_equal(counted("m_expire", C_META), 2);
    assert_int_equal(counted("m_expire", C_FILE), 2);
    json_decref(row);
}

static void test_oversize_is_too_big_without_download(void **state)
{
    (void)state;
    int64_t id = add_pending(t.channel, "m_big", "image/png");
    ic_media_notify(t.m, id);
    json_t *row = wait_settled(id);
    assert_string_equal(jstr(row, "state"), "too_big");
    assert_null(jstr(row, "path"));
    assert_int_equal(counted("m_big", C_META), 1);
    assert_int_equal(counted("m_big", C_FILE), 0);
    json_decref(row);
}

static void test_download_past_the_limit_is_too_big(void **state)
{
    (void)state;
    int64_t id = add_pending(t.channel, "m_stream", "image/jpeg");
    ic_media_notify(t.m, id);
    json_t *row = wait_settled(id);
    assert_string_equal(jstr(row, "state"), "too_big");
    assert_null(jstr(row, "path"));
    assert_true(jint(row, "size") > 5 * 1024 * 1024);
    assert_int_equal(counted("m_stream", C_FILE), 1);
    json_decref(row);
}

static void test_stream_past_the_limit_is_cut_off(void **state)
{
    (void)state;
    int64_t id = add_pending(t.channel, "m_chunked", "image/jpeg");
    ic_media_notify(t.m, id);
    json_t *row = wait_settled(id);
    assert_string_equal(jstr(row, "state"), "too_big");
    assert_null(jstr(row, "path"));
    assert_true(jint(row, "size") > 5 * 1024 * 1024);
    assert_int_equal(counted("m_chunked", C_FILE), 1);
    json_decref(row);
}

static void test_sha256_mismatch_fails(void **state)
{
    (void)state;
    int64_t id = add_pending(t.channel, "m_badsha", "image/jpeg");
    ic_media_notify(t.m, id);
    json_t *row = wait_settled(id);
    assert_string_equal(jstr(row, "state"), "failed");
    assert_null(jstr(row, "path"));
    assert_int_equal(counted("m_badsha", C_FILE), 1);
    json_decref(row);
}

static void test_unknown_media_fails_at_once(void **state)
{
    (void)state;
    int64_t id = add_pending(t.channel, "m_gone", "image/jpeg");
    ic_media_notify(t.m, id);
    json_t *row = wait_settled(id);
    assert_string_equal(jstr(row, "state"), "failed");
    assert_int_equal(counted("m_gone", C_META), 1);
    assert_int_equal(counted("m_gone", C_FILE), 0);
    json_decref(row);
}

static void test_refused_token_fails(void **state)
{
    (void)state;
    pthread_mutex_lock(&srv.mu);
    int before = srv.bad_bearer;
    pthread_mutex_unlock(&srv.mu);
    int64_t id = add_pending(t.bad_channel, "m_ok", "image/jpeg");
    ic_media_notify(t.m, id);
    json_t *row = wait_settled(id);
    assert_string_equal(jstr(row, "state"), "failed");
    pthread_mutex_lock(&srv.mu);
    int after = srv.bad_bearer;
    pthread_mutex_unlock(&srv.mu);
    assert_int_equal(after - before, 1);
    json_decref(row);
}

static void test_server_error_is_retried(void **state)
{
    (void)state;
    int64_t id = add_pending(t.channel, "m_500", "image/jpeg");
    ic_media_notify(t.m, id);
    json_t *row = wait_settled(id);
    assert_stored(row, ok_bytes, sizeof ok_bytes - 1, "jpg");
    assert_int_equal(counted("m_500", C_META), 2);
    json_decref(row);
}

typedef struct up_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool called;
    ic_err result;
    char id[64];
} up_wait;

static void up_done(void *arg, ic_err result, const char *wa_media_id)
{
    up_wait *u = arg;
    pthread_mutex_lock(&u->mu);
    u->called = true;
    u->result = result;
    ic_strlcpy(u->id, wa_media_id ? wa_media_id : "", sizeof u->id);
    pthread_cond_signal(&u->cv);
    pthread_mutex_unlock(&u->mu);
}

static void wait_upload(up_wait *u)
{
    pthread_mutex_lock(&u->mu);
    while (!u->called)
        pthread_cond_wait(&u->cv, &u->mu);
    pthread_mutex_unlock(&u->mu);
}

static void test_upload_sends_the_file(void **state)
{
    (void)state;
    static const char png[] = "\x89PNG\r\n\x1a\n pretend pixels";
    char rel[128], full[1024], sha[65];
    snprintf(rel, sizeof rel, "%lld/up/x.png", (long long)t.ws);
    assert_int_equal(ic_media_path(t.m, rel, full, sizeof full), IC_OK);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%lld/up", t.media, (long long)t.ws);
    assert_int_equal(ic_media_mkdirs(dir, NULL), IC_OK);
    FILE *f = fopen(full, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(png, 1, sizeof png - 1, f), sizeof png - 1);
    fclose(f);
    ic_sha256_hex(png, sizeof png - 1, sha);
    tjob j = {.kind = J_STORED};
    j.row = (ic_media_row){.workspace_id = t.ws,
                           .channel_id = t.channel,
                           .mime_type = "image/png",
                           .sha256 = sha,
                           .path = rel,
                           .state = "stored",
                           .size = (int64_t)sizeof png - 1};
    int64_t id = run_job(&j);

    up_wait u = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    assert_int_equal(ic_media_upload(t.m, t.ws, t.channel, id, up_done, &u), IC_OK);
    wait_upload(&u);
    assert_int_equal(u.result, IC_OK);
    assert_string_equal(u.id, "777000111");

    pthread_mutex_lock(&srv.mu);
    assert_true(ic_str_starts(srv.up_ctype, "multipart/form-data"));
    char *body = ic_strndup(srv.up_body, srv.up_len);
    size_t len = srv.up_len;
    pthread_mutex_unlock(&srv.mu);
    assert_non_null(strstr(body, "name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"));
    assert_non_null(strstr(body, "name=\"type\"\r\n\r\nimage/png\r\n"));
    assert_non_null(strstr(body, "name=\"file\"; filename=\"x.png\"\r\nContent-Type: image/png"));
    assert_non_null(memmem(body, len, png, sizeof png - 1));
    ic_free(body);

    /* A row that does not exist is answered, not dropped. */
    up_wait u2 = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    assert_int_equal(ic_media_upload(t.m, t.ws, t.channel, id + 1000, up_done, &u2), IC_OK);
    wait_upload(&u2);
    assert_int_equal(u2.result, IC_ERR_NOT_FOUND);
    assert_string_equal(u2.id, "");
    assert_int_equal(counted("upload", C_UPLOAD), 1);
}

static void test_only_stored_files_are_left(void **state)
{
    (void)state;
    int parts = 0;
    /* m_ok, m_b64, m_expire, m_500 and the upload's own file. */
    assert_int_equal(count_files(t.media, &parts), 5);
    assert_int_equal(parts, 0);
}

/* Stopping while a download hangs: stop returns, the row stays pending for
 * the next start, and no partial file is left. */
static void test_stop_aborts_a_hanging_download(void **state)
{
    (void)state;
    ic_errmsg em = {{0}};
    ic_media_stop(t.m);
    t.m = NULL;
    int64_t id = add_pending(t.channel, "m_slow", "image/jpeg");
    ic_media *m = NULL;
    assert_int_equal(ic_media_start(t.db, t.w, t.media, "https://graph.invalid/v21.0", &m, &em),
                     IC_OK);
    int64_t deadline = ic_mono_us() + 120 * 1000000LL;
    while (counted("m_slow", C_FILE) == 0) {
        if (ic_mono_us() > deadline)
            fail_msg("the download of m_slow never started");
        ic_sleep_us(20000);
    }
    ic_media_stop(m);
    slow_released = 1;

    json_t *row = NULL;
    assert_int_equal(ic_store_media_get(ic_db_thread_conn(t.db), t.ws, id, &row), IC_OK);
    assert_string_equal(jstr(row, "state"), "pending");
    json_decref(row);
    int parts = 0;
    assert_int_equal(count_files(t.media, &parts), 5);
    assert_int_equal(parts, 0);
}

static void test_path_refuses_escapes(void **state)
{
    (void)state;
    char out[1024];
    const char *bad[] = {"",     "/etc/passwd", "..",   "../x",  "a/../b",
                         "a/..", "a\\b",        "a//b", "./a",   "a/./b",
                         "a/",   "a\nb",        ".",    "..\\x", "1/../../etc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ic_media_path(t.m, bad[i], out, sizeof out), IC_ERR_INVALID);
    assert_int_equal(ic_media_path(t.m, NULL, out, sizeof out), IC_ERR_INVALID);
    assert_int_equal(ic_media_path(t.m, "1/2026/01/ab.jpg", out, sizeof out), IC_OK);
    char want[1024];
    snprintf(want, sizeof want, "%s/1/2026/01/ab.jpg", t.media);
    assert_string_equal(out, want);
    /* Names that merely contain dots are fine. */
    assert_int_equal(ic_media_path(t.m, "1/..a/b..c/.x", out, sizeof out), IC_OK);
    assert_int_equal(ic_media_path(t.m, "1/2026/01/ab.jpg", out, 8), IC_ERR_TOO_BIG);
}

static void test_types_and_limits(void **state)
{
    (void)state;
    int64_t limit = 0;
    const char *ext = NULL;
    assert_int_equal(ic_media_mime_info("image/jpeg", &limit, &ext), IC_OK);
    assert_int_equal(limit, 5 * 1024 * 1024);
    assert_string_equal(ext, "jpg");
    assert_int_equal(ic_media_mime_info("image/webp", &limit, &ext), IC_OK);
    assert_int_equal(limit, 500 * 1024);
    assert_int_equal(ic_media_mime_info("audio/ogg; codecs=opus", &limit, &ext), IC_OK);
    assert_int_equal(limit, 16 * 1024 * 1024);
    assert_string_equal(ext, "ogg");
    assert_int_equal(ic_media_mime_info("Video/3GPP", &limit, &ext), IC_OK);
    assert_string_equal(ext, "3gp");
    assert_int_equal(ic_media_mime_info("application/zip", &limit, &ext), IC_OK);
    assert_int_equal(limit, 100 * 1024 * 1024);
    assert_string_equal(ext, "bin");
    const char *bad[] = {"", "image", "image/", "/png", "image/png/x", "image/p ng", "im\"age/png"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ic_media_mime_info(bad[i], &limit, &ext), IC_ERR_INVALID);

    char hex[65];
    unsigned char bin[32];
    char b64[64], want[65];
    memset(bin, 0xab, sizeof bin);
    ic_hex_encode(bin, sizeof bin, want);
    sodium_bin2base64(b64, sizeof b64, bin, sizeof bin, sodium_base64_VARIANT_ORIGINAL);
    assert_int_equal(ic_media_sha256_norm(b64, hex), IC_OK);
    assert_string_equal(hex, want);
    assert_int_equal(ic_media_sha256_norm("ABABABABABABABABABABABABABABABABABABABABABABABABABABABAB"
                                          "ABABABAB",
                                          hex),
                     IC_OK);
    assert_string_equal(hex, want);
    assert_int_equal(ic_media_sha256_norm("00", hex), IC_ERR_INVALID);
    assert_int_equal(ic_media_sha256_norm("not a hash at all, not a hash at all, not a h", hex),
                     IC_ERR_INVALID);
}

/* ---- setup ----------------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    ic_errmsg em = {{0}};
    const char *tmp = getenv("IC_TEST_TMP");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    mkdir(tmp, 0700);
    snprintf(t.dir, sizeof t.dir, "%s/media-XXXXXX", tmp);
    if (!mkdtemp(t.dir))
        return -1;
    snprintf(t.media, sizeof t.media, "%s/media", t.dir);
    if (ic_crypto_init() != IC_OK)
        return -1;
    stream_bytes = ic_malloc(BIG_STREAM);
    memset(stream_bytes, 'x', BIG_STREAM);

    srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                             NULL, NULL, handler, NULL, MHD_OPTION_NOTIFY_COMPLETED, request_done,
                             NULL, MHD_OPTION_END);
    if (!srv.d)
        return -1;
    srv.port = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT)->port;

    test_db_make(t.dir, "ic.db", db_url, sizeof db_url);
    if (ic_db_open(db_url, &t.db, &em) != IC_OK || ic_db_migrate(t.db, NULL, &em) != IC_OK ||
        ic_writer_start(t.db, 1024, &t.w, &em) != IC_OK) {
        fprintf(stderr, "store: %s\n", em.msg);
        return -1;
    }
    tjob ws = {.kind = J_WORKSPACE};
    ws.job.apply = tjob_apply;
    ws.job.arg = &ws;
    if (ic_writer_run(t.w, &ws.job) != IC_OK)
        return -1;
    t.ws = ws.id;
    t.channel = add_channel(PNID, TOKEN);
    t.bad_channel = add_channel("1234567891", "tok-wrong");
    early_row = add_pending(t.channel, "m_ok", "image/jpeg");

    /* The default Graph URL is never used: both channels carry their own. */
    if (ic_media_start(t.db, t.w, t.media, "https://graph.invalid/v21.0", &t.m, &em) != IC_OK) {
        fprintf(stderr, "media: %s\n", em.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    slow_released = 1;
    ic_media_stop(t.m);
    ic_writer_stop(t.w);
    ic_db_close(t.db);
    test_db_drop(db_url);
    if (srv.d)
        MHD_stop_daemon(srv.d);
    ic_free(stream_bytes);
    return 0;
}

static void test_start_refuses_bad_arguments(void **state)
{
    (void)state;
    ic_errmsg em = {{0}};
    ic_media *m = (ic_media *)&em;
    assert_int_equal(ic_media_start(NULL, t.w, t.media, "https://x", &m, &em), IC_ERR_INVALID);
    assert_null(m);
    assert_int_equal(ic_media_start(t.db, t.w, t.media, "ftp://x", &m, &em), IC_ERR_INVALID);
    assert_int_equal(ic_media_upload(NULL, 1, 1, 1, up_done, NULL), IC_ERR_INVALID);
    ic_media_notify(NULL, 1);
    ic_media_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_and_limits),
        cmocka_unit_test(test_path_refuses_escapes),
        cmocka_unit_test(test_start_refuses_bad_arguments),
        cmocka_unit_test(test_pending_at_start_is_fetched),
        cmocka_unit_test(test_notified_row_is_fetched_with_base64_hash),
        cmocka_unit_test(test_expired_url_is_fetched_again_once),
        cmocka_unit_test(test_oversize_is_too_big_without_download),
        cmocka_unit_test(test_download_past_the_limit_is_too_big),
        cmocka_unit_test(test_stream_past_the_limit_is_cut_off),
        cmocka_unit_test(test_sha256_mismatch_fails),
        cmocka_unit_test(test_unknown_media_fails_at_once),
        cmocka_unit_test(test_refused_token_fails),
        cmocka_unit_test(test_server_error_is_retried),
        cmocka_unit_test(test_upload_sends_the_file),
        cmocka_unit_test(test_only_stored_files_are_left),
        cmocka_unit_test(test_stop_aborts_a_hanging_download),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
