/* test_http.c - the HTTP layer over real sockets, driven by libcurl. */
#include "base/alloc.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/str.h"
#include "base/time.h"
#include "http/http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* ---- a small client -------------------------------------------------------- */

typedef struct resp {
    long status;
    ic_buf body;
    ic_buf headers;
    long connects;
} resp;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    ic_buf_append(arg, p, size * n);
    return size * n;
}

static void resp_free(resp *r)
{
    ic_buf_free(&r->body);
    ic_buf_free(&r->headers);
}

/* The value of response header name (case-insensitive), or "" when absent. */
static const char *resp_header(resp *r, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    const char *p = ic_buf_cstr(&r->headers);
    size_t nl = strlen(name);
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t n = (size_t)(eol - v);
            if (n >= size)
                n = size - 1;
            memcpy(out, v, n);
            out[n] = '\0';
        }
        p = eol + 2;
    }
    return out;
}

static CURL *easy_for(int port, const char *method, const char *path, const char *body, size_t len,
                      struct curl_slist *hdrs, resp *out)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (hdrs)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    return c;
}

static void finish_easy(CURL *c, resp *out)
{
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &out->connects);
}

/* One request on handle c (reused for keep-alive when non-NULL). */
static void request_on(CURL *reuse, int port, const char *method, const char *path,
                       const char *body, size_t len, struct curl_slist *hdrs, resp *out)
{
    memset(out, 0, sizeof *out);
    CURL *c = easy_for(port, method, path, body, len, hdrs, out);
    if (reuse) {
        /* Same options on the reused handle, so the connection cache applies. */
        curl_easy_cleanup(c);
        c = reuse;
        char url[512];
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
    }
    CURLcode rc = curl_easy_perform(c);
    assert_int_equal(rc, CURLE_OK);
    finish_easy(c, out);
    if (!reuse)
        curl_easy_cleanup(c);
}

static void request(int port, const char *method, const char *path, const char *body, size_t len,
                    resp *out)
{
    request_on(NULL, port, method, path, body, len, NULL, out);
}

/* ---- handlers -------------------------------------------------------------- */

static void h_hello(ic_req *r, void *arg)
{
    ic_req_respond(r, 200, "text/plain", "hello", 5);
}

static void h_item(ic_req *r, void *arg)
{
    ic_req_respond_json(r, 200, json_pack("{s:s}", "id", ic_req_param(r, "id")));
}

static void h_two(ic_req *r, void *arg)
{
    char out[256];
    snprintf(out, sizeof out, "%s|%s|%s", ic_req_param(r, "x"), ic_req_param(r, "y"),
             ic_req_param(r, "nope") ? "bad" : "none");
    ic_req_respond(r, 200, "text/plain", out, strlen(out));
}

static void h_echo(ic_req *r, void *arg)
{
    size_t len;
    const char *b = ic_req_body(r, &len);
    ic_req_respond(r, 200, "application/octet-stream", b, len);
}

static void h_query(ic_req *r, void *arg)
{
    const char *q = ic_req_query(r, "q");
    const char *x = ic_req_header(r, "x-test");
    char out[256];
    snprintf(out, sizeof out, "q=%s x=%s path=%s method=%s", q ? q : "(null)", x ? x : "(null)",
             ic_req_path(r), ic_req_method(r));
    ic_req_respond(r, 200, "text/plain", out, strlen(out));
}

static void h_error(ic_req *r, void *arg)
{
    ic_req_add_header(r, "Retry-After", "5");
    ic_req_error(r, 422, "limit", "too many %s", "widgets");
}

static void h_noanswer(ic_req *r, void *arg) {}

static void h_file(ic_req *r, void *arg)
{
    ic_req_respond_file(r, 200, "text/plain", arg);
}

/* Deferred answers: a worker thread answers what handlers queue. */
typedef struct work {
    ic_req *r;
    char *body;
    struct work *next;
} work;

static pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcv = PTHREAD_COND_INITIALIZER;
static work *whead;
static bool wstop;

static void *worker(void *arg)
{
    pthread_mutex_lock(&wmu);
    for (;;) {
        while (!whead && !wstop)
            pthread_cond_wait(&wcv, &wmu);
        if (!whead && wstop)
            break;
        work *w = whead;
        whead = w->next;
        pthread_mutex_unlock(&wmu);
        ic_req_add_header(w->r, "X-Answered-By", "worker");
        ic_req_respond(w->r, 200, "text/plain", w->body, strlen(w->body));
        ic_free(w->body);
        ic_free(w);
        pthread_mutex_lock(&wmu);
    }
    pthread_mutex_unlock(&wmu);
    return NULL;
}

static void h_defer(ic_req *r, void *arg)
{
    size_t len;
    const char *b = ic_req_body(r, &len);
    work *w = ic_calloc(1, sizeof *w);
    w->r = r;
    w->body = ic_strndup(b, len);
    ic_req_defer(r);
    pthread_mutex_lock(&wmu);
    w->next = whead;
    whead = w;
    pthread_cond_signal(&wcv);
    pthread_mutex_unlock(&wmu);
}

static void *answer_thread(void *arg)
{
    ic_req_respond(arg, 201, "text/plain", "early", 5);
    return NULL;
}

/* The answer comes from another thread before the handler returns. */
static void h_race(ic_req *r, void *arg)
{
    ic_req_defer(r);
    pthread_t t;
    pthread_create(&t, NULL, answer_thread, r);
    pthread_join(t, NULL);
}

/* Parks the request for the test to answer (or not). */
static pthread_mutex_t pmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pcv = PTHREAD_COND_INITIALIZER;
static ic_req *parked;

static void h_park(ic_req *r, void *arg)
{
    ic_req_defer(r);
    pthread_mutex_lock(&pmu);
    parked = r;
    pthread_cond_broadcast(&pcv);
    pthread_mutex_unlock(&pmu);
}

static ic_req *wait_parked(void)
{
    pthread_mutex_lock(&pmu);
    while (!parked)
        pthread_cond_wait(&pcv, &pmu);
    ic_req *r = parked;
    parked = NULL;
    pthread_mutex_unlock(&pmu);
    return r;
}

/* ---- fixture --------------------------------------------------------------- */

typedef struct fx {
    ic_http *h;
    int port;
    pthread_t worker;
    char file[512];
} fx;

static ic_http *server(int threads)
{
    ic_http_config cfg = {
        .listen_addr = "127.0.0.1", .port = 0, .threads = threads, .default_max_body = 4096};
    ic_http *h = NULL;
    ic_errmsg em;
    assert_int_equal(ic_http_new(&cfg, &h, &em), IC_OK);
    return h;
}

static int setup(void **state)
{
    fx *f = ic_calloc(1, sizeof *f);
    const char *tmp = getenv("IC_TEST_TMP");
    snprintf(f->file, sizeof f->file, "%s/http-file-XXXXXX", tmp ? tmp : "/tmp");
    if (tmp) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", tmp);
        assert_int_equal(system(cmd), 0);
    }
    int fd = mkstemp(f->file);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "file contents\n", 14), 14);
    close(fd);

    f->h = server(2);
    ic_http_route(f->h, "GET", "/hello", 0, h_hello, NULL);
    ic_http_route(f->h, "GET", "/items/{id}", 0, h_item, NULL);
    ic_http_route(f->h, "DELETE", "/items/{id}", 0, h_item, NULL);
    ic_http_route(f->h, "GET", "/a/{x}/b/{y}", 0, h_two, NULL);
    ic_http_route(f->h, "POST", "/echo", 1024, h_echo, NULL);
    ic_http_route(f->h, "GET", "/query", 0, h_query, NULL);
    ic_http_route(f->h, "GET", "/error", 0, h_error, NULL);
    ic_http_route(f->h, "GET", "/noanswer", 0, h_noanswer, NULL);
    ic_http_route(f->h, "GET", "/file", 0, h_file, f->file);
    ic_http_route(f->h, "POST", "/defer", 0, h_defer, NULL);
    ic_http_route(f->h, "GET", "/race", 0, h_race, NULL);
    ic_http_route(f->h, "GET", "/park", 0, h_park, NULL);
    ic_errmsg em;
    assert_int_equal(ic_http_start(f->h, &em), IC_OK);
    f->port = ic_http_port(f->h);
    assert_true(f->port > 0);
    wstop = false;
    pthread_create(&f->worker, NULL, worker, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ic_http_stop(f->h, 1000);
    pthread_mutex_lock(&wmu);
    wstop = true;
    pthread_cond_broadcast(&wcv);
    pthread_mutex_unlock(&wmu);
    pthread_join(f->worker, NULL);
    unlink(f->file);
    ic_free(f);
    return 0;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_routes_and_headers(void **state)
{
    fx *f = *state;
    resp r;
    char v[128];

    request(f->port, "GET", "/hello", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(ic_buf_cstr(&r.body), "hello");
    assert_string_equal(resp_header(&r, "Content-Type", v, sizeof v), "text/plain");
    assert_string_equal(resp_header(&r, "X-Content-Type-Options", v, sizeof v), "nosniff");
    assert_string_equal(resp_header(&r, "Cache-Control", v, sizeof v), "no-store");
    resp_header(&r, "X-Request-Id", v, sizeof v);
    assert_int_equal(strlen(v), 10);
    assert_true(ic_str_starts(v, "r-"));
    assert_int_equal(strspn(v + 2, "0123456789abcdef"), 8);
    char first[16];
    ic_strlcpy(first, v, sizeof first);
    resp_free(&r);

    /* Each request gets its own id. */
    request(f->port, "GET", "/hello", NULL, 0, &r);
    assert_string_not_equal(resp_header(&r, "X-Request-Id", v, sizeof v), first);
    resp_free(&r);

    request(f->port, "GET", "/items/42", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(ic_buf_cstr(&r.body), "{\"id\":\"42\"}");
    assert_string_equal(resp_header(&r, "Content-Type", v, sizeof v), "application/json");
    resp_free(&r);

    request(f->port, "DELETE", "/items/7", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);

    request(f->port, "GET", "/a/one/b/two", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(ic_buf_cstr(&r.body), "one|two|none");
    resp_free(&r);

    /* HEAD is answered like GET, without a body. */
    request(f->port, "HEAD", "/hello", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    resp_free(&r);
}

static void test_captures_rejected(void **state)
{
    fx *f = *state;
    resp r;
    const char *bad[] = {"/items/", "/items",  "/items/a/b", "/items/a%2Fb",
                         "/a//b/x", "/hello/", "/HELLO",     "/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        request(f->port, "GET", bad[i], NULL, 0, &r);
        if (r.status != 404)
            fail_msg("%s gave %ld", bad[i], r.status);
        resp_free(&r);
    }
    /* Percent-encoded text in a capture arrives decoded once by libmicrohttpd. */
    request(f->port, "GET", "/items/a%20b", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(ic_buf_cstr(&r.body), "{\"id\":\"a b\"}");
    resp_free(&r);
}

static void test_query_and_request_headers(void **state)
{
    fx *f = *state;
    resp r;
    struct curl_slist *hdrs = curl_slist_append(NULL, "X-Test: yes please");
    request_on(NULL, f->port, "GET", "/query?q=hello%20world&z=1", NULL, 0, hdrs, &r);
    curl_slist_free_all(hdrs);
    assert_int_equal(r.status, 200);
    assert_string_equal(ic_buf_cstr(&r.body), "q=hello world x=yes please path=/query method=GET");
    resp_free(&r);

    request(f->port, "GET", "/query", NULL, 0, &r);
    assert_string_equal(ic_buf_cstr(&r.body), "q=(null) x=(null) path=/query method=GET");
    resp_free(&r);
}

static void test_not_found_and_method(void **state)
{
    fx *f = *state;
    resp r;
    char v[128];

    request(f->port, "GET", "/nothing/here", NULL, 0, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(resp_header(&r, "Content-Type", v, sizeof v), "application/json");
    json_t *j = json_loads(ic_buf_cstr(&r.body), 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                        "not_found");
    json_decref(j);
    assert_string_equal(resp_header(&r, "X-Content-Type-Options", v, sizeof v), "nosniff");
    resp_free(&r);

    request(f->port, "POST", "/hello", "x", 1, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(resp_header(&r, "Allow", v, sizeof v), "GET, HEAD");
    assert_non_null(strstr(ic_buf_cstr(&r.body), "\"method_not_allowed\""));
    resp_free(&r);

    request(f->port, "PUT", "/items/9", NULL, 0, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(resp_header(&r, "Allow", v, sizeof v), "GET, HEAD, DELETE");
    resp_free(&r);
}

static void test_error_and_extra_header(void **state)
{
    fx *f = *state;
    resp r;
    char v[128];
    request(f->port, "GET", "/error", NULL, 0, &r);
    assert_int_equal(r.status, 422);
    assert_string_equal(ic_buf_cstr(&r.body),
                        "{\"error\":{\"code\":\"limit\",\"message\":\"too many widgets\"}}");
    assert_string_equal(resp_header(&r, "Retry-After", v, sizeof v), "5");
    resp_free(&r);

    request(f->port, "GET", "/noanswer", NULL, 0, &r);
    assert_int_equal(r.status, 500);
    resp_free(&r);

    request(f->port, "GET", "/file", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(ic_buf_cstr(&r.body), "file contents\n");
    resp_free(&r);
}

static void test_body_bounds(void **state)
{
    fx *f = *state;
    resp r;
    char big[2048];
    memset(big, 'a', sizeof big);

    /* Exactly at the bound is fine, and the body arrives intact. */
    request(f->port, "POST", "/echo", big, 1024, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 1024);
    assert_memory_equal(r.body.data, big, 1024);
    resp_free(&r);

    /* One over, announced by Content-Length: 413 before the body is read. */
    request(f->port, "POST", "/echo", big, 1025, &r);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(ic_buf_cstr(&r.body), "\"too_large\""));
    resp_free(&r);

    /* Unknown paths are bounded by the default (4096 here). */
    char *huge = ic_calloc(1, 8000);
    memset(huge, 'b', 7999);
    request(f->port, "POST", "/nothing", huge, 7999, &r);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    ic_free(huge);
}

/* A chunked upload has no Content-Length: it is stopped at the bound. */
typedef struct chunker {
    size_t left;
} chunker;

static size_t read_chunks(char *buf, size_t size, size_t n, void *arg)
{
    chunker *c = arg;
    size_t k = size * n < 100 ? size * n : 100;
    if (k > c->left)
        k = c->left;
    memset(buf, 'c', k);
    c->left -= k;
    return k;
}

static void chunked_post(int port, size_t total, resp *r)
{
    memset(r, 0, sizeof *r);
    chunker ck = {total};
    CURL *c = easy_for(port, "POST", "/echo", NULL, 0, NULL, r);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Transfer-Encoding: chunked");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_chunks);
    curl_easy_setopt(c, CURLOPT_READDATA, &ck);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    finish_easy(c, r);
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
}

static void test_chunked_bounds(void **state)
{
    fx *f = *state;
    resp r;
    chunked_post(f->port, 1000, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 1000);
    resp_free(&r);

    chunked_post(f->port, 5000, &r);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(ic_buf_cstr(&r.body), "\"too_large\""));
    resp_free(&r);
}

static void test_keep_alive(void **state)
{
    fx *f = *state;
    resp r;
    CURL *c = easy_for(f->port, "GET", "/hello", NULL, 0, NULL, &r);
    memset(&r, 0, sizeof r);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    finish_easy(c, &r);
    assert_int_equal(r.connects, 1);
    resp_free(&r);
    /* Later requests, deferred ones too, reuse the same connection. */
    const char *paths[] = {"/items/1", "/race", "/hello", "/query?q=1"};
    for (size_t i = 0; i < 4; i++) {
        request_on(c, f->port, "GET", paths[i], NULL, 0, NULL, &r);
        assert_true(r.status == 200 || r.status == 201);
        assert_int_equal(r.connects, 0);
        resp_free(&r);
    }
    curl_easy_cleanup(c);
}

static void test_answer_before_return(void **state)
{
    fx *f = *state;
    resp r;
    for (int i = 0; i < 20; i++) {
        request(f->port, "GET", "/race", NULL, 0, &r);
        assert_int_equal(r.status, 201);
        assert_string_equal(ic_buf_cstr(&r.body), "early");
        resp_free(&r);
    }
}

#define NCONC 300

static void test_deferred_concurrent(void **state)
{
    fx *f = *state;
    CURLM *m = curl_multi_init();
    CURL *easy[NCONC];
    resp rs[NCONC];
    char bodies[NCONC][32];
    for (int i = 0; i < NCONC; i++) {
        memset(&rs[i], 0, sizeof rs[i]);
        snprintf(bodies[i], sizeof bodies[i], "request-%d", i);
        easy[i] = easy_for(f->port, "POST", "/defer", bodies[i], strlen(bodies[i]), NULL, &rs[i]);
        curl_multi_add_handle(m, easy[i]);
    }
    int running = 1;
    while (running) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    char v[64];
    for (int i = 0; i < NCONC; i++) {
        finish_easy(easy[i], &rs[i]);
        assert_int_equal(rs[i].status, 200);
        assert_string_equal(ic_buf_cstr(&rs[i].body), bodies[i]);
        assert_string_equal(resp_header(&rs[i], "X-Answered-By", v, sizeof v), "worker");
        curl_multi_remove_handle(m, easy[i]);
        curl_easy_cleanup(easy[i]);
        resp_free(&rs[i]);
    }
    curl_multi_cleanup(m);
}

static void test_status_for(void **state)
{
    assert_int_equal(ic_http_status_for(IC_OK), 200);
    assert_int_equal(ic_http_status_for(IC_ERR_INVALID), 400);
    assert_int_equal(ic_http_status_for(IC_ERR_PARSE), 400);
    assert_int_equal(ic_http_status_for(IC_ERR_AUTH), 401);
    assert_int_equal(ic_http_status_for(IC_ERR_FORBIDDEN), 403);
    assert_int_equal(ic_http_status_for(IC_ERR_NOT_FOUND), 404);
    assert_int_equal(ic_http_status_for(IC_ERR_EXISTS), 409);
    assert_int_equal(ic_http_status_for(IC_ERR_TOO_BIG), 413);
    assert_int_equal(ic_http_status_for(IC_ERR_LIMIT), 422);
    assert_int_equal(ic_http_status_for(IC_ERR_WINDOW_CLOSED), 422);
    assert_int_equal(ic_http_status_for(IC_ERR_BUSY), 503);
    assert_int_equal(ic_http_status_for(IC_ERR_INTERNAL), 500);
}

static void test_port_taken(void **state)
{
    fx *f = *state;
    ic_http_config cfg = {.listen_addr = "127.0.0.1", .port = f->port};
    ic_http *h = NULL;
    ic_errmsg em = {{0}};
    assert_int_equal(ic_http_new(&cfg, &h, &em), IC_OK);
    assert_int_equal(ic_http_start(h, &em), IC_ERR_IO);
    assert_non_null(strstr(em.msg, "cannot listen"));
    ic_http_stop(h, 0);

    cfg.listen_addr = "not-an-address";
    cfg.port = 0;
    assert_int_equal(ic_http_new(&cfg, &h, &em), IC_OK);
    assert_int_equal(ic_http_start(h, &em), IC_ERR_INVALID);
    ic_http_stop(h, 0);
}

/* A client in its own thread, for the shutdown tests. */
typedef struct bg {
    int port;
    const char *path;
    resp r;
    CURLcode rc;
    pthread_t t;
} bg;

/* No cmocka assertions off the main thread: the result is checked there. */
static void *bg_run(void *arg)
{
    bg *b = arg;
    memset(&b->r, 0, sizeof b->r);
    CURL *c = easy_for(b->port, "GET", b->path, NULL, 0, NULL, &b->r);
    b->rc = curl_easy_perform(c);
    finish_easy(c, &b->r);
    curl_easy_cleanup(c);
    return NULL;
}

static void *late_answer(void *arg)
{
    ic_sleep_us(20000);
    ic_req_respond(arg, 200, "text/plain", "in time", 7);
    return NULL;
}

static void test_stop_waits_for_answer(void **state)
{
    ic_http *h = server(2);
    ic_http_route(h, "GET", "/park", 0, h_park, NULL);
    ic_errmsg em;
    assert_int_equal(ic_http_start(h, &em), IC_OK);
    bg b = {.port = ic_http_port(h), .path = "/park"};
    pthread_create(&b.t, NULL, bg_run, &b);
    ic_req *r = wait_parked();
    /* The answer comes while stop is waiting within its grace. */
    pthread_t t;
    pthread_create(&t, NULL, late_answer, r);
    ic_http_stop(h, 60000);
    pthread_join(t, NULL);
    pthread_join(b.t, NULL);
    assert_int_equal(b.rc, CURLE_OK);
    assert_int_equal(b.r.status, 200);
    assert_string_equal(ic_buf_cstr(&b.r.body), "in time");
    resp_free(&b.r);
}

static void test_stop_answers_503(void **state)
{
    ic_http *h = server(2);
    ic_http_route(h, "GET", "/park", 0, h_park, NULL);
    ic_errmsg em;
    assert_int_equal(ic_http_start(h, &em), IC_OK);
    bg b = {.port = ic_http_port(h), .path = "/park"};
    pthread_create(&b.t, NULL, bg_run, &b);
    ic_req *r = wait_parked();
    ic_http_stop(h, 50);
    pthread_join(b.t, NULL);
    assert_int_equal(b.rc, CURLE_OK);
    assert_int_equal(b.r.status, 503);
    assert_non_null(strstr(ic_buf_cstr(&b.r.body), "\"shutting_down\""));
    resp_free(&b.r);
    /* The handler's own answer, after the server is gone, is dropped safely. */
    ic_req_respond(r, 200, "text/plain", "too late", 8);
}

/* ---- a poll thread's batch of exactly 128 events ------------------------- */

/* Holds the only poll thread until the test has sent its requests. */
static pthread_mutex_t hmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hcv = PTHREAD_COND_INITIALIZER;
static int hold_state; /* 1: the handler holds the thread; 2: released */

static void h_hold(ic_req *r, void *arg)
{
    pthread_mutex_lock(&hmu);
    hold_state = 1;
    pthread_cond_broadcast(&hcv);
    while (hold_state != 2)
        pthread_cond_wait(&hcv, &hmu);
    pthread_mutex_unlock(&hmu);
    ic_req_respond(r, 200, "text/plain", "held", 4);
}

static int dial(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    return s;
}

static void send_get(int s, const char *path)
{
    char req[128];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    assert_int_equal(write(s, req, (size_t)n), n);
}

/* Reads one response with a body ending in want; false when none came
 * before deadline_us (monotonic). Responses here are small, and one request
 * is outstanding per connection, so the end of the body ends the read. */
static bool read_answer(int s, const char *want, int64_t deadline_us)
{
    char buf[2048];
    size_t n = 0;
    for (;;) {
        int64_t left = (deadline_us - ic_mono_us()) / 1000;
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t k = read(s, buf + n, sizeof buf - 1 - n);
        if (k <= 0)
            return false;
        n += (size_t)k;
        buf[n] = '\0';
        size_t wl = strlen(want);
        if (strstr(buf, "\r\n\r\n") && n >= wl && memcmp(buf + n - wl, want, wl) == 0)
            return strncmp(buf, "HTTP/1.1 200", 12) == 0;
    }
}

/* libmicrohttpd's epoll loop, given exactly 128 ready connections in one
 * epoll_wait, waits again for the whole connection timeout (30 s) before
 * serving any of them (waker.c). Here the only poll thread is held by a
 * request while the other n - 1 connections send theirs, so that they are
 * all ready at once; one n of the range makes the batch exactly 128. Every
 * answer must come well before the 30 s. */
static void test_batch_of_128(void **state)
{
    ic_http *h = server(1);
    ic_http_route(h, "GET", "/hello", 0, h_hello, NULL);
    ic_http_route(h, "GET", "/hold", 0, h_hold, NULL);
    ic_errmsg em;
    assert_int_equal(ic_http_start(h, &em), IC_OK);
    int port = ic_http_port(h);
    enum { LO = 124, HI = 134 };
    int s[HI];
    for (int n = LO; n <= HI; n++) {
        for (int i = 0; i < n; i++) {
            s[i] = dial(port);
            send_get(s[i], "/hello"); /* now known to the poll thread */
            assert_true(read_answer(s[i], "hello", ic_mono_us() + 10000000));
        }
        pthread_mutex_lock(&hmu);
        hold_state = 0;
        pthread_mutex_unlock(&hmu);
        send_get(s[0], "/hold");
        pthread_mutex_lock(&hmu);
        while (hold_state != 1)
            pthread_cond_wait(&hcv, &hmu);
        pthread_mutex_unlock(&hmu);
        for (int i = 1; i < n; i++)
            send_get(s[i], "/hello");
        pthread_mutex_lock(&hmu);
        hold_state = 2;
        pthread_cond_broadcast(&hcv);
        pthread_mutex_unlock(&hmu);

        int64_t deadline = ic_mono_us() + 10000000;
        int answered = read_answer(s[0], "held", deadline) ? 1 : 0;
        for (int i = 1; i < n; i++)
            answered += read_answer(s[i], "hello", deadline) ? 1 : 0;
        if (answered != n)
            fprintf(stderr, "connections %d: %d of %d answered in 10 s\n", n, answered, n);
        assert_int_equal(answered, n);
        for (int i = 0; i < n; i++)
            close(s[i]);
    }
    ic_http_stop(h, 1000);
}

int main(void)
{
    ic_crypto_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_and_headers),
        cmocka_unit_test(test_captures_rejected),
        cmocka_unit_test(test_query_and_request_headers),
        cmocka_unit_test(test_not_found_and_method),
        cmocka_unit_test(test_error_and_extra_header),
        cmocka_unit_test(test_body_bounds),
        cmocka_unit_test(test_chunked_bounds),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_answer_before_return),
        cmocka_unit_test(test_deferred_concurrent),
        cmocka_unit_test(test_port_taken),
    };
    const struct CMUnitTest plain[] = {
        cmocka_unit_test(test_status_for),
        cmocka_unit_test(test_stop_waits_for_answer),
        cmocka_unit_test(test_stop_answers_503),
        cmocka_unit_test(test_batch_of_128),
    };
    int fails = cmocka_run_group_tests_name("http", tests, setup, teardown);
    fails += cmocka_run_group_tests_name("http_stop", plain, NULL, NULL);
    curl_global_cleanup();
    return fails;
}
