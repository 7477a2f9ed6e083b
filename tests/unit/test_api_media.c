/* test_api_media.c - the REST API v1 over real HTTP (see api_fixture.h):
 * connecting channels (secrets in, never out) and media upload/download. */
#include "api_fixture.h"

#define CH_BODY(pnid, extra)                                                                       \
    "{\"name\":\"Clinic line\",\"phone_number_id\":\"" pnid "\",\"access_token\":\"EAAsecret"      \
    "token\",\"app_secret\":\"s3cr3t-app\"" extra "}"

static void test_channel_create_hides_secrets(void **state)
{
    (void)state;
    resp r = call("POST", "/api/v1/channels", "A", CH_BODY("3003", ",\"throughput_mps\":200"));
    assert_int_equal(r.status, 201);
    const char *verify = jstr(r.json, "verify_token");
    assert_non_null(verify);
    assert_int_equal(strlen(verify), 32);
    const char *uuid = jstr(r.json, "uuid");
    assert_non_null(uuid);
    char want[200];
    snprintf(want, sizeof want, "https://chat.example.org/webhooks/whatsapp/%s", uuid);
    assert_string_equal(jstr(r.json, "webhook_url"), want);
    assert_int_equal(jint(r.json, "throughput_mps"), 200);
    assert_null(json_object_get(r.json, "access_token"));
    assert_null(json_object_get(r.json, "app_secret"));
    assert_null(strstr(ic_buf_cstr(&r.body), "EAAsecret"));
    assert_null(strstr(ic_buf_cstr(&r.body), "s3cr3t-app"));
    char verify_copy[64];
    snprintf(verify_copy, sizeof verify_copy, "%s", verify);
    resp_free(&r);

    /* The list shows the channel but no secret, and no verify token again. */
    r = call("GET", "/api/v1/channels", "A", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
    assert_non_null(strstr(ic_buf_cstr(&r.body), "3003"));
    assert_null(strstr(ic_buf_cstr(&r.body), verify_copy));
    assert_null(strstr(ic_buf_cstr(&r.body), "EAAsecret"));
    assert_null(strstr(ic_buf_cstr(&r.body), "s3cr3t-app"));
    resp_free(&r);
    r = call("GET", "/api/v1/channels", "B", NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_null(strstr(ic_buf_cstr(&r.body), "3003"));
    resp_free(&r);

    /* A number is connected once, whichever workspace asks. */
    expect_error(call("POST", "/api/v1/channels", "B", CH_BODY("3003", "")), 409, "conflict");
    /* A verify token the caller chose is not echoed. */
    r = call("POST", "/api/v1/channels", "A", CH_BODY("3004", ",\"verify_token\":\"mine-123\""));
    assert_int_equal(r.status, 201);
    assert_null(json_object_get(r.json, "verify_token"));
    resp_free(&r);
}

static void test_channel_create_validates(void **state)
{
    (void)state;
    expect_error(call("POST", "/api/v1/channels", "A",
                      "{\"name\":\"x\",\"phone_number_id\":\"4004\",\"app_secret\":\"s\"}"),
                 400, "bad_request");
    resp r = call("POST", "/api/v1/channels", "A", CH_BODY("4004", ",\"throughput_mps\":50"));
    assert_string_equal(err_msg(&r), "throughput_mps must be an integer from 80 to 1000");
    expect_error(r, 400, "bad_request");
    expect_error(call("POST", "/api/v1/channels", "A", CH_BODY("40a4", "")), 400, "bad_request");
    expect_error(
        call("POST", "/api/v1/channels", "A", CH_BODY("4004", ",\"graph_url\":\"ftp://x\"")), 400,
        "bad_request");
    expect_error(call("POST", "/api/v1/channels", "A", CH_BODY("4004", ",\"secret\":\"x\"")), 400,
                 "bad_request");
    expect_error(call("POST", "/api/v1/channels", NULL, CH_BODY("4004", "")), 401, "unauthorized");
    r = call("POST", "/api/v1/channels", "A",
             CH_BODY("4004", ",\"graph_url\":\"http://127.0.0.1:9/v21.0\""));
    assert_int_equal(r.status, 201);
    assert_string_equal(jstr(r.json, "graph_url"), "http://127.0.0.1:9/v21.0");
    resp_free(&r);
}

static resp upload(const char *who, int64_t channel, const char *ctype, const char *data,
                   size_t len)
{
    const char *tok = strcmp(who, "A") == 0 ? "Bearer " TOKEN_A : "Bearer " TOKEN_B;
    return call_raw("POST", pathf("/api/v1/media?channel_id=%lld", (long long)channel), tok, ctype,
                    data, len);
}

static void test_media_upload_then_download_is_identical(void **state)
{
    (void)state;
    char data[3000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)((i * 7 + 3) % 256); /* binary, with NULs */
    resp r = upload("B", F.ch_b, "image/png", data, sizeof data);
    assert_int_equal(r.status, 201);
    int64_t id = jint(r.json, "id");
    assert_int_equal(jint(r.json, "size"), sizeof data);
    assert_string_equal(jstr(r.json, "mime_type"), "image/png");
    /* No media thread runs here: the file is stored, not sent to Meta. */
    assert_null(json_object_get(r.json, "wa_media_id"));
    resp_free(&r);

    const char *p = pathf("/api/v1/media/%lld", (long long)id);
    r = call("GET", p, "B", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, sizeof data);
    assert_memory_equal(r.body.data, data, sizeof data);
    assert_non_null(strstr(ic_buf_cstr(&r.hdrs), "Content-Type: image/png"));
    assert_non_null(strstr(ic_buf_cstr(&r.hdrs), "X-Content-Type-Options: nosniff"));
    assert_null(strstr(ic_buf_cstr(&r.hdrs), "attachment"));
    resp_free(&r);
    expect_error(call("GET", p, "A", NULL), 404, "not_found");

    /* A document is served as an attachment. */
    r = upload("B", F.ch_b, "application/pdf", "%PDF-1.4 x", 10);
    assert_int_equal(r.status, 201);
    p = pathf("/api/v1/media/%lld", (long long)jint(r.json, "id"));
    resp_free(&r);
    r = call("GET", p, "B", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(ic_buf_cstr(&r.body), "%PDF-1.4 x");
    assert_non_null(strstr(ic_buf_cstr(&r.hdrs), "Content-Disposition: attachment"));
    resp_free(&r);

    /* The seeded file of B. */
    r = call("GET", pathf("/api/v1/media/%lld", (long long)F.media_b), "B", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(ic_buf_cstr(&r.body), "jpeg!");
    resp_free(&r);
}

static void test_media_upload_is_checked(void **state)
{
    (void)state;
    expect_error(upload("B", F.ch_b, "text/html", "<b>x</b>", 8), 415, "unsupported_media_type");
    expect_error(upload("B", F.ch_a, "image/png", "x", 1), 404, "not_found");
    expect_error(upload("B", F.ch_b, "image/png", "", 0), 400, "bad_request");
    expect_error(call_raw("POST", "/api/v1/media", "Bearer " TOKEN_B, "image/png", "x", 1), 400,
                 "bad_request");
    size_t n = 5 * 1024 * 1024 + 1;
    char *big = calloc(1, n);
    assert_non_null(big);
    resp r = upload("B", F.ch_b, "image/png", big, n);
    free(big);
    assert_true(contains(err_msg(&r), "5 MB"));
    expect_error(r, 413, "too_large");
}

static void test_media_paths_outside_the_folder_are_refused(void **state)
{
    (void)state;
    resp r = call("GET", pathf("/api/v1/media/%lld", (long long)F.media_evil), "A", NULL);
    assert_null(strstr(ic_buf_cstr(&r.body), "SECRET"));
    expect_error(r, 404, "not_found");
    r = call("GET", pathf("/api/v1/media/%lld", (long long)F.media_abs), "A", NULL);
    assert_null(strstr(ic_buf_cstr(&r.body), "root:"));
    expect_error(r, 404, "not_found");
    expect_error(call("GET", pathf("/api/v1/media/%lld", (long long)F.media_pending), "A", NULL),
                 404, "not_found");
    expect_error(call("GET", "/api/v1/media/99999", "A", NULL), 404, "not_found");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_create_hides_secrets),
        cmocka_unit_test(test_channel_create_validates),
        cmocka_unit_test(test_media_upload_then_download_is_identical),
        cmocka_unit_test(test_media_upload_is_checked),
        cmocka_unit_test(test_media_paths_outside_the_folder_are_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
