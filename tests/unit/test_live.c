/* test_live.c - live updates: the SSE hub (http/sse.h) behind a real HTTP
 * server read by raw sockets (fan-out, workspace isolation, heartbeats on a
 * short interval, a slow client dropped with a final resync, Last-Event-ID
 * replay or resync, closing), and the publishing side (core/live.h) through
 * the bus to a stream: inside a committed and a failed writer job, and a
 * committed batch's message events from the live worker (with
 * IC_TEST_PG_URL on PostgreSQL, else SQLite). */
#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"
#include "core/live.h"
#include "http/http.h"
#include "http/sse.h"
#include "store/bus.h"
#include "store/sql.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_db.h"

#define WAIT_MS 3000

typedef struct fx {
    ic_sse_hub *hub; /* the hub the route serves (the fixture's or a live one's) */
    ic_http *http;
    int port;
} fx;

static void h_stream(ic_req *r, void *arg)
{
    fx *f = arg;
    int64_t ws = 1;
    const char *q = ic_req_query(r, "ws");
    if (q && ic_parse_i64(q, &ws) != IC_OK)
        ws = 1;
    if (ic_sse_open(f->hub, r, ws, ic_req_header(r, "Last-Event-ID")) != IC_OK)
        ic_req_error(r, 503, "busy", "closing");
}

static void serve(fx *f)
{
    ic_http_config hc = {.listen_addr = "127.0.0.1", .port = 0, .threads = 2};
    ic_errmsg em = {{0}};
    assert_int_equal(ic_http_new(&hc, &f->http, &em), IC_OK);
    ic_http_route(f->http, "GET", "/s", 0, h_stream, f);
    assert_int_equal(ic_http_start(f->http, &em), IC_OK);
    f->port = ic_http_port(f->http);
}

static fx *fx_new(int heartbeat_ms, size_t queue_max)
{
    fx *f = calloc(1, sizeof *f);
    ic_sse_config c = {.heartbeat_ms = heartbeat_ms, .queue_max = queue_max, .ring = 64};
    ic_errmsg em = {{0}};
    assert_int_equal(ic_sse_hub_start(&c, &f->hub, &em), IC_OK);
    serve(f);
    return f;
}

static void fx_free(fx *f)
{
    ic_sse_hub_close(f->hub);
    ic_http_stop(f->http, 2000);
    ic_sse_hub_free(f->hub);
    free(f);
}

/* ---- a raw client: HTTP/1.0, so the stream's end closes the socket --------- */

static int sse_connect(int port, int64_t ws, const char *last_id, int rcvbuf)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    if (rcvbuf)
        setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    char req[256];
    int n =
        snprintf(req, sizeof req, "GET /s?ws=%lld HTTP/1.0\r\nHost: t\r\n%s%s%s\r\n", (long long)ws,
                 last_id ? "Last-Event-ID: " : "", last_id ? last_id : "", last_id ? "\r\n" : "");
    assert_int_equal(write(s, req, (size_t)n), n);
    return s;
}

/* Reads into acc until it holds needle (true), the peer closes or ms pass
 * (false). eof, when given, tells whether the peer closed. */
static bool read_until(int s, ic_buf *acc, const char *needle, int ms, bool *eof)
{
    int64_t end = ic_mono_us() + (int64_t)ms * 1000;
    if (eof)
        *eof = false;
    for (;;) {
        if (needle && acc->data && strstr(acc->data, needle))
            return true;
        int64_t left = (end - ic_mono_us()) / 1000;
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        char chunk[65536];
        ssize_t k = read(s, chunk, sizeof chunk);
        if (k <= 0) {
            if (eof)
                *eof = true;
            return needle && acc->data && strstr(acc->data, needle);
        }
        ic_buf_append(acc, chunk, (size_t)k);
    }
}

static void expect(int s, const char *needle)
{
    ic_buf b = IC_BUF_INIT;
    if (!read_until(s, &b, needle, WAIT_MS, NULL))
        fail_msg("did not see \"%s\" in \"%s\"", needle, b.data ? b.data : "");
    ic_buf_free(&b);
}

static void wait_clients(ic_sse_hub *hub, uint64_t n)
{
    ic_sse_stats st;
    int64_t end = ic_mono_us() + WAIT_MS * 1000;
    do {
        ic_sse_stats_get(hub, &st);
        if (st.clients == n)
            return;
        ic_sleep_us(2000);
    } while (ic_mono_us() < end);
    fail_msg("clients %llu, expected %llu", (unsigned long long)st.clients, (unsigned long long)n);
}

/* ---- the hub -------------------------------------------------------------------- */

static void test_fanout_and_isolation(void **state)
{
    (void)state;
    fx *f = fx_new(60000, 0);
    int a = sse_connect(f->port, 1, NULL, 0), b = sse_connect(f->port, 1, NULL, 0);
    int c = sse_connect(f->port, 2, NULL, 0);
    expect(a, "text/event-stream");
    expect(b, "retry: 3000\n\n");
    expect(c, "retry: 3000\n\n");
    wait_clients(f->hub, 3);

    assert_int_equal(ic_sse_post(f->hub, 1, "e1", "message.created", "{\"x\":1}"), IC_OK);
    const char *want = "id: e1\nevent: message.created\ndata: {\"x\":1}\n\n";
    expect(a, want);
    expect(b, want);
    ic_buf got = IC_BUF_INIT;
    assert_false(read_until(c, &got, "e1", 300, NULL)); /* another workspace's */
    ic_buf_free(&got);
    assert_int_equal(ic_sse_post(f->hub, 2, "e2", "typing", "{}"), IC_OK);
    expect(c, "id: e2\nevent: typing\n");

    ic_sse_stats st;
    ic_sse_stats_get(f->hub, &st);
    assert_int_equal(st.events, 2);
    assert_int_equal(st.delivered, 3);

    /* Bad events are refused before they reach anyone. */
    assert_int_equal(ic_sse_post(f->hub, 1, "a b", "typing", "{}"), IC_ERR_INVALID);
    assert_int_equal(ic_sse_post(f->hub, 1, "e3", "Bad:type", "{}"), IC_ERR_INVALID);
    assert_int_equal(ic_sse_post(f->hub, 1, "e3", "typing", "{\n}"), IC_ERR_INVALID);
    close(a);
    close(b);
    close(c);
    fx_free(f);
}

static void test_heartbeat(void **state)
{
    (void)state;
    fx *f = fx_new(200, 0);
    int s = sse_connect(f->port, 1, NULL, 0);
    ic_buf b = IC_BUF_INIT;
    assert_true(read_until(s, &b, "retry: 3000\n\n", WAIT_MS, NULL));
    int64_t t0 = ic_mono_us();
    assert_true(read_until(s, &b, ": heartbeat\n\n", 1000, NULL));
    int64_t first = ic_mono_us() - t0;
    ic_buf_reset(&b);
    assert_true(read_until(s, &b, ": heartbeat\n\n", 1000, NULL));
    int64_t second = ic_mono_us() - t0;
    /* Every 200 ms: the first within about one interval, the next about one
     * interval later (loose upper bounds: the machine is shared). */
    assert_true(first <= 800 * 1000);
    assert_true(second - first >= 100 * 1000);
    assert_true(second - first <= 800 * 1000);
    ic_buf_free(&b);
    close(s);
    fx_free(f);
}

static void test_overflow_resync(void **state)
{
    (void)state;
    fx *f = fx_new(60000, 8192);
    int slow = sse_connect(f->port, 1, NULL, 2048); /* never reads until the end */
    int ok = sse_connect(f->port, 1, NULL, 0);
    expect(ok, "retry: 3000\n\n");
    wait_clients(f->hub, 2);

    char data[1100];
    memset(data, 'x', sizeof data);
    memcpy(data, "{\"p\":\"", 6);
    memcpy(data + sizeof data - 3, "\"}", 3);
    ic_sse_stats st;
    int64_t end = ic_mono_us() + 10 * 1000 * 1000;
    int posted = 0;
    do { /* one at a time, so that only the slow client falls behind */
        char id[16], want[24];
        snprintf(id, sizeof id, "o%d", posted++);
        assert_int_equal(ic_sse_post(f->hub, 1, id, "message.created", data), IC_OK);
        snprintf(want, sizeof want, "id: %s\n", id);
        expect(ok, want);
        ic_sse_stats_get(f->hub, &st);
    } while (st.overflowed == 0 && ic_mono_us() < end);
    print_message("overflow after %d events of %zu bytes\n", posted, sizeof data);
    assert_int_equal(st.overflowed, 1);

    /* The slow client's stream ends with a resync; the other goes on. */
    ic_buf b = IC_BUF_INIT;
    bool eof = false;
    while (!eof && read_until(slow, &b, NULL, WAIT_MS, &eof) == false && !eof) {
    }
    assert_true(eof);
    const char *resync = "event: resync\ndata: {}\n\n";
    assert_true(b.len >= strlen(resync));
    assert_string_equal(b.data + b.len - strlen(resync), resync);
    assert_non_null(strstr(b.data, "id: o0\n"));
    wait_clients(f->hub, 1);
    assert_int_equal(ic_sse_post(f->hub, 1, "after", "typing", "{}"), IC_OK);
    expect(ok, "id: after\n");
    ic_buf_free(&b);
    close(slow);
    close(ok);
    fx_free(f);
}

static void test_last_event_id(void **state)
{
    (void)state;
    fx *f = fx_new(60000, 0);
    assert_int_equal(ic_sse_post(f->hub, 1, "k1", "typing", "{\"n\":1}"), IC_OK);
    assert_int_equal(ic_sse_post(f->hub, 2, "k2", "typing", "{\"n\":2}"), IC_OK);
    assert_int_equal(ic_sse_post(f->hub, 1, "k3", "typing", "{\"n\":3}"), IC_OK);
    ic_sse_stats st;
    do {
        ic_sleep_us(1000);
        ic_sse_stats_get(f->hub, &st);
    } while (st.events < 3);

    /* Known id: what came after, of this workspace only, and no resync. */
    int s = sse_connect(f->port, 1, "k1", 0);
    ic_buf b = IC_BUF_INIT;
    assert_true(read_until(s, &b, "id: k3\n", WAIT_MS, NULL));
    assert_null(strstr(b.data, "resync"));
    assert_null(strstr(b.data, "k2"));
    assert_null(strstr(b.data, "id: k1"));
    close(s);
    /* The newest id: nothing missed, nothing sent. */
    s = sse_connect(f->port, 1, "k3", 0);
    ic_buf_reset(&b);
    assert_false(read_until(s, &b, "event:", 300, NULL));
    close(s);
    /* Unknown, or another workspace's: resync. */
    s = sse_connect(f->port, 1, "nope", 0);
    expect(s, "event: resync\n");
    close(s);
    s = sse_connect(f->port, 1, "k2", 0);
    expect(s, "event: resync\n");
    close(s);
    /* After a bus resync the ring is forgotten. */
    ic_sse_post_resync(f->hub);
    ic_sleep_us(50 * 1000);
    s = sse_connect(f->port, 1, "k1", 0);
    expect(s, "event: resync\n");
    close(s);
    ic_buf_free(&b);
    fx_free(f);
}

static void test_close_ends_streams(void **state)
{
    (void)state;
    fx *f = fx_new(60000, 0);
    int s = sse_connect(f->port, 1, NULL, 0);
    expect(s, "retry: 3000\n\n");
    wait_clients(f->hub, 1);
    ic_sse_hub_close(f->hub);
    ic_buf b = IC_BUF_INIT;
    bool eof = false;
    read_until(s, &b, NULL, WAIT_MS, &eof);
    assert_true(eof);
    close(s);
    s = sse_connect(f->port, 1, NULL, 0);
    expect(s, "503");
    close(s);
    ic_buf_free(&b);
    fx_free(f);
}

/* ---- publishing through the bus ------------------------------------------------- */

typedef struct pub_job {
    ic_write_job job;
    int64_t ws;
    bool fail;
} pub_job;

static ic_err pub_apply(ic_conn *tx, ic_write_job *job)
{
    pub_job *p = (pub_job *)job;
    json_t *data = json_pack("{s:I,s:b}", "message_id", (json_int_t)7, "fail", p->fail);
    ic_err err = ic_live_publish(tx, p->ws, IC_LIVE_MESSAGE_CREATED, data);
    json_decref(data);
    if (err == IC_OK && p->fail)
        err = IC_ERR_INVALID; /* rolls this job back */
    return err;
}

/* Stores an inbound message (and fails afterwards when told to: rolled back). */
typedef struct in_job {
    ic_write_job job;
    ic_message m;
    bool fail;
} in_job;

static ic_err in_apply(ic_conn *tx, ic_write_job *job)
{
    in_job *j = (in_job *)job;
    bool dup = false;
    ic_err err = ic_store_inbound_message(tx, &j->m, "27820001111", "Thandi", &dup);
    return err == IC_OK && j->fail ? IC_ERR_INVALID : err;
}

static ic_err store_inbound(ic_app *app, int64_t ws, int64_t ch, const char *wamid, bool fail)
{
    in_job j = {.job = {.apply = in_apply}, .fail = fail};
    j.m.workspace_id = ws;
    j.m.channel_id = ch;
    j.m.direction = IC_DIR_IN;
    j.m.wa_id = wamid;
    j.m.type = "text";
    j.m.text = "hello";
    j.m.status = "received";
    return ic_writer_run(app->writer, &j.job);
}

/* What webhook_done does once a batch committed: kinds[i] is 'm' for a
 * message event, 's' for a status, anything else for an ignored item. */
static void ingested(ic_live *live, int64_t ws, int64_t ch, const char *kinds,
                     const char *const *ids)
{
    ic_wa_event ev[8];
    size_t n = strlen(kinds);
    assert_true(n <= 8);
    memset(ev, 0, sizeof ev);
    for (size_t i = 0; i < n; i++) {
        ev[i].kind = kinds[i] == 'm'   ? IC_WA_MESSAGE
                     : kinds[i] == 's' ? IC_WA_STATUS
                                       : IC_WA_IGNORED;
        ev[i].id = ids[i];
    }
    ic_wa_batch b = {.events = ev, .count = n, .cap = n};
    assert_int_equal(ic_live_ingested(live, ws, ch, &b), IC_OK);
}

/* The stored message wa_id's id (conv false) or conversation id. The SQL
 * texts are literals: statements are cached by their text's address. */
static int64_t row_i64(ic_conn *c, bool conv, const char *wamid)
{
    const ic_sql_arg a[] = {IC_TXT(wamid)};
    int64_t v = 0;
    assert_int_equal(ic_sql_one_i64(c,
                                    conv ? "SELECT conversation_id FROM messages WHERE wa_id = $1"
                                         : "SELECT id FROM messages WHERE wa_id = $1",
                                    a, 1, &v),
                     IC_OK);
    return v;
}

static void expect_created(int s, ic_conn *c, const char *wamid)
{
    char want[200];
    snprintf(want, sizeof want,
             "event: message.created\ndata: {\"message_id\":%lld,\"conversation_id\":%lld,",
             (long long)row_i64(c, false, wamid), (long long)row_i64(c, true, wamid));
    expect(s, want);
}

/* Counts the occurrences of needle in hay. */
static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* Message events come from the worker after the commit, from the stored
 * rows (ids the writer's job did not know), one per message. */
static void check_inbound_event(ic_app *app, ic_live *live, int port)
{
    ic_conn *c = ic_db_thread_conn(app->db);
    int64_t ws = 0;
    assert_int_equal(ic_store_workspace_insert(c, "live", &ws), IC_OK);
    ic_channel ch = {.workspace_id = ws,
                     .name = (char *)"Helpline",
                     .phone_number_id = (char *)"1000123",
                     .access_token = (char *)"t",
                     .app_secret = (char *)"a",
                     .verify_token = (char *)"v"};
    assert_int_equal(ic_store_channel_insert(c, &ch), IC_OK);
    int s = sse_connect(port, ws, NULL, 0);
    expect(s, "retry: 3000\n\n");
    /* A new contact, then a known one; an ignored item and a missing id
     * add nothing. */
    assert_int_equal(store_inbound(app, ws, ch.id, "wamid.live-0", false), IC_OK);
    ingested(live, ws, ch.id, "mi", (const char *const[]){"wamid.live-0", "x"});
    expect_created(s, c, "wamid.live-0");
    assert_int_equal(store_inbound(app, ws, ch.id, "wamid.live-1", false), IC_OK);
    ingested(live, ws, ch.id, "m", (const char *const[]){"wamid.live-1"});
    expect_created(s, c, "wamid.live-1");

    /* Ids that would break out of an array literal or a string are only
     * data: the stored message is found. */
    const char *odd = "wamid.\"},{\\\"x'); SELECT 1; --";
    assert_int_equal(store_inbound(app, ws, ch.id, odd, false), IC_OK);
    ingested(live, ws, ch.id, "ms", (const char *const[]){odd, "wamid.\"}"});
    expect_created(s, c, odd);

    /* message.status from the row; a message that is not there and a
     * rolled-back one: nothing; the same message twice: one event. */
    assert_int_not_equal(store_inbound(app, ws, ch.id, "wamid.rolled-back", true), IC_OK);
    ingested(
        live, ws, ch.id, "sssm",
        (const char *const[]){"wamid.nope", "wamid.live-1", "wamid.live-1", "wamid.rolled-back"});
    ic_buf b = IC_BUF_INIT;
    assert_true(read_until(s, &b, "\"status\":\"received\"}\n\n", WAIT_MS, NULL));
    read_until(s, &b, NULL, 300, NULL); /* anything more would come at once */
    assert_int_equal(count_of(b.data, "event: message.status\n"), 1);
    assert_null(strstr(b.data, "event: message.created")); /* nothing for the others */
    ic_buf_free(&b);

    /* A batch with both: one message.created for the message. */
    ingested(live, ws, ch.id, "ms", (const char *const[]){"wamid.live-0", "wamid.live-0"});
    ingested(live, ws, ch.id, "s", (const char *const[]){"wamid.live-1"});
    ic_buf b2 = IC_BUF_INIT;
    assert_true(read_until(s, &b2, "event: message.status\n", WAIT_MS, NULL));
    assert_int_equal(count_of(b2.data, "event: message.created\n"), 1);
    ic_buf_free(&b2);
    close(s);

    /* Nothing without a live or a batch; a closed live refuses. */
    assert_int_equal(ic_live_ingested(NULL, ws, ch.id, NULL), IC_OK);
    assert_int_equal(ic_live_ingested(live, ws, ch.id, NULL), IC_OK);
}

static void test_publish_through_bus(void **state)
{
    (void)state;
    char dir[512], url[600];
    ic_db *db = test_db_fresh("live", dir, sizeof dir, url, sizeof url);
    ic_errmsg em = {{0}};
    ic_config cfg = {0};
    ic_app app = {.cfg = &cfg, .db = db};
    assert_int_equal(ic_bus_start(db, &app.bus, &em), IC_OK);
    assert_int_equal(ic_writer_start(db, 64, &app.writer, &em), IC_OK);
    ic_live *live = NULL;
    assert_int_equal(ic_live_start(&app, NULL, &live, &em), IC_OK);
    assert_ptr_equal(ic_live_for(&app), live);

    fx *f = calloc(1, sizeof *f);
    f->hub = ic_live_hub(live);
    serve(f);
    int s1 = sse_connect(f->port, 5, NULL, 0), s2 = sse_connect(f->port, 6, NULL, 0);
    expect(s1, "retry: 3000\n\n");
    expect(s2, "retry: 3000\n\n");
    wait_clients(f->hub, 2);

    /* Outside a transaction (typing). */
    json_t *data = json_pack("{s:I}", "conversation_id", (json_int_t)9);
    assert_int_equal(ic_live_publish_now(app.bus, 5, IC_LIVE_TYPING, data), IC_OK);
    json_decref(data);
    expect(s1, "event: typing\ndata: {\"conversation_id\":9}\n\n");

    /* Inside writer jobs: the committed one arrives, on PostgreSQL the
     * rolled-back one never does. */
    pub_job ok = {.job = {.apply = pub_apply}, .ws = 5};
    assert_int_equal(ic_writer_run(app.writer, &ok.job), IC_OK);
    expect(s1, "event: message.created\ndata: {\"message_id\":7,\"fail\":false}\n\n");
    if (ic_db_is_postgres(db)) {
        pub_job bad = {.job = {.apply = pub_apply}, .ws = 5, .fail = true};
        assert_int_not_equal(ic_writer_run(app.writer, &bad.job), IC_OK);
        assert_int_equal(ic_live_publish_now(app.bus, 5, IC_LIVE_TYPING, NULL), IC_OK);
        ic_buf b = IC_BUF_INIT;
        assert_true(read_until(s1, &b, "event: typing\ndata: {}\n\n", WAIT_MS, NULL));
        assert_null(strstr(b.data, "\"fail\":true"));
        ic_buf_free(&b);
    }
    /* Workspace 6 saw nothing (but maybe the resync every stream gets when
     * the bus starts listening, which may come after it connected). */
    ic_buf none = IC_BUF_INIT;
    read_until(s2, &none, NULL, 200, NULL);
    assert_true(!none.data ||
                (!strstr(none.data, "event: typing") && !strstr(none.data, "event: message")));
    ic_buf_free(&none);

    /* Refused: an unknown type, data that is not an object, too big. */
    assert_int_equal(ic_live_publish_now(app.bus, 5, "message.deleted", NULL), IC_ERR_INVALID);
    json_t *arr = json_array();
    assert_int_equal(ic_live_publish_now(app.bus, 5, IC_LIVE_TYPING, arr), IC_ERR_INVALID);
    json_decref(arr);
    char *big = calloc(1, 8100);
    memset(big, 'y', 8099);
    json_t *huge = json_pack("{s:s}", "text", big);
    assert_int_equal(ic_live_publish_now(app.bus, 5, IC_LIVE_TYPING, huge), IC_ERR_INVALID);
    json_decref(huge);
    free(big);

    check_inbound_event(&app, live, f->port);
    close(s1);
    close(s2);
    ic_live_close(live);
    ic_wa_event ev = {.kind = IC_WA_MESSAGE, .id = "wamid.late"};
    ic_wa_batch late = {.events = &ev, .count = 1, .cap = 1};
    assert_int_equal(ic_live_ingested(live, 5, 1, &late), IC_ERR_BUSY);
    ic_http_stop(f->http, 2000);
    ic_writer_stop(app.writer);
    ic_bus_stop(app.bus);
    ic_live_stop(live);
    assert_null(ic_live_for(&app));
    free(f);
    ic_db_close(db);
    test_db_drop(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fanout_and_isolation), cmocka_unit_test(test_heartbeat),
        cmocka_unit_test(test_overflow_resync),      cmocka_unit_test(test_last_event_id),
        cmocka_unit_test(test_close_ends_streams),   cmocka_unit_test(test_publish_through_bus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
