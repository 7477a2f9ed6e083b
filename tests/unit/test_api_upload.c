/* test_api_upload.c - POST /api/v1/media?channel_id=N sends the stored file
 * on to Meta: the REST API fixture (api_fixture.h) plus a real media thread
 * (ic_media_start) and a tiny Graph API played by libmicrohttpd inside the
 * test. Two channels of workspace B point their graph_url at it: one whose
 * uploads Meta accepts, one whose uploads it refuses with a 400. */
#include "api_fixture.h"

#include "base/alloc.h"
#include "base/str.h"
#include "wa/media.h"

#include <microhttpd.h>
#include <pthread.h>

#define PNID_OK "5005"
#define PNID_REFUSED "5006"

/* ---- the fake Graph API ------------------------------------------------------ */

static struct {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    int uploads;      /* upload requests received */
    char url[128];    /* the last upload's path */
    char auth[128];   /* its Authorization header */
    char ctype[256];  /* its Content-Type */
    char body[16384]; /* its multipart body */
    size_t len;
    char last_id[64]; /* the media id last handed out */
} stub = {.mu = PTHREAD_MUTEX_INITIALIZER};

typedef struct stub_req {
    ic_buf body;
} stub_req;

static enum MHD_Result stub_reply(struct MHD_Connection *c, unsigned status, const char *json)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Records every POST, then answers as Meta would: {"id"} for PNID_OK, an
 * OAuth-style 400 for PNID_REFUSED. Each request gets a context on its first
 * call and is answered on a later one, as libmicrohttpd wants. */
static enum MHD_Result stub_handler(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version, const char *data,
                                    size_t *data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    stub_req *u = *con_cls;
    if (!u) {
        u = ic_calloc(1, sizeof *u);
        *con_cls = u;
        return MHD_YES;
    }
    if (*data_size) {
        if (u->body.len + *data_size <= sizeof stub.body)
            ic_buf_append(&u->body, data, *data_size);
        *data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0)
        return stub_reply(c, 404, "{\"error\":{\"code\":100}}");
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    char answer[128];
    pthread_mutex_lock(&stub.mu);
    int n = ++stub.uploads;
    ic_strlcpy(stub.url, url, sizeof stub.url);
    ic_strlcpy(stub.auth, auth ? auth : "", sizeof stub.auth);
    ic_strlcpy(stub.ctype, ct ? ct : "", sizeof stub.ctype);
    memcpy(stub.body, u->body.data ? u->body.data : "", u->body.len);
    stub.len = u->body.len;
    snprintf(stub.last_id, sizeof stub.last_id, "98765%d", n);
    snprintf(answer, sizeof answer, "{\"id\":\"%s\"}", stub.last_id);
    pthread_mutex_unlock(&stub.mu);
    if (strcmp(url, "/v1/" PNID_OK "/media") == 0)
        return stub_reply(c, 200, answer);
    return stub_reply(c, 400,
                      "{\"error\":{\"message\":\"(#131053) Media upload error\",\"type\":"
                      "\"OAuthException\",\"code\":131053}}");
}

static void stub_done(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    stub_req *u = *con_cls;
    if (u) {
        ic_buf_free(&u->body);
        ic_free(u);
        *con_cls = NULL;
    }
}

static int stub_uploads(void)
{
    pthread_mutex_lock(&stub.mu);
    int n = stub.uploads;
    pthread_mutex_unlock(&stub.mu);
    return n;
}

/* True when the last upload's body holds s. Caller holds stub.mu. */
static bool stub_has(const char *s)
{
    return memmem(stub.body, stub.len, s, strlen(s)) != NULL;
}

/* ---- set-up ---------------------------------------------------------------------- */

static int64_t ch_ok, ch_refused; /* both in workspace B */

static ic_err add_graph_channel(ic_conn *c, void *arg)
{
    char graph[128];
    const char *pnid = arg;
    snprintf(graph, sizeof graph, "http://127.0.0.1:%d/v1/", stub.port);
    ic_channel ch = {.workspace_id = F.ws_b,
                     .name = "Graph stub",
                     .phone_number_id = (char *)pnid,
                     .access_token = "EAAupload-token",
                     .app_secret = "appsecret",
                     .verify_token = "verify",
                     .graph_url = graph,
                     .throughput_mps = 80};
    ic_err e = ic_store_channel_insert(c, &ch);
    *(strcmp(pnid, PNID_OK) == 0 ? &ch_ok : &ch_refused) = ch.id;
    return e;
}

static int setup_upload(void **state)
{
    ic_errmsg em = {{0}};
    if (setup(state) != 0)
        return -1;
    stub.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                              NULL, NULL, stub_handler, NULL, MHD_OPTION_NOTIFY_COMPLETED,
                              stub_done, NULL, MHD_OPTION_END);
    if (!stub.d)
        return -1;
    stub.port = MHD_get_daemon_info(stub.d, MHD_DAEMON_INFO_BIND_PORT)->port;
    seed(add_graph_channel, (void *)PNID_OK);
    seed(add_graph_channel, (void *)PNID_REFUSED);
    /* The default Graph URL is never used: the channels carry their own. The
     * routes borrow F.app, so the media thread is in place before any call. */
    if (ic_media_start(F.db, F.w, F.media, "http://127.0.0.1:9/v1", &F.app.media, &em) != IC_OK) {
        fprintf(stderr, "media: %s\n", em.msg);
        return -1;
    }
    return 0;
}

/* The server first, then the media thread, then (in teardown) the writer. */
static int teardown_upload(void **state)
{
    ic_http_stop(F.h, 1000);
    F.h = NULL;
    ic_media_stop(F.app.media);
    F.app.media = NULL;
    if (stub.d)
        MHD_stop_daemon(stub.d);
    return teardown(state);
}

static resp upload_as(const char *token, int64_t channel, const char *ctype, const char *data,
                      size_t len)
{
    return call_raw("POST", pathf("/api/v1/media?channel_id=%lld", (long long)channel), token,
                    ctype, data, len);
}

/* The media row as the store has it (owned). */
static json_t *row_of(int64_t id)
{
    json_t *row = NULL;
    assert_int_equal(ic_store_media_get(ic_db_thread_conn(F.db), F.ws_b, id, &row), IC_OK);
    return row;
}

static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR pretend pixels";

/* ---- tests ---------------------------------------------------------------------------- */

static void test_upload_reaches_meta_and_answers_its_id(void **state)
{
    (void)state;
    resp r = upload_as("Bearer " TOKEN_B, ch_ok, "image/png", png, sizeof png - 1);
    if (r.status != 201)
        print_error("body %s\n", ic_buf_cstr(&r.body));
    assert_int_equal(r.status, 201);
    int64_t id = jint(r.json, "id");
    assert_true(id > 0);
    assert_int_equal(jint(r.json, "channel_id"), ch_ok);
    assert_int_equal(jint(r.json, "size"), sizeof png - 1);
    assert_string_equal(jstr(r.json, "mime_type"), "image/png");
    assert_non_null(jstr(r.json, "wa_media_id"));

    /* The answer's id is the one Meta handed out, for a request that carried
     * the channel's bearer and the file's bytes as multipart. */
    pthread_mutex_lock(&stub.mu);
    assert_int_equal(stub.uploads, 1);
    assert_string_equal(jstr(r.json, "wa_media_id"), stub.last_id);
    assert_string_equal(stub.url, "/v1/" PNID_OK "/media");
    assert_string_equal(stub.auth, "Bearer EAAupload-token");
    assert_true(ic_str_starts(stub.ctype, "multipart/form-data"));
    assert_true(stub_has("name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"));
    assert_true(stub_has("name=\"file\"; filename=\""));
    assert_true(stub_has("Content-Type: image/png"));
    assert_non_null(memmem(stub.body, stub.len, png, sizeof png - 1));
    pthread_mutex_unlock(&stub.mu);
    char wa_id[64];
    snprintf(wa_id, sizeof wa_id, "%s", jstr(r.json, "wa_media_id"));
    resp_free(&r);

    /* The id is durable on the row, and the download names it. */
    json_t *row = row_of(id);
    assert_string_equal(jstr(row, "state"), "stored");
    assert_string_equal(jstr(row, "wa_media_id"), wa_id);
    json_decref(row);
    r = call("GET", pathf("/api/v1/media/%lld", (long long)id), "B", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, sizeof png - 1);
    assert_memory_equal(r.body.data, png, sizeof png - 1);
    char hdr[100];
    snprintf(hdr, sizeof hdr, "X-WhatsApp-Media-Id: %s\r\n", wa_id);
    assert_non_null(strstr(ic_buf_cstr(&r.hdrs), hdr));
    resp_free(&r);

    /* A second upload is a second file with its own Meta id. */
    r = upload_as("Bearer " TOKEN_B, ch_ok, "application/pdf", "%PDF-1.4 x", 10);
    assert_int_equal(r.status, 201);
    assert_true(jint(r.json, "id") != id);
    assert_non_null(jstr(r.json, "wa_media_id"));
    assert_string_not_equal(jstr(r.json, "wa_media_id"), wa_id);
    resp_free(&r);
}

static void test_refused_upload_is_502_and_the_file_is_kept(void **state)
{
    (void)state;
    int before = stub_uploads();
    resp r = upload_as("Bearer " TOKEN_B, ch_refused, "image/png", png, sizeof png - 1);
    assert_int_equal(stub_uploads(), before + 1);
    const char *msg = err_msg(&r);
    assert_true(contains(msg, "WhatsApp refused the upload: "));
    /* The message names the stored file. */
    const char *at = msg ? strstr(msg, "stored as media ") : NULL;
    assert_non_null(at);
    long long id = 0;
    assert_int_equal(sscanf(at, "stored as media %lld", &id), 1);
    expect_error(r, 502, "upload_failed");

    json_t *row = row_of(id);
    assert_string_equal(jstr(row, "state"), "stored");
    assert_int_equal(jint(row, "channel_id"), ch_refused);
    assert_null(jstr(row, "wa_media_id"));
    json_decref(row);
    r = call("GET", pathf("/api/v1/media/%lld", id), "B", NULL);
    assert_int_equal(r.status, 200);
    assert_memory_equal(r.body.data, png, sizeof png - 1);
    assert_null(strstr(ic_buf_cstr(&r.hdrs), "X-WhatsApp-Media-Id"));
    resp_free(&r);
}

static void test_other_workspace_channel_is_404_and_nothing_is_sent(void **state)
{
    (void)state;
    int before = stub_uploads();
    resp r = upload_as("Bearer " TOKEN_A, ch_ok, "image/png", png, sizeof png - 1);
    assert_true(contains(err_msg(&r), "no channel"));
    expect_error(r, 404, "not_found");
    expect_error(call_raw("POST", "/api/v1/media", "Bearer " TOKEN_B, "image/png", png, 4), 400,
                 "bad_request");
    expect_error(upload_as(NULL, ch_ok, "image/png", png, 4), 401, "unauthorized");
    assert_int_equal(stub_uploads(), before);
}

/* ic_store_media_set_wa_id in a write job of its own: its result is the
 * job's (a failure rolls the job back, as PostgreSQL needs). */
typedef struct set_wa_args {
    int64_t ws, id;
    const char *wa_id;
} set_wa_args;

static ic_err set_wa_apply(ic_conn *c, ic_write_job *job)
{
    set_wa_args *a = job->arg;
    return ic_store_media_set_wa_id(c, a->ws, a->id, a->wa_id);
}

static ic_err set_wa_id(int64_t ws, int64_t id, const char *wa_id)
{
    set_wa_args a = {.ws = ws, .id = id, .wa_id = wa_id};
    ic_write_job job = {.apply = set_wa_apply, .arg = &a};
    return ic_writer_run(F.w, &job);
}

static ic_err add_other_media(ic_conn *c, void *arg)
{
    return add_media(c, F.ws_b, F.ch_b, "m-other", "stored", "2/y.jpg", "image/jpeg", arg);
}

static void test_store_records_the_id_within_its_workspace(void **state)
{
    (void)state;
    char long_id[300];
    memset(long_id, '7', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    assert_int_equal(set_wa_id(F.ws_a, F.media_b, "111"), IC_ERR_NOT_FOUND);
    assert_int_equal(set_wa_id(F.ws_b, 99999, "111"), IC_ERR_NOT_FOUND);
    assert_int_equal(set_wa_id(F.ws_b, F.media_b, ""), IC_ERR_INVALID);
    assert_int_equal(set_wa_id(F.ws_b, F.media_b, NULL), IC_ERR_INVALID);
    assert_int_equal(set_wa_id(F.ws_b, F.media_b, long_id), IC_ERR_INVALID);
    json_t *row = row_of(F.media_b);
    assert_string_equal(jstr(row, "wa_media_id"), "m-b");
    json_decref(row);
    /* Another row of the same channel already has the id. */
    int64_t other = 0;
    seed(add_other_media, &other);
    assert_int_equal(set_wa_id(F.ws_b, other, "m-b"), IC_ERR_EXISTS);
    assert_int_equal(set_wa_id(F.ws_b, other, "444"), IC_OK);
    row = row_of(other);
    assert_string_equal(jstr(row, "wa_media_id"), "444");
    assert_string_equal(jstr(row, "state"), "stored");
    json_decref(row);
}

/* Uploads in flight at once each get their own Meta id. */
typedef struct par_upload {
    pthread_t t;
    long status;
    char wa_id[64];
} par_upload;

static void *par_run(void *arg)
{
    par_upload *p = arg;
    resp r = upload_as("Bearer " TOKEN_B, ch_ok, "image/png", png, sizeof png - 1);
    p->status = r.status;
    snprintf(p->wa_id, sizeof p->wa_id, "%s",
             jstr(r.json, "wa_media_id") ? jstr(r.json, "wa_media_id") : "");
    resp_free(&r);
    return NULL;
}

static void test_concurrent_uploads_get_distinct_ids(void **state)
{
    (void)state;
    par_upload p[6];
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(pthread_create(&p[i].t, NULL, par_run, &p[i]), 0);
    for (size_t i = 0; i < 6; i++)
        pthread_join(p[i].t, NULL);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(p[i].status, 201);
        assert_true(p[i].wa_id[0]);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(p[i].wa_id, p[k].wa_id);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upload_reaches_meta_and_answers_its_id),
        cmocka_unit_test(test_refused_upload_is_502_and_the_file_is_kept),
        cmocka_unit_test(test_other_workspace_channel_is_404_and_nothing_is_sent),
        cmocka_unit_test(test_concurrent_uploads_get_distinct_ids),
        cmocka_unit_test(test_store_records_the_id_within_its_workspace),
    };
    return cmocka_run_group_tests(tests, setup_upload, teardown_upload);
}
