/* test_api_routing.c - canned replies, urgency words and settings through
 * the REST API: each endpoint for each role (sessions of users of every
 * role, an API token as admin, nobody) and across the workspace line, the
 * fields' bounds, rendering, and the urgency cache's invalidation. */
#include "api/routing.h"
#include "api_fixture.h"
#include "core/urgency.h"
#include "store/sessions.h"

static const char *const ROLES[] = {"viewer", "operator", "supervisor", "admin"};

/* The cookie of role's session: 43 base64url characters. */
static void cookie_of(const char *role, char out[44])
{
    snprintf(out, 44, "%s%s", role, "0123456789012345678901234567890123456789abc");
}

static ic_err seed_sessions(ic_conn *c, void *arg)
{
    (void)arg;
    int64_t now = ic_now_us();
    for (size_t i = 0; i < 4; i++) {
        char email[64], name[64], cookie[44], sha[65], csrf[64];
        int64_t uid = 0, sid = 0;
        snprintf(email, sizeof email, "%s@example.org", ROLES[i]);
        snprintf(name, sizeof name, "Olivia %s", ROLES[i]);
        ic_err e = ic_store_user_insert(c, F.ws_a, email, name, ROLES[i], "x", &uid);
        if (e != IC_OK)
            return e;
        cookie_of(ROLES[i], cookie);
        ic_sha256_hex(cookie, 43, sha);
        snprintf(csrf, sizeof csrf, "csrf-%s", ROLES[i]);
        if ((e = ic_store_session_insert(c, F.ws_a, uid, sha, csrf, now, now + HOUR_US, &sid)))
            return e;
    }
    return ic_sql_run(c, "UPDATE contacts SET name = 'Thandi Nkosi' WHERE id = $1",
                      IC_ARGS(IC_I64(F.alice)), NULL);
}

/* The fixture, with this file's routes added (v1.c does not register them
 * yet: ic_http takes routes only before it starts). */
static int routing_setup(void **state)
{
    setup(state);
    ic_http_stop(F.h, 1000);
    api_server_start(ic_api_v1_routes, ic_api_routing_routes, &F.h, &F.port);
    seed(seed_sessions, NULL);
    ic_urgency_cache_clear();
    return 0;
}

/* A call as role's signed-in user (cookie and CSRF token). */
static resp scall(const char *method, const char *path, const char *role, const char *json)
{
    char cookie[44], csrf[64];
    cookie_of(role, cookie);
    snprintf(csrf, sizeof csrf, "csrf-%s", role);
    return call_session(method, path, cookie, csrf, json);
}

/* Asserts r's status, then frees r. */
static void expect(resp r, long status)
{
    if (r.status != status)
        print_error("status %ld, body %s\n", r.status, ic_buf_cstr(&r.body));
    assert_int_equal(r.status, status);
    resp_free(&r);
}

/* ---- roles ---------------------------------------------------------------------- */

typedef struct endpoint {
    const char *method, *pattern, *path, *body;
    ic_role role;
    long allowed; /* the status an allowed caller gets with this (harmless) request */
} endpoint;

static const endpoint ENDPOINTS[] = {
    {"GET", "/api/v1/canned-replies", "/api/v1/canned-replies", NULL, IC_ROLE_VIEWER, 200},
    {"POST", "/api/v1/canned-replies", "/api/v1/canned-replies", "{}", IC_ROLE_SUPERVISOR, 400},
    {"GET", "/api/v1/canned-replies/{id}", "/api/v1/canned-replies/999999", NULL, IC_ROLE_VIEWER,
     404},
    {"PATCH", "/api/v1/canned-replies/{id}", "/api/v1/canned-replies/999999", "{\"title\":\"t\"}",
     IC_ROLE_SUPERVISOR, 404},
    {"DELETE", "/api/v1/canned-replies/{id}", "/api/v1/canned-replies/999999", NULL,
     IC_ROLE_SUPERVISOR, 404},
    {"POST", "/api/v1/canned-replies/{id}/render", "/api/v1/canned-replies/999999/render", "{}",
     IC_ROLE_OPERATOR, 400},
    {"GET", "/api/v1/urgency-words", "/api/v1/urgency-words", NULL, IC_ROLE_SUPERVISOR, 200},
    {"POST", "/api/v1/urgency-words", "/api/v1/urgency-words", "{}", IC_ROLE_ADMIN, 400},
    {"DELETE", "/api/v1/urgency-words/{id}", "/api/v1/urgency-words/999999", NULL, IC_ROLE_ADMIN,
     404},
    {"GET", "/api/v1/settings", "/api/v1/settings", NULL, IC_ROLE_VIEWER, 200},
    {"PATCH", "/api/v1/settings", "/api/v1/settings", "{\"colour\":1}", IC_ROLE_ADMIN, 400},
};
#define NENDPOINTS (sizeof ENDPOINTS / sizeof ENDPOINTS[0])

static void test_role_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < NENDPOINTS; i++)
        assert_int_equal(ic_api_routing_role(ENDPOINTS[i].method, ENDPOINTS[i].pattern),
                         ENDPOINTS[i].role);
    assert_int_equal(ic_api_routing_role("PUT", "/api/v1/settings"), IC_ROLE_NONE);
    assert_int_equal(ic_api_routing_role(NULL, NULL), IC_ROLE_NONE);
}

static void test_each_endpoint_each_role(void **state)
{
    (void)state;
    for (size_t i = 0; i < NENDPOINTS; i++) {
        const endpoint *ep = &ENDPOINTS[i];
        for (size_t k = 0; k < 4; k++) {
            ic_role role = (ic_role)(k + 1);
            resp r = scall(ep->method, ep->path, ROLES[k], ep->body);
            long want = role >= ep->role ? ep->allowed : 403;
            if (r.status != want)
                print_error("%s %s as %s\n", ep->method, ep->path, ROLES[k]);
            expect(r, want);
        }
        expect(call(ep->method, ep->path, "A", ep->body), ep->allowed); /* a token: admin */
        expect(call(ep->method, ep->path, NULL, ep->body), 401);
    }
}

/* ---- canned replies ------------------------------------------------------------------ */

static int64_t create_canned(const char *who, const char *json)
{
    resp r = call("POST", "/api/v1/canned-replies", who, json);
    if (r.status != 201)
        print_error("status %ld, body %s\n", r.status, ic_buf_cstr(&r.body));
    assert_int_equal(r.status, 201);
    int64_t id = jint(r.json, "id");
    resp_free(&r);
    return id;
}

static void test_canned_crud(void **state)
{
    (void)state;
    int64_t id = create_canned(
        "A", "{\"shortcut\":\"hi\",\"title\":\"Greeting\",\"body\":\"Hello {{contact.name}}\"}");
    expect_error(call("POST", "/api/v1/canned-replies", "A",
                      "{\"shortcut\":\"hi\",\"title\":\"Again\",\"body\":\"x\"}"),
                 409, "conflict");
    /* B may use the same shortcut: shortcuts are per workspace. */
    int64_t b_id = create_canned("B", "{\"shortcut\":\"hi\",\"title\":\"B\",\"body\":\"b\"}");
    static const char *const bad[] = {
        "{\"shortcut\":\"Hi\",\"title\":\"t\",\"body\":\"b\"}",
        "{\"shortcut\":\"a b\",\"title\":\"t\",\"body\":\"b\"}",
        "{\"shortcut\":\"\",\"title\":\"t\",\"body\":\"b\"}",
        "{\"shortcut\":\"abcdefghijabcdefghijabcdefghijabc\",\"title\":\"t\",\"body\":\"b\"}",
        "{\"shortcut\":\"ok\",\"body\":\"b\"}",
        "{\"shortcut\":\"ok\",\"title\":\"t\",\"body\":\"b\",\"extra\":1}",
        "{\"shortcut\":\"ok\",\"title\":\"t\",\"body\":7}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(call("POST", "/api/v1/canned-replies", "A", bad[i]), 400, "bad_request");
    char big[4200];
    memset(big, 'x', sizeof big);
    snprintf(big, sizeof big, "{\"shortcut\":\"big\",\"title\":\"t\",\"body\":\"");
    size_t n = strlen(big);
    memset(big + n, 'x', 4097);
    snprintf(big + n + 4097, sizeof big - n - 4097, "\"}");
    expect_error(call("POST", "/api/v1/canned-replies", "A", big), 400, "bad_request");
    big[n + 4096] = '"'; /* 4096 characters: accepted */
    big[n + 4097] = '}';
    big[n + 4098] = '\0';
    create_canned("A", big);

    resp r = call("GET", "/api/v1/canned-replies", "A", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 2);
    assert_string_equal(jstr(json_array_get(json_object_get(r.json, "items"), 1), "shortcut"),
                        "hi");
    resp_free(&r);
    r = call("GET", pathf("/api/v1/canned-replies/%lld", (long long)id), "A", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "title"), "Greeting");
    resp_free(&r);

    r = scall("PATCH", pathf("/api/v1/canned-replies/%lld", (long long)id), "supervisor",
              "{\"title\":\"Hello\"}");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "title"), "Hello");
    assert_string_equal(jstr(r.json, "body"), "Hello {{contact.name}}");
    resp_free(&r);
    expect_error(call("PATCH", pathf("/api/v1/canned-replies/%lld", (long long)id), "A", "{}"), 400,
                 "bad_request");
    expect_error(call("PATCH", pathf("/api/v1/canned-replies/%lld", (long long)id), "A",
                      "{\"shortcut\":\"big\"}"),
                 409, "conflict");
    /* Across the workspace line: 404 for each. */
    const char *a_path = pathf("/api/v1/canned-replies/%lld", (long long)id);
    expect_error(call("GET", a_path, "B", NULL), 404, "not_found");
    expect_error(call("PATCH", a_path, "B", "{\"title\":\"x\"}"), 404, "not_found");
    expect_error(call("DELETE", a_path, "B", NULL), 404, "not_found");
    expect_error(call("POST", pathf("/api/v1/canned-replies/%lld/render", (long long)id), "B",
                      pathf("{\"conversation_id\":%lld}", (long long)F.conv_carol)),
                 404, "not_found");
    expect_error(call("GET", "/api/v1/canned-replies/abc", "A", NULL), 404, "not_found");
    expect(call("DELETE", a_path, "A", NULL), 204);
    expect_error(call("DELETE", a_path, "A", NULL), 404, "not_found");
    expect(call("DELETE", pathf("/api/v1/canned-replies/%lld", (long long)b_id), "B", NULL), 204);
}

static const char *render_as(const char *role, int64_t id, int64_t conv, resp *r)
{
    const char *path = pathf("/api/v1/canned-replies/%lld/render", (long long)id);
    const char *body = pathf("{\"conversation_id\":%lld}", (long long)conv);
    *r = role ? scall("POST", path, role, body) : call("POST", path, "A", body);
    assert_int_equal(r->status, 200);
    return jstr(r->json, "text");
}

static void test_render(void **state)
{
    (void)state;
    int64_t id = create_canned(
        "A", "{\"shortcut\":\"intro\",\"title\":\"Intro\",\"body\":\"Hi {{contact.first_name}}"
             " ({{ contact.name }}), this is {{operator.name}} at {{workspace.name}}. "
             "{{unknown.var}} <b>{{contact.name\"}");
    resp r;
    assert_string_equal(render_as("operator", id, F.conv_alice, &r),
                        "Hi Thandi (Thandi Nkosi), this is Olivia operator at A. {{unknown.var}} "
                        "<b>{{contact.name");
    resp_free(&r);
    /* An API token has no operator name. */
    assert_string_equal(render_as(NULL, id, F.conv_bob, &r),
                        "Hi Someone (Someone), this is  at A. {{unknown.var}} <b>{{contact.name");
    resp_free(&r);
    /* Another workspace's conversation, a missing one, a bad id. */
    const char *path = pathf("/api/v1/canned-replies/%lld/render", (long long)id);
    expect_error(
        call("POST", path, "A", pathf("{\"conversation_id\":%lld}", (long long)F.conv_carol)), 404,
        "not_found");
    expect_error(call("POST", path, "A", "{\"conversation_id\":99999999}"), 404, "not_found");
    expect_error(call("POST", path, "A", "{\"conversation_id\":\"1\"}"), 400, "bad_request");
    expect_error(call("POST", "/api/v1/canned-replies/99999/render", "A",
                      pathf("{\"conversation_id\":%lld}", (long long)F.conv_alice)),
                 404, "not_found");
}

/* ---- urgency words -------------------------------------------------------------------- */

static size_t cached_words(int64_t ws)
{
    ic_urgency_set *s = NULL;
    assert_int_equal(ic_urgency_get(ic_db_thread_conn(F.db), ws, &s), IC_OK);
    size_t n = ic_urgency_set_count(s);
    ic_urgency_set_release(s);
    return n;
}

static void test_urgency_words(void **state)
{
    (void)state;
    assert_int_equal(cached_words(F.ws_a), 0); /* "none" is now cached */
    resp r = call("POST", "/api/v1/urgency-words", "A",
                  "{\"language\":\"zu\",\"phrase\":\"Ngiyafuna usizo\"}");
    assert_int_equal(r.status, 201);
    int64_t id = jint(r.json, "id");
    assert_string_equal(jstr(r.json, "language"), "zu");
    assert_string_equal(jstr(r.json, "phrase"), "Ngiyafuna usizo");
    resp_free(&r);
    /* The node that changed the words sees them at once. */
    assert_int_equal(cached_words(F.ws_a), 1);
    expect(call("POST", "/api/v1/urgency-words", "A", "{\"phrase\":\"suicide\"}"), 201);
    expect_error(call("POST", "/api/v1/urgency-words", "A", "{\"phrase\":\"suicide\"}"), 409,
                 "conflict");
    expect(
        call("POST", "/api/v1/urgency-words", "A", "{\"phrase\":\"suicide\",\"language\":\"en\"}"),
        201);
    static const char *const bad[] = {
        "{\"phrase\":\"?!\"}",
        "{\"phrase\":\"\"}",
        "{\"language\":\"en\"}",
        "{\"phrase\":\"x\",\"language\":\"e n\"}",
        "{\"phrase\":\"x\",\"language\":7}",
        "{\"phrase\":\"x\",\"colour\":\"red\"}",
        "{\"phrase\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_error(call("POST", "/api/v1/urgency-words", "A", bad[i]), 400, "bad_request");
    r = scall("GET", "/api/v1/urgency-words", "supervisor", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 3);
    resp_free(&r);
    r = call("GET", "/api/v1/urgency-words", "B", NULL);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    resp_free(&r);
    const char *path = pathf("/api/v1/urgency-words/%lld", (long long)id);
    expect_error(call("DELETE", path, "B", NULL), 404, "not_found");
    assert_int_equal(cached_words(F.ws_a), 3);
    expect(call("DELETE", path, "A", NULL), 204);
    assert_int_equal(cached_words(F.ws_a), 2);
    expect_error(call("DELETE", path, "A", NULL), 404, "not_found");
}

/* ---- settings ---------------------------------------------------------------------------- */

static void test_settings(void **state)
{
    (void)state;
    resp r = scall("GET", "/api/v1/settings", "viewer", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_size(r.json), 0);
    resp_free(&r);
    r = scall("PATCH", "/api/v1/settings", "admin",
              "{\"time_zone\":\"Africa/Johannesburg\",\"business_hours\":{\"mon\":[[\"08:00\","
              "\"17:00\"]]},\"greeting\":\"Welcome\"}");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "time_zone"), "Africa/Johannesburg");
    resp_free(&r);
    /* A member replaces, null removes, the rest stays. */
    r = call("PATCH", "/api/v1/settings", "A",
             "{\"greeting\":null,\"away_message\":\"We are closed\"}");
    assert_int_equal(r.status, 200);
    assert_null(json_object_get(r.json, "greeting"));
    assert_string_equal(jstr(r.json, "away_message"), "We are closed");
    assert_string_equal(jstr(r.json, "time_zone"), "Africa/Johannesburg");
    resp_free(&r);
    r = call("GET", "/api/v1/settings", "A", NULL);
    assert_int_equal(json_object_size(r.json), 3);
    assert_non_null(json_object_get(json_object_get(r.json, "business_hours"), "mon"));
    resp_free(&r);
    expect_error(call("PATCH", "/api/v1/settings", "A", "{\"time_zone\":\"Mars/Olympus\"}"), 400,
                 "bad_request");
    expect_error(call("PATCH", "/api/v1/settings", "A",
                      "{\"business_hours\":{\"mon\":[[\"17:00\",\"08:00\"]]}}"),
                 400, "bad_request");
    expect_error(call("PATCH", "/api/v1/settings", "A", "[]"), 400, "bad_request");
    /* B's settings are its own. */
    r = call("GET", "/api/v1/settings", "B", NULL);
    assert_int_equal(json_object_size(r.json), 0);
    resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_table),
        cmocka_unit_test_setup_teardown(test_each_endpoint_each_role, routing_setup, teardown),
        cmocka_unit_test_setup_teardown(test_canned_crud, routing_setup, teardown),
        cmocka_unit_test_setup_teardown(test_render, routing_setup, teardown),
        cmocka_unit_test_setup_teardown(test_urgency_words, routing_setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings, routing_setup, teardown),
    };
    return cmocka_run_group_tests_name("api_routing", tests, NULL, NULL);
}
