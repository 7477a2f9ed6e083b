/* api_fixture.h - the REST API test fixture shared by test_api.c and
 * test_api_media.c: a SQLite file in a temporary folder, the writer, ic_http
 * on a free port with the v1 routes, and a libcurl client. Two workspaces
 * (A and B), each with a token, a channel and people who have written in, so
 * that every endpoint is also tried across the tenant line. Include once per
 * test program; functions are static inline so that each program uses what
 * it needs. */
#ifndef IC_TEST_API_FIXTURE_H
#define IC_TEST_API_FIXTURE_H

#include "api/routes.h"
#include "app.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/time.h"
#include "http/http.h"
#include "store/sql.h"
#include "store/store.h"
#include "http_client.h"
#include "test_db.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define TOKEN_A "ic_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TOKEN_B "ic_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HOUR_US ((int64_t)3600 * 1000000)
#define EXTRA_CONTACTS 7

static struct {
    char dir[512];
    char dburl[700]; /* a file in dir, or a PostgreSQL database (test_db.h) */
    char media[600];
    ic_config cfg;
    ic_app app;
    ic_db *db;
    ic_writer *w;
    ic_http *h;
    int port;
    int64_t ws_a, ws_b, ch_a, ch_b;
    int64_t alice, bob, carol; /* alice, bob in A; carol in B */
    int64_t conv_alice, conv_bob, conv_carol;
    int64_t msg_carol; /* an inbound message in B */
    int64_t media_b, media_evil, media_abs, media_pending;
} F;

/* ---- seeding through the writer -------------------------------------------- */

typedef ic_err (*seed_fn)(ic_conn *c, void *arg);
typedef struct seed_job {
    ic_write_job job;
    seed_fn fn;
    void *arg;
} seed_job;

static inline ic_err seed_apply(ic_conn *c, ic_write_job *job)
{
    seed_job *s = job->arg;
    return s->fn(c, s->arg);
}

static inline void seed(seed_fn fn, void *arg)
{
    seed_job s = {.fn = fn, .arg = arg};
    s.job.apply = seed_apply;
    s.job.arg = &s;
    assert_int_equal(ic_writer_run(F.w, &s.job), IC_OK);
}

/* A person writes in at Meta's time wa_us. */
static inline ic_err inbound(ic_conn *c, int64_t ws, int64_t ch, const char *from,
                             const char *wamid, int64_t wa_us, int64_t *contact, int64_t *conv,
                             int64_t *msg)
{
    ic_err e = ic_store_contact_upsert(c, ws, from, "Someone", contact);
    if (e == IC_OK)
        e = ic_store_conversation_touch_inbound(c, ws, ch, *contact, wa_us, conv);
    if (e != IC_OK)
        return e;
    ic_message m = {.workspace_id = ws,
                    .channel_id = ch,
                    .contact_id = *contact,
                    .conversation_id = *conv,
                    .direction = IC_DIR_IN,
                    .wa_id = wamid,
                    .type = "text",
                    .text = "hello",
                    .content_json = "{\"kind\":\"message\",\"type\":\"text\"}",
                    .status = "received",
                    .wa_us = wa_us};
    bool dup = false;
    e = ic_store_message_insert_inbound(c, &m, &dup);
    if (msg)
        *msg = m.id;
    return e;
}

static inline ic_err add_channel(ic_conn *c, int64_t ws, const char *pnid, int64_t *id)
{
    ic_channel ch = {.workspace_id = ws,
                     .name = "Helpline",
                     .phone_number_id = (char *)pnid,
                     .access_token = "EAAtoken",
                     .app_secret = "appsecret",
                     .verify_token = "verify",
                     .throughput_mps = 80};
    ic_err e = ic_store_channel_insert(c, &ch);
    *id = ch.id;
    return e;
}

static inline ic_err add_media(ic_conn *c, int64_t ws, int64_t ch, const char *wa_id,
                               const char *state, const char *path, const char *mime, int64_t *id)
{
    ic_media_row m = {.workspace_id = ws,
                      .channel_id = ch,
                      .wa_media_id = wa_id,
                      .mime_type = mime,
                      .state = "pending"};
    ic_err e = ic_store_media_upsert(c, &m);
    if (e == IC_OK && path)
        e = ic_store_media_update(c, ws, m.id, state, path, 5, NULL, mime);
    *id = m.id;
    return e;
}

static inline ic_err seed_base(ic_conn *c, void *arg)
{
    (void)arg;
    char sha[65];
    int64_t tid = 0, now = ic_now_us(), unused = 0;
    ic_err e;
    if ((e = ic_store_workspace_insert(c, "A", &F.ws_a)) ||
        (e = ic_store_workspace_insert(c, "B", &F.ws_b)))
        return e;
    ic_sha256_hex(TOKEN_A, strlen(TOKEN_A), sha);
    if ((e = ic_store_token_insert(c, F.ws_a, "test", sha, &tid)))
        return e;
    ic_sha256_hex(TOKEN_B, strlen(TOKEN_B), sha);
    if ((e = ic_store_token_insert(c, F.ws_b, "test", sha, &tid)))
        return e;
    if ((e = add_channel(c, F.ws_a, "1001", &F.ch_a)) ||
        (e = add_channel(c, F.ws_b, "2002", &F.ch_b)))
        return e;
    if ((e = inbound(c, F.ws_a, F.ch_a, "27820000001", "wamid.alice1", now - HOUR_US, &F.alice,
                     &F.conv_alice, NULL)) ||
        (e = inbound(c, F.ws_a, F.ch_a, "27820000002", "wamid.bob1", now - 48 * HOUR_US, &F.bob,
                     &F.conv_bob, NULL)) ||
        (e = inbound(c, F.ws_b, F.ch_b, "27820000003", "wamid.carol1", now - HOUR_US, &F.carol,
                     &F.conv_carol, &F.msg_carol)))
        return e;
    for (int i = 0; i < EXTRA_CONTACTS; i++) {
        char wa[32];
        snprintf(wa, sizeof wa, "2783000000%d", i);
        if ((e = ic_store_contact_upsert(c, F.ws_a, wa, "Extra", &unused)))
            return e;
    }
    if ((e = add_media(c, F.ws_b, F.ch_b, "m-b", "stored", "2/x.jpg", "image/jpeg", &F.media_b)) ||
        (e = add_media(c, F.ws_a, F.ch_a, "m-evil", "stored", "1/evil.txt", "text/plain",
                       &F.media_evil)) ||
        (e = add_media(c, F.ws_a, F.ch_a, "m-abs", "stored", "1/abs.txt", "text/plain",
                       &F.media_abs)) ||
        (e = add_media(c, F.ws_a, F.ch_a, "m-pend", "pending", NULL, "image/jpeg",
                       &F.media_pending)))
        return e;
    return IC_OK;
}

static inline void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

typedef void (*api_routes_fn)(ic_http *h, ic_app *app);

/* Starts a server for F.app on a free port of 127.0.0.1 with routes and,
 * when not NULL, more (ic_http takes routes only before it starts); *h and
 * *port get it. Stop it with ic_http_stop. */
static inline void api_server_start(api_routes_fn routes, api_routes_fn more, ic_http **h,
                                    int *port)
{
    ic_errmsg em = {{0}};
    ic_http_config hc = {
        .listen_addr = "127.0.0.1", .port = 0, .threads = 2, .default_max_body = 64 * 1024};
    assert_int_equal(ic_http_new(&hc, h, &em), IC_OK);
    routes(*h, &F.app);
    if (more)
        more(*h, &F.app);
    assert_int_equal(ic_http_start(*h, &em), IC_OK);
    *port = ic_http_port(*h);
}

static inline int setup(void **state)
{
    (void)state;
    F.db = test_db_fresh("api", F.dir, sizeof F.dir, F.dburl, sizeof F.dburl);
    snprintf(F.media, sizeof F.media, "%s/media", F.dir);
    assert_int_equal(ic_crypto_init(), IC_OK);
    curl_global_init(CURL_GLOBAL_ALL);

    ic_errmsg em = {{0}};
    assert_int_equal(ic_writer_start(F.db, 1024, &F.w, &em), IC_OK);
    seed(seed_base, NULL);
    /* The store refuses unsafe paths itself; a row from a tampered or older
     * database is simulated by writing the paths behind its back. */
    char sql[300];
    snprintf(sql, sizeof sql,
             "UPDATE media SET path = '../secret' WHERE id = %lld;"
             "UPDATE media SET path = '/etc/passwd' WHERE id = %lld;",
             (long long)F.media_evil, (long long)F.media_abs);
    assert_int_equal(ic_sql_exec(ic_db_thread_conn(F.db), sql), IC_OK);

    /* Files: a stored one in B, and a secret next to the media folder that
     * the "../secret" row would reach. */
    char path[800];
    mkdir(F.media, 0700);
    snprintf(path, sizeof path, "%s/2", F.media);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/2/x.jpg", F.media);
    write_file(path, "jpeg!", 5);
    snprintf(path, sizeof path, "%s/secret", F.dir);
    write_file(path, "SECRET", 6);

    F.cfg = (ic_config){.listen_addr = "127.0.0.1",
                        .public_url = "https://chat.example.org/",
                        .media_dir = F.media,
                        .max_api_body = 64 * 1024};
    F.app = (ic_app){.cfg = &F.cfg, .db = F.db, .writer = F.w};
    api_server_start(ic_api_v1_routes, NULL, &F.h, &F.port);
    return 0;
}

static inline int teardown(void **state)
{
    (void)state;
    ic_http_stop(F.h, 1000);
    ic_writer_stop(F.w);
    curl_global_cleanup();
    return test_db_dispose(F.db, F.dburl, F.dir);
}

/* ---- the client (http_client.h) -------------------------------------------------- */

/* A call to the fixture's server with a whole Authorization header value
 * (token; none when NULL), a Content-Type (none when NULL) and a body of len
 * bytes (none when NULL). */
static inline resp call_raw(const char *method, const char *path, const char *token,
                            const char *ctype, const char *body, size_t len)
{
    http_auth a = {.authorization = token};
    return http_call(F.port, method, path, &a, ctype, body, len);
}

/* A call as the signed-in user of session cookie cookie with CSRF token csrf
 * (each left out when NULL or ""), with a JSON body (none when NULL). */
static inline resp call_session(const char *method, const char *path, const char *cookie,
                                const char *csrf, const char *json)
{
    http_auth a = {.cookie = cookie, .csrf = csrf};
    return http_json(F.port, method, path, &a, json);
}

/* A call with token "A", "B", NULL (no header) or a whole header value. */
static inline resp call(const char *method, const char *path, const char *who, const char *json)
{
    const char *token = NULL;
    if (who && strcmp(who, "A") == 0)
        token = "Bearer " TOKEN_A;
    else if (who && strcmp(who, "B") == 0)
        token = "Bearer " TOKEN_B;
    else
        token = who;
    return call_raw(method, path, token, json ? "application/json" : NULL, json,
                    json ? strlen(json) : 0);
}

static inline const char *err_code(const resp *r)
{
    return json_string_value(json_object_get(json_object_get(r->json, "error"), "code"));
}

static inline const char *err_msg(const resp *r)
{
    return json_string_value(json_object_get(json_object_get(r->json, "error"), "message"));
}

/* Asserts status and error code, then frees r. */
static inline void expect_error(resp r, long status, const char *code)
{
    if (r.status != status)
        print_error("status %ld, body %s\n", r.status, ic_buf_cstr(&r.body));
    assert_int_equal(r.status, status);
    assert_non_null(err_code(&r));
    assert_string_equal(err_code(&r), code);
    resp_free(&r);
}

/* True when s is not NULL and holds sub. */
static inline bool contains(const char *s, const char *sub)
{
    return s && strstr(s, sub);
}

static inline int64_t jint(const json_t *o, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(o, k));
}

static inline const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static inline int64_t count_out(int64_t ws)
{
    int64_t n = -1;
    assert_int_equal(ic_store_count_messages(ic_db_thread_conn(F.db), ws, IC_DIR_OUT, &n), IC_OK);
    return n;
}

static inline char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *pathf(const char *fmt, ...)
{
    static char buf[4][256];
    static int i;
    char *p = buf[i++ % 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, 256, fmt, ap);
    va_end(ap);
    return p;
}

#endif
