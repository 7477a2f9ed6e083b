/* test_api.c - the REST API v1 over real HTTP (see api_fixture.h):
 * authentication, contacts, conversations, sending and the 24-hour window. */
#include "api_fixture.h"

/* ---- authentication ----------------------------------------------------------------- */

static void test_auth_refuses_missing_and_wrong_tokens(void **state)
{
    (void)state;
    resp r = call("GET", "/api/v1/contacts", NULL, NULL);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(ic_buf_cstr(&r.hdrs), "WWW-Authenticate: Bearer"));
    expect_error(r, 401, "unauthorized");
    expect_error(call("GET", "/api/v1/contacts", "Bearer ic_wrong", NULL), 401, "unauthorized");
    expect_error(call("GET", "/api/v1/contacts", "Basic dXNlcjpwYXNz", NULL), 401, "unauthorized");
    expect_error(call("GET", "/api/v1/contacts", "Bearer ", NULL), 401, "unauthorized");
    expect_error(call("GET", "/api/v1/contacts", "Bearer " TOKEN_A " extra", NULL), 401,
                 "unauthorized");
    /* The scheme is case-insensitive. */
    r = call("GET", "/api/v1/contacts", "bearer " TOKEN_A, NULL);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

/* ---- contacts ------------------------------------------------------------------------- */

static void test_contacts_list_get_and_tenancy(void **state)
{
    (void)state;
    resp r = call("GET", pathf("/api/v1/contacts/%lld", (long long)F.alice), "A", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "wa_id"), "27820000001");
    resp_free(&r);
    expect_error(call("GET", pathf("/api/v1/contacts/%lld", (long long)F.alice), "B", NULL), 404,
                 "not_found");
    expect_error(call("GET", "/api/v1/contacts/abc", "A", NULL), 404, "not_found");
    /* B sees only carol. */
    r = call("GET", "/api/v1/contacts", "B", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    resp_free(&r);
    r = call("GET", "/api/v1/contacts?search=27820000002", "A", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_int_equal(jint(json_array_get(json_object_get(r.json, "items"), 0), "id"), F.bob);
    resp_free(&r);
}

static void test_pagination_walks_every_page_once(void **state)
{
    (void)state;
    int64_t seen[64];
    size_t n = 0, pages = 0;
    char cursor[32] = "";
    for (;;) {
        resp r = call("GET",
                      cursor[0] ? pathf("/api/v1/contacts?limit=4&cursor=%s", cursor)
                                : "/api/v1/contacts?limit=4",
                      "A", NULL);
        assert_int_equal(r.status, 200);
        json_t *items = json_object_get(r.json, "items");
        assert_true(json_array_size(items) <= 4);
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it)
        {
            for (size_t k = 0; k < n; k++)
                assert_true(seen[k] != jint(it, "id"));
            seen[n++] = jint(it, "id");
        }
        pages++;
        json_t *next = json_object_get(r.json, "next_cursor");
        if (json_is_null(next)) {
            resp_free(&r);
            break;
        }
        assert_true(json_is_string(next));
        snprintf(cursor, sizeof cursor, "%s", json_string_value(next));
        resp_free(&r);
        assert_true(pages < 10);
    }
    assert_int_equal(n, 2 + EXTRA_CONTACTS);
    assert_int_equal(pages, 3);
    expect_error(call("GET", "/api/v1/contacts?limit=0", "A", NULL), 400, "bad_request");
    expect_error(call("GET", "/api/v1/contacts?limit=101", "A", NULL), 400, "bad_request");
    expect_error(call("GET", "/api/v1/contacts?limit=ten", "A", NULL), 400, "bad_request");
    expect_error(call("GET", "/api/v1/contacts?cursor=-3", "A", NULL), 400, "bad_request");
    expect_error(call("GET", "/api/v1/conversations?cursor=x1", "A", NULL), 400, "bad_request");
}

static void test_patch_contact(void **state)
{
    (void)state;
    const char *p = pathf("/api/v1/contacts/%lld", (long long)F.alice);
    resp r = call("PATCH", p, "A",
                  "{\"name\":\"Alice N\",\"language\":\"pt_BR\","
                  "\"fields\":{\"district\":\"Soweto\",\"age\":31,\"consent\":true}}");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "name"), "Alice N");
    resp_free(&r);
    r = call("GET", p, "A", NULL);
    assert_string_equal(jstr(r.json, "name"), "Alice N");
    assert_string_equal(jstr(r.json, "language"), "pt_BR");
    json_t *fields = json_object_get(r.json, "fields");
    assert_string_equal(jstr(fields, "district"), "Soweto");
    assert_int_equal(jint(fields, "age"), 31);
    resp_free(&r);

    char longname[300];
    memset(longname, 'x', 201);
    longname[201] = '\0';
    char body[400];
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", longname);
    r = call("PATCH", p, "A", body);
    assert_string_equal(err_msg(&r), "name must be a string of at most 200 characters");
    expect_error(r, 400, "bad_request");
    expect_error(call("PATCH", p, "A", "{\"name\":12}"), 400, "bad_request");
    r = call("PATCH", p, "A", "{\"name\":\"\"}");
    assert_true(contains(err_msg(&r), "name must not be empty"));
    expect_error(r, 400, "bad_request");
    expect_error(call("PATCH", p, "A", "{\"language\":\"en us\"}"), 400, "bad_request");
    expect_error(call("PATCH", p, "A", "{\"fields\":[1]}"), 400, "bad_request");
    expect_error(call("PATCH", p, "A", "{\"fields\":{\"a\":{\"b\":1}}}"), 400, "bad_request");
    expect_error(call("PATCH", p, "A", "{\"nmae\":\"typo\"}"), 400, "bad_request");
    r = call("PATCH", p, "A", "{\"name\":\"a\",\"name\":\"b\"}");
    assert_true(contains(err_msg(&r), "duplicate"));
    expect_error(r, 400, "bad_request");
    expect_error(call("PATCH", p, "A", "{\"name\":"), 400, "bad_request");
    expect_error(call("PATCH", p, "A", "{\"name\":\"a\"} {}"), 400, "bad_request");
    expect_error(call("PATCH", p, "A", "[]"), 400, "bad_request");
    expect_error(
        call_raw("PATCH", p, "Bearer " TOKEN_A, "application/json", "{\"name\":\"\xff\"}", 12), 400,
        "bad_request");
    char deep[200];
    int dn = snprintf(deep, sizeof deep, "{\"fields\":");
    memset(deep + dn, '[', 40);
    deep[dn + 40] = '\0';
    expect_error(call("PATCH", p, "A", deep), 400, "bad_request");
    /* Another workspace's contact does not exist for B, even with a valid body. */
    expect_error(call("PATCH", p, "B", "{\"name\":\"Mallory\"}"), 404, "not_found");
    /* null removes one field and keeps the others. */
    r = call("PATCH", p, "A", "{\"fields\":{\"age\":null}}");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "name"), "Alice N");
    assert_null(json_object_get(json_object_get(r.json, "fields"), "age"));
    assert_string_equal(jstr(json_object_get(r.json, "fields"), "district"), "Soweto");
    resp_free(&r);
}

/* ---- conversations ------------------------------------------------------------------- */

static void test_conversations(void **state)
{
    (void)state;
    resp r = call("GET", "/api/v1/conversations?status=open", "A", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
    resp_free(&r);
    r = call("GET", "/api/v1/conversations?status=closed", "A", NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    resp_free(&r);
    expect_error(call("GET", "/api/v1/conversations?status=pending", "A", NULL), 400,
                 "bad_request");
    const char *p = pathf("/api/v1/conversations/%lld", (long long)F.conv_alice);
    r = call("GET", p, "A", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "id"), F.conv_alice);
    resp_free(&r);
    expect_error(call("GET", p, "B", NULL), 404, "not_found");
    p = pathf("/api/v1/conversations/%lld/messages", (long long)F.conv_carol);
    r = call("GET", p, "B", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_int_equal(jint(json_array_get(json_object_get(r.json, "items"), 0), "id"), F.msg_carol);
    resp_free(&r);
    expect_error(call("GET", p, "A", NULL), 404, "not_found");
    expect_error(call("DELETE", "/api/v1/conversations", "A", NULL), 405, "method_not_allowed");
}

/* ---- sending -------------------------------------------------------------------------- */

#define TEXT_MSG "{\"message\":{\"type\":\"text\",\"text\":{\"body\":\"Hi there\"}}}"
#define TEMPLATE_MSG                                                                               \
    "{\"type\":\"template\",\"template\":{\"name\":\"hello_world\",\"language\":{\"code\":\"en\"}" \
    "}}"

static void test_send_inside_the_window(void **state)
{
    (void)state;
    int64_t before = count_out(F.ws_a);
    const char *p = pathf("/api/v1/conversations/%lld/messages", (long long)F.conv_alice);
    resp r = call("POST", p, "A", TEXT_MSG);
    assert_int_equal(r.status, 202);
    int64_t id = jint(r.json, "id");
    assert_true(id > 0);
    assert_string_equal(jstr(r.json, "status"), "queued");
    assert_string_equal(jstr(r.json, "type"), "text");
    resp_free(&r);
    assert_int_equal(count_out(F.ws_a), before + 1);

    const char *mp = pathf("/api/v1/messages/%lld", (long long)id);
    r = call("GET", mp, "A", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(r.json, "id"), id);
    assert_true(json_is_array(json_object_get(r.json, "statuses")));
    resp_free(&r);
    expect_error(call("GET", mp, "B", NULL), 404, "not_found");
    expect_error(call("GET", pathf("/api/v1/messages/%lld", (long long)F.msg_carol), "A", NULL),
                 404, "not_found");

    /* The simple (RapidPro-style) format and the bulk lane. */
    r = call("POST", p, "A", "{\"message\":{\"text\":\"hello\"},\"lane\":\"bulk\"}");
    assert_int_equal(r.status, 202);
    resp_free(&r);
    assert_int_equal(count_out(F.ws_a), before + 2);
    expect_error(call("POST", p, "A", "{\"message\":{\"text\":\"x\"},\"lane\":\"fast\"}"), 400,
                 "bad_request");
    expect_error(call("POST", p, "A", "{\"message\":\"hi\"}"), 400, "bad_request");
    expect_error(call("POST", p, "A", "{}"), 400, "bad_request");
    expect_error(call("POST", p, "A", "{\"message\":{\"type\":\"read\",\"message_id\":\"w\"}}"),
                 400, "bad_request");
    /* B cannot send into A's conversation. */
    expect_error(call("POST", p, "B", TEXT_MSG), 404, "not_found");
    assert_int_equal(count_out(F.ws_a), before + 2);
}

static void test_limits_are_named_and_nothing_is_stored(void **state)
{
    (void)state;
    int64_t before = count_out(F.ws_a);
    const char *p = pathf("/api/v1/conversations/%lld/messages", (long long)F.conv_alice);
    resp r = call("POST", p, "A",
                  "{\"message\":{\"type\":\"interactive\",\"interactive\":{\"type\":\"button\","
                  "\"body\":{\"text\":\"Pick one\"},\"action\":{\"buttons\":[{\"type\":\"reply\","
                  "\"reply\":{\"id\":\"a\",\"title\":\"123456789012345678901\"}}]}}}}");
    assert_non_null(err_msg(&r));
    assert_true(contains(err_msg(&r), "title"));
    assert_true(contains(err_msg(&r), "20"));
    expect_error(r, 422, "limit");
    expect_error(call("POST", p, "A", "{\"message\":{\"type\":\"text\"}}"), 422, "invalid");
    assert_int_equal(count_out(F.ws_a), before);
}

static void test_window_closed_refuses_free_form_but_not_templates(void **state)
{
    (void)state;
    int64_t before = count_out(F.ws_a);
    const char *p = pathf("/api/v1/conversations/%lld/messages", (long long)F.conv_bob);
    resp r = call("POST", p, "A", TEXT_MSG);
    assert_true(contains(err_msg(&r), "The 24-hour window closed at "));
    assert_true(contains(err_msg(&r), "only an approved template can be sent"));
    expect_error(r, 422, "window_closed");
    assert_int_equal(count_out(F.ws_a), before);
    r = call("POST", p, "A", "{\"message\":" TEMPLATE_MSG "}");
    assert_int_equal(r.status, 202);
    assert_string_equal(jstr(r.json, "type"), "template");
    resp_free(&r);
    assert_int_equal(count_out(F.ws_a), before + 1);
}

static void test_send_to_a_new_number(void **state)
{
    (void)state;
    int64_t before = count_out(F.ws_a), id = 0;
    char body[512];
    snprintf(body, sizeof body,
             "{\"channel_id\":%lld,\"to\":\"+27840000009\",\"message\":{\"text\":\"hi\"}}",
             (long long)F.ch_a);
    resp r = call("POST", "/api/v1/messages", "A", body);
    assert_true(contains(err_msg(&r), "never written"));
    expect_error(r, 422, "window_closed");
    assert_int_equal(count_out(F.ws_a), before);
    ic_conn *c = ic_db_thread_conn(F.db);
    assert_int_equal(ic_store_contact_by_wa_id(c, F.ws_a, "27840000009", &id), IC_ERR_NOT_FOUND);

    snprintf(body, sizeof body,
             "{\"channel_id\":%lld,\"to\":\"+27840000009\",\"message\":" TEMPLATE_MSG "}",
             (long long)F.ch_a);
    r = call("POST", "/api/v1/messages", "A", body);
    assert_int_equal(r.status, 202);
    resp_free(&r);
    assert_int_equal(count_out(F.ws_a), before + 1);
    assert_int_equal(ic_store_contact_by_wa_id(c, F.ws_a, "27840000009", &id), IC_OK);

    /* A's channel is not B's. */
    expect_error(call("POST", "/api/v1/messages", "B", body), 404, "not_found");
    snprintf(body, sizeof body, "{\"channel_id\":%lld,\"to\":\"abc\",\"message\":{\"text\":\"x\"}}",
             (long long)F.ch_a);
    expect_error(call("POST", "/api/v1/messages", "A", body), 400, "bad_request");
    expect_error(call("POST", "/api/v1/messages", "A", "{\"to\":\"27\",\"message\":{}}"), 400,
                 "bad_request");
    expect_error(call("POST", "/api/v1/messages", "A",
                      "{\"channel_id\":\"1\",\"to\":\"27\",\"message\":{}}"),
                 400, "bad_request");
}

static void test_mark_read_queues_a_read_receipt(void **state)
{
    (void)state;
    int64_t before = count_out(F.ws_b);
    const char *p = pathf("/api/v1/conversations/%lld/read", (long long)F.conv_carol);
    resp r = call("POST", p, "B", NULL);
    assert_int_equal(r.status, 202);
    assert_string_equal(jstr(r.json, "type"), "read");
    resp_free(&r);
    assert_int_equal(count_out(F.ws_b), before + 1);
    expect_error(call("POST", p, "A", NULL), 404, "not_found");
}

static void test_oversize_body_is_refused(void **state)
{
    (void)state;
    size_t n = 64 * 1024 + 10;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    resp r = call_raw("PATCH", pathf("/api/v1/contacts/%lld", (long long)F.alice),
                      "Bearer " TOKEN_A, "application/json", big, n);
    free(big);
    assert_int_equal(r.status, 413);
    resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_refuses_missing_and_wrong_tokens),
        cmocka_unit_test(test_contacts_list_get_and_tenancy),
        cmocka_unit_test(test_pagination_walks_every_page_once),
        cmocka_unit_test(test_patch_contact),
        cmocka_unit_test(test_conversations),
        cmocka_unit_test(test_send_inside_the_window),
        cmocka_unit_test(test_limits_are_named_and_nothing_is_stored),
        cmocka_unit_test(test_window_closed_refuses_free_form_but_not_templates),
        cmocka_unit_test(test_send_to_a_new_number),
        cmocka_unit_test(test_mark_read_queues_a_read_receipt),
        cmocka_unit_test(test_oversize_body_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
