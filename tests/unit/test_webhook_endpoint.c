/* test_webhook_endpoint.c - /webhooks/whatsapp/{uuid} and the health routes
 * over real HTTP, with a real SQLite store and writer behind them. */
#include "api/routes.h"
#include "app.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "http/http.h"
#include "store/store.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_db.h"
#include "test_helpers.h"

#define SECRET "fb_app_secret"
#define VERIFY "verify-me"

typedef struct fx {
    char dir[512];
    char path[600];
    ic_config cfg;
    ic_app app;
    ic_http *http;
    int port;
    test_view raw;
    int64_t ws;
    int64_t ch;
    char uuid[40];
    char url[256];
} fx;

/* ---- client ------------------------------------------------------------------ */

typedef struct resp {
    long status;
    ic_buf body;
    ic_buf headers;
} resp;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    ic_buf_append(arg, p, size * n);
    return size * n;
}

static const char *resp_header(resp *r, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    const char *p = ic_buf_cstr(&r->headers);
    size_t nl = strlen(name);
    for (const char *eol; (eol = strstr(p, "\r\n")) != NULL; p = eol + 2) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, size, "%.*s", (int)(eol - v), v);
        }
    }
    return out;
}

static void sign(const void *body, size_t len, char *hdr, size_t size)
{
    char hex[65];
    ic_hmac_sha256_hex(SECRET, strlen(SECRET), body, len, hex);
    snprintf(hdr, size, "X-Hub-Signature-256: sha256=%s", hex);
}

static CURL *easy_post(const char *url, const char *body, size_t len, const char *sig_header,
                       struct curl_slist **hdrs, resp *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (sig_header)
        *hdrs = curl_slist_append(*hdrs, sig_header);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    return c;
}

/* POSTs body; signed with the channel's secret when sig is NULL, with the
 * given header line otherwise ("" for none). */
static void post(const char *url, const char *body, size_t len, const char *sig, resp *out)
{
    char hdr[128];
    if (!sig) {
        sign(body, len, hdr, sizeof hdr);
        sig = hdr;
    }
    struct curl_slist *hdrs = NULL;
    CURL *c = easy_post(url, body, len, *sig ? sig : NULL, &hdrs, out);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
}

static void get(fx *f, const char *path, resp *out)
{
    memset(out, 0, sizeof *out);
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", f->port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(c);
}

static void resp_free(resp *r)
{
    ic_buf_free(&r->body);
    ic_buf_free(&r->headers);
}

/* The value of key in the JSON answer, as an integer (-1 when absent). */
static long long json_int(resp *r, const char *key)
{
    json_t *j = json_loads(ic_buf_cstr(&r->body), 0, NULL);
    json_t *v = json_object_get(j, key);
    long long n = json_is_integer(v) ? json_integer_value(v) : -1;
    json_decref(j);
    return n;
}

static int64_t q_int(fx *f, const char *sql)
{
    return test_view_i64(&f->raw, sql);
}

/* ---- fixture ----------------------------------------------------------------- */

static fx *start(size_t writer_queue)
{
    fx *f = ic_calloc(1, sizeof *f);
    const char *tmp = getenv("IC_TEST_TMP");
    if (!tmp)
        tmp = "/tmp";
    mkdir(tmp, 0700);
    snprintf(f->dir, sizeof f->dir, "%s/webhook-XXXXXX", tmp);
    assert_non_null(mkdtemp(f->dir));
    test_db_make(f->dir, "ic.db", f->path, sizeof f->path);
    ic_errmsg em = {{0}};
    assert_int_equal(ic_db_open(f->path, &f->app.db, &em), IC_OK);
    assert_int_equal(ic_db_migrate(f->app.db, NULL, &em), IC_OK);

    ic_conn *c = ic_db_thread_conn(f->app.db);
    assert_int_equal(ic_conn_begin(c), IC_OK);
    assert_int_equal(ic_store_workspace_insert(c, "Helpline", &f->ws), IC_OK);
    ic_channel ch;
    memset(&ch, 0, sizeof ch);
    ch.workspace_id = f->ws;
    ch.name = "Main number";
    ch.phone_number_id = "1234567890";
    ch.waba_id = "8856996819413533";
    ch.display_phone = "+250 788 123 200";
    ch.access_token = "a123";
    ch.app_secret = SECRET;
    ch.verify_token = VERIFY;
    ch.throughput_mps = 80;
    assert_int_equal(ic_store_channel_insert(c, &ch), IC_OK);
    assert_int_equal(ic_conn_commit(c), IC_OK);
    f->ch = ch.id;
    snprintf(f->uuid, sizeof f->uuid, "%s", ch.uuid);
    assert_true(strlen(f->uuid) > 0);

    assert_int_equal(ic_writer_start(f->app.db, writer_queue, &f->app.writer, &em), IC_OK);
    f->cfg.max_body = 3u * 1024u * 1024u;
    f->cfg.writer_queue = writer_queue;
    f->app.cfg = &f->cfg;

    ic_http_config hc = {.listen_addr = "127.0.0.1", .port = 0, .threads = 2};
    assert_int_equal(ic_http_new(&hc, &f->http, &em), IC_OK);
    ic_api_webhook_routes(f->http, &f->app);
    ic_api_health_routes(f->http, &f->app);
    assert_int_equal(ic_http_start(f->http, &em), IC_OK);
    f->port = ic_http_port(f->http);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/webhooks/whatsapp/%s", f->port, f->uuid);
    test_view_open(&f->raw, f->path);
    return f;
}

static int setup(void **state)
{
    *state = start(1000);
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    test_view_close(&f->raw);
    ic_http_stop(f->http, 5000);
    ic_writer_stop(f->app.writer);
    ic_db_close(f->app.db);
    test_db_drop(f->path);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    ic_free(f);
    return 0;
}

#define WAC "conformance/courier-wac/"

/* ---- tests ------------------------------------------------------------------- */

static void test_verify(void **state)
{
    fx *f = *state;
    resp r;
    char path[512], v[64];
    snprintf(
        path, sizeof path,
        "/webhooks/whatsapp/%s?hub.mode=subscribe&hub.verify_token=%s&hub.challenge=1158201444",
        f->uuid, VERIFY);
    get(f, path, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(ic_buf_cstr(&r.body), "1158201444");
    assert_string_equal(resp_header(&r, "Content-Type", v, sizeof v), "text/plain");
    resp_free(&r);

    snprintf(path, sizeof path,
             "/webhooks/whatsapp/%s?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
             f->uuid);
    get(f, path, &r);
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(ic_buf_cstr(&r.body), "\"forbidden\""));
    assert_null(strstr(ic_buf_cstr(&r.body), VERIFY));
    resp_free(&r);

    snprintf(path, sizeof path, "/webhooks/whatsapp/%s", f->uuid);
    get(f, path, &r);
    assert_int_equal(r.status, 403);
    resp_free(&r);

    get(f,
        "/webhooks/whatsapp/00000000-0000-0000-0000-000000000000?hub.mode=subscribe"
        "&hub.verify_token=verify-me&hub.challenge=1",
        &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
}

static void test_post_stores_then_answers(void **state)
{
    fx *f = *state;
    ic_buf body = IC_BUF_INIT;
    test_read_shared(WAC "hello.json", &body);
    resp r;
    char v[64];
    post(f->url, body.data, body.len, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_header(&r, "Content-Type", v, sizeof v), "application/json");
    assert_int_equal(json_int(&r, "messages"), 1);
    assert_int_equal(json_int(&r, "duplicates"), 0);
    assert_int_equal(json_int(&r, "statuses"), 0);
    assert_int_equal(json_int(&r, "ignored"), 0);
    /* The answer came after the commit: the row is visible to another reader. */
    assert_int_equal(q_int(f, "SELECT count(*) FROM messages WHERE wa_id = 'external_id' AND "
                              "text = 'Hello World'"),
                     1);
    resp_free(&r);

    /* Meta delivers the same body again. */
    post(f->url, body.data, body.len, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_int(&r, "messages"), 0);
    assert_int_equal(json_int(&r, "duplicates"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM messages"), 1);
    resp_free(&r);
    ic_buf_free(&body);
}

static void test_bad_signature(void **state)
{
    fx *f = *state;
    ic_buf body = IC_BUF_INIT;
    test_read_shared(WAC "hello.json", &body);
    resp r;

    /* Signed with another secret. */
    char hex[65], hdr[128];
    ic_hmac_sha256_hex("another_secret", 14, body.data, body.len, hex);
    snprintf(hdr, sizeof hdr, "X-Hub-Signature-256: sha256=%s", hex);
    post(f->url, body.data, body.len, hdr, &r);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(ic_buf_cstr(&r.body), "\"bad_signature\""));
    resp_free(&r);

    /* No signature at all. */
    post(f->url, body.data, body.len, "", &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);

    /* Signed, then changed on the way. */
    sign(body.data, body.len, hdr, sizeof hdr);
    char *changed = ic_strndup(body.data, body.len);
    char *p = strstr(changed, "Hello World");
    p[0] = 'J';
    post(f->url, changed, body.len, hdr, &r);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    ic_free(changed);

    assert_int_equal(q_int(f, "SELECT count(*) FROM messages"), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM channel_errors"), 0);
    ic_buf_free(&body);
}

static void test_unknown_channel(void **state)
{
    fx *f = *state;
    ic_buf body = IC_BUF_INIT;
    test_read_shared(WAC "hello.json", &body);
    resp r;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/webhooks/whatsapp/not-a-channel", f->port);
    post(url, body.data, body.len, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(ic_buf_cstr(&r.body), "\"not_found\""));
    resp_free(&r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/webhooks/whatsapp/bad%%21chars", f->port);
    post(url, body.data, body.len, NULL, &r);
    assert_int_equal(r.status, 404);
    resp_free(&r);
    assert_int_equal(q_int(f, "SELECT count(*) FROM messages"), 0);
    ic_buf_free(&body);
}

static void test_body_bound(void **state)
{
    fx *f = *state;
    size_t max = 3u * 1024u * 1024u;
    char *big = ic_malloc(max + 1);
    memset(big, ' ', max + 1);
    big[0] = '{';
    big[max - 1] = '}';
    resp r;
    post(f->url, big, max + 1, NULL, &r);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    /* At the bound the body is read, checked and parsed (it is an empty object:
     * nothing to store). */
    post(f->url, big, max, NULL, &r);
    assert_true(r.status == 200 || r.status == 400);
    assert_int_not_equal(r.status, 413);
    resp_free(&r);
    ic_free(big);
    assert_int_equal(q_int(f, "SELECT count(*) FROM messages"), 0);
}

static void test_malformed(void **state)
{
    fx *f = *state;
    resp r;
    const char *bodies[] = {"not json", "", "[1,2,3]", "{\"object\":"};
    for (size_t i = 0; i < 4; i++) {
        post(f->url, bodies[i], strlen(bodies[i]), NULL, &r);
        if (r.status != 400)
            fail_msg("body %zu gave %ld", i, r.status);
        assert_non_null(strstr(ic_buf_cstr(&r.body), "\"error\""));
        resp_free(&r);
    }
    assert_int_equal(q_int(f, "SELECT count(*) FROM messages"), 0);
}

static void test_other_number_is_not_ours(void **state)
{
    fx *f = *state;
    ic_buf body = IC_BUF_INIT;
    /* Meta's example belongs to phone number id 106540352242922, not ours. */
    test_read_shared("whatsapp/examples/status-delivered.json", &body);
    resp r;
    post(f->url, body.data, body.len, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_int(&r, "statuses"), 0);
    assert_int_equal(json_int(&r, "ignored"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM message_statuses"), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM channel_errors WHERE code = 0"), 1);
    resp_free(&r);
    ic_buf_free(&body);
}

/* Many webhooks at once: each is answered after its own commit. */
#define NCONC 200

static void test_concurrent_posts(void **state)
{
    fx *f = *state;
    ic_buf tpl = IC_BUF_INIT;
    test_read_shared(WAC "hello.json", &tpl);
    const char *at = strstr(tpl.data, "external_id");
    assert_non_null(at);
    size_t pre = (size_t)(at - tpl.data);
    CURLM *m = curl_multi_init();
    CURL *easy[NCONC];
    resp rs[NCONC];
    char *bodies[NCONC];
    char sigs[NCONC][128];
    struct curl_slist *hdrs[NCONC];
    for (int i = 0; i < NCONC; i++) {
        ic_buf b = IC_BUF_INIT;
        ic_buf_append(&b, tpl.data, pre);
        ic_buf_printf(&b, "wamid.concurrent.%d", i);
        ic_buf_puts(&b, at + strlen("external_id"));
        size_t len = b.len;
        bodies[i] = ic_buf_steal(&b);
        sign(bodies[i], len, sigs[i], sizeof sigs[i]);
        easy[i] = easy_post(f->url, bodies[i], len, sigs[i], &hdrs[i], &rs[i]);
        curl_multi_add_handle(m, easy[i]);
    }
    int running = 1;
    while (running) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    for (int i = 0; i < NCONC; i++) {
        curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &rs[i].status);
        assert_int_equal(rs[i].status, 200);
        assert_int_equal(json_int(&rs[i], "messages"), 1);
        curl_multi_remove_handle(m, easy[i]);
        curl_easy_cleanup(easy[i]);
        curl_slist_free_all(hdrs[i]);
        resp_free(&rs[i]);
        ic_free(bodies[i]);
    }
    curl_multi_cleanup(m);
    ic_buf_free(&tpl);
    assert_int_equal(q_int(f, "SELECT count(*) FROM messages"), NCONC);
    assert_int_equal(q_int(f, "SELECT count(*) FROM contacts"), 1);
}

static void test_health(void **state)
{
    fx *f = *state;
    resp r;
    char v[64];
    get(f, "/healthz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(ic_buf_cstr(&r.body), "{\"status\":\"ok\"}");
    assert_string_equal(resp_header(&r, "Content-Type", v, sizeof v), "application/json");
    resp_free(&r);
    get(f, "/readyz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(ic_buf_cstr(&r.body), "{\"status\":\"ready\"}");
    resp_free(&r);
}

static ic_err noop_apply(ic_conn *tx, ic_write_job *job)
{
    return IC_OK;
}

static void test_writer_full(void **state)
{
    fx *f = start(1);
    test_gate g;
    test_gate_close(f->app.writer, &g);
    /* The writer is busy with the gate; one more job fills its queue. */
    ic_write_job filler = {.apply = noop_apply};
    assert_int_equal(ic_writer_submit(f->app.writer, &filler), IC_OK);

    ic_buf body = IC_BUF_INIT;
    test_read_shared(WAC "hello.json", &body);
    resp r;
    char v[64];
    post(f->url, body.data, body.len, NULL, &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(resp_header(&r, "Retry-After", v, sizeof v), "5");
    assert_non_null(strstr(ic_buf_cstr(&r.body), "\"busy\""));
    resp_free(&r);

    get(f, "/readyz", &r);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(ic_buf_cstr(&r.body), "\"not ready\""));
    resp_free(&r);

    test_gate_open(&g);

    /* Once the writer has caught up the same delivery is taken. */
    ic_write_job sync = {.apply = noop_apply};
    assert_int_equal(ic_writer_run(f->app.writer, &sync), IC_OK);
    post(f->url, body.data, body.len, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_int(&r, "messages"), 1);
    resp_free(&r);
    ic_buf_free(&body);
    assert_int_equal(q_int(f, "SELECT count(*) FROM messages"), 1);

    void *st = f;
    teardown(&st);
    pthread_cond_destroy(&g.cv);
    pthread_mutex_destroy(&g.mu);
}

int main(void)
{
    ic_crypto_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_stores_then_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_number_is_not_ours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_posts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health, setup, teardown),
        cmocka_unit_test(test_writer_full),
    };
    int fails = cmocka_run_group_tests_name("webhook_endpoint", tests, NULL, NULL);
    curl_global_cleanup();
    return fails;
}
