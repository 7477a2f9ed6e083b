/* test_api_inbox.c - the inbox's REST endpoints (api/inbox.h) over real HTTP
 * with API tokens (admin), across the tenant line (workspace B's token on
 * A's ids is 404), and the least role of every endpoint for each role, with
 * the masking of numbers per role, through the functions the handlers use.
 * The per-user rules (operators' own conversations) are the store's and are
 * tested in test_inbox_store.c. */
#include "api/inbox.h"
#include "api_fixture.h"
#include "store/sessions.h"

/* The fixture's server has the v1 routes; until ic_api_v1_routes registers
 * the inbox's, this program serves them (and v1's) on a second server. */
static ic_http *inbox_h;
static int64_t op_a, op_b, label_a, label_b, team_a, note_a, viewer_a, sup_a;

/* Session cookies (43 base64url characters, as ours) of users of A. */
#define COOKIE_VIEWER "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
#define COOKIE_OP "ooooooooooooooooooooooooooooooooooooooooooo"
#define COOKIE_SUP "sssssssssssssssssssssssssssssssssssssssssss"
#define CSRF "csrf-token-for-tests"

static ic_err add_session(ic_conn *c, int64_t user, const char *cookie)
{
    char sha[65];
    int64_t id = 0, now = ic_now_us();
    ic_sha256_hex(cookie, strlen(cookie), sha);
    return ic_store_session_insert(c, F.ws_a, user, sha, CSRF, now, now + 24 * HOUR_US, &id);
}

static ic_err seed_inbox(ic_conn *c, void *arg)
{
    (void)arg;
    ic_err e;
    if ((e = ic_store_user_insert(c, F.ws_a, "op@a", "Olga", "operator", "x", &op_a)) ||
        (e = ic_store_user_insert(c, F.ws_b, "op@b", "Bert", "operator", "x", &op_b)) ||
        (e = ic_inbox_label_insert(c, F.ws_a, "vip", NULL, &label_a)) ||
        (e = ic_inbox_label_insert(c, F.ws_b, "vip", NULL, &label_b)) ||
        (e = ic_inbox_team_insert(c, F.ws_a, "Billing", &team_a)) ||
        (e = ic_store_user_insert(c, F.ws_a, "v@a", "Vera", "viewer", "x", &viewer_a)) ||
        (e = ic_store_user_insert(c, F.ws_a, "s@a", "Sam Super", "supervisor", "x", &sup_a)) ||
        (e = add_session(c, viewer_a, COOKIE_VIEWER)) || (e = add_session(c, op_a, COOKIE_OP)) ||
        (e = add_session(c, sup_a, COOKIE_SUP)))
        return e;
    ic_inbox_actor op = {.ws = F.ws_a, .role = IC_ROLE_OPERATOR, .user_id = op_a};
    return ic_inbox_note_add(c, &op, F.conv_alice, "seen @Olga", NULL, &note_a);
}

static int setup_inbox(void **state)
{
    setup(state);
    seed(seed_inbox, NULL);
    api_server_start(ic_api_inbox_routes, ic_api_v1_routes, &inbox_h, &F.port);
    return 0;
}

static int teardown_inbox(void **state)
{
    ic_http_stop(inbox_h, 1000);
    return teardown(state);
}

static json_t *items_of(const resp *r)
{
    return json_object_get(r->json, "items");
}

static resp expect_ok(resp r, long status)
{
    if (r.status != status)
        print_error("status %ld, body %s\n", r.status, ic_buf_cstr(&r.body));
    assert_int_equal(r.status, status);
    return r;
}

/* ---- least roles and masking, per role ---------------------------------------------- */

/* Which roles may call each endpoint: viewer, operator, supervisor, admin
 * (docs/drafts/inbox.md's table, written out independently of the code). */
static const struct {
    const char *method, *pattern;
    int allowed[4];
} ROLE_TABLE[] = {
    {"POST", "/api/v1/conversations/{id}/assign", {0, 1, 1, 1}},
    {"POST", "/api/v1/conversations/{id}/transfer", {0, 1, 1, 1}},
    {"POST", "/api/v1/conversations/{id}/close", {0, 1, 1, 1}},
    {"POST", "/api/v1/conversations/{id}/reopen", {0, 1, 1, 1}},
    {"POST", "/api/v1/conversations/{id}/labels", {0, 1, 1, 1}},
    {"DELETE", "/api/v1/conversations/{id}/labels/{label_id}", {0, 1, 1, 1}},
    {"POST", "/api/v1/conversations/{id}/notes", {0, 1, 1, 1}},
    {"GET", "/api/v1/conversations/{id}/notes", {1, 1, 1, 1}},
    {"GET", "/api/v1/conversations/{id}/events", {1, 1, 1, 1}},
    {"GET", "/api/v1/teams", {1, 1, 1, 1}},
    {"POST", "/api/v1/teams", {0, 0, 0, 1}},
    {"PATCH", "/api/v1/teams/{id}", {0, 0, 0, 1}},
    {"DELETE", "/api/v1/teams/{id}", {0, 0, 0, 1}},
    {"PUT", "/api/v1/teams/{id}/members", {0, 0, 0, 1}},
    {"GET", "/api/v1/labels", {1, 1, 1, 1}},
    {"POST", "/api/v1/labels", {0, 0, 1, 1}},
    {"PATCH", "/api/v1/labels/{id}", {0, 0, 1, 1}},
    {"DELETE", "/api/v1/labels/{id}", {0, 0, 1, 1}},
};

static void test_every_endpoint_states_its_least_role(void **state)
{
    (void)state;
    const ic_role roles[4] = {IC_ROLE_VIEWER, IC_ROLE_OPERATOR, IC_ROLE_SUPERVISOR, IC_ROLE_ADMIN};
    for (size_t i = 0; i < sizeof ROLE_TABLE / sizeof ROLE_TABLE[0]; i++) {
        ic_role least = ic_api_inbox_least_role(ROLE_TABLE[i].method, ROLE_TABLE[i].pattern);
        if (least == IC_ROLE_NONE)
            print_error("%s %s has no role\n", ROLE_TABLE[i].method, ROLE_TABLE[i].pattern);
        assert_int_not_equal(least, IC_ROLE_NONE);
        for (int k = 0; k < 4; k++) {
            ic_principal p = {.ws = F.ws_a, .role = roles[k], .user_id = 7};
            if ((p.role >= least) != ROLE_TABLE[i].allowed[k])
                print_error("%s %s as %s\n", ROLE_TABLE[i].method, ROLE_TABLE[i].pattern,
                            ic_role_name(roles[k]));
            assert_int_equal(p.role >= least, ROLE_TABLE[i].allowed[k]);
            ic_inbox_actor a = ic_api_inbox_actor(&p);
            assert_int_equal(a.ws, F.ws_a);
            assert_int_equal(a.role, roles[k]);
            assert_int_equal(a.user_id, 7);
        }
    }
    assert_int_equal(ic_api_inbox_least_role("GET", "/api/v1/nope"), IC_ROLE_NONE);
    assert_int_equal(ic_api_inbox_least_role(NULL, NULL), IC_ROLE_NONE);
}

static void test_numbers_are_masked_for_viewers_and_operators(void **state)
{
    (void)state;
    const ic_role roles[4] = {IC_ROLE_VIEWER, IC_ROLE_OPERATOR, IC_ROLE_SUPERVISOR, IC_ROLE_ADMIN};
    for (int k = 0; k < 4; k++) {
        json_t *item =
            json_pack("[{s:{s:I, s:s}}]", "contact", "id", (json_int_t)1, "wa_id", "27821234567");
        ic_api_mask_conversations(item, roles[k]);
        json_t *contact = json_object_get(json_array_get(item, 0), "contact");
        bool masked = k < 2;
        assert_string_equal(json_string_value(json_object_get(contact, "wa_id")),
                            masked ? "278******67" : "27821234567");
        assert_int_equal(json_is_true(json_object_get(contact, "wa_id_masked")), masked);
        if (!masked)
            assert_null(json_object_get(contact, "wa_id_masked"));
        json_decref(item);
    }
    /* An API token is an admin: full numbers everywhere, no flag. */
    resp r = expect_ok(call("GET", "/api/v1/contacts", "A", NULL), 200);
    json_t *first = json_array_get(items_of(&r), 0);
    assert_non_null(jstr(first, "wa_id"));
    assert_null(strchr(jstr(first, "wa_id"), '*'));
    assert_null(json_object_get(first, "wa_id_masked"));
    resp_free(&r);
    r = expect_ok(
        call("GET", pathf("/api/v1/conversations/%lld", (long long)F.conv_alice), "A", NULL), 200);
    assert_string_equal(jstr(json_object_get(r.json, "contact"), "wa_id"), "27820000001");
    resp_free(&r);
}

/* ---- lists ---------------------------------------------------------------------------- */

static void test_list_views_and_filters(void **state)
{
    (void)state;
    resp r = expect_ok(call("GET", "/api/v1/conversations?view=all", "A", NULL), 200);
    json_t *items = items_of(&r);
    assert_int_equal(json_array_size(items), 2);
    json_t *it = json_array_get(items, 0);
    assert_int_equal(jint(it, "id"), F.conv_alice); /* the newest */
    assert_true(json_is_array(json_object_get(it, "labels")));
    assert_true(json_is_null(json_object_get(it, "assignee")));
    assert_true(json_is_true(json_object_get(json_object_get(it, "window"), "open")));
    assert_string_equal(jstr(json_object_get(it, "last_message"), "text"), "hello");
    assert_true(json_is_false(
        json_object_get(json_object_get(json_array_get(items, 1), "window"), "open")));
    resp_free(&r);
    /* Paging by one walks both, each once. */
    r = expect_ok(call("GET", "/api/v1/conversations?view=unassigned&limit=1", "A", NULL), 200);
    assert_int_equal(jint(json_array_get(items_of(&r), 0), "id"), F.conv_alice);
    const char *cur = jstr(r.json, "next_cursor");
    assert_non_null(cur);
    char path[200];
    snprintf(path, sizeof path, "/api/v1/conversations?view=unassigned&limit=1&cursor=%s", cur);
    resp_free(&r);
    r = expect_ok(call("GET", path, "A", NULL), 200);
    assert_int_equal(jint(json_array_get(items_of(&r), 0), "id"), F.conv_bob);
    assert_true(json_is_null(json_object_get(r.json, "next_cursor")));
    resp_free(&r);
    /* Filters: q on the number, label, team; B sees only its own. */
    r = expect_ok(call("GET", "/api/v1/conversations?q=0000002", "A", NULL), 200);
    assert_int_equal(json_array_size(items_of(&r)), 1);
    assert_int_equal(jint(json_array_get(items_of(&r), 0), "id"), F.conv_bob);
    resp_free(&r);
    r = expect_ok(
        call("GET", pathf("/api/v1/conversations?label=%lld", (long long)label_a), "A", NULL), 200);
    assert_int_equal(json_array_size(items_of(&r)), 0);
    resp_free(&r);
    r = expect_ok(call("GET", "/api/v1/conversations?view=all", "B", NULL), 200);
    assert_int_equal(json_array_size(items_of(&r)), 1);
    assert_int_equal(jint(json_array_get(items_of(&r), 0), "id"), F.conv_carol);
    resp_free(&r);
    /* Bad input; mine and my_teams need a signed-in user. */
    expect_error(call("GET", "/api/v1/conversations?view=mine", "A", NULL), 400, "bad_request");
    expect_error(call("GET", "/api/v1/conversations?view=my_teams", "A", NULL), 400, "bad_request");
    expect_error(call("GET", "/api/v1/conversations?view=everything", "A", NULL), 400,
                 "bad_request");
    expect_error(call("GET", "/api/v1/conversations?view=all&status=open", "A", NULL), 400,
                 "bad_request");
    expect_error(call("GET", "/api/v1/conversations?label=x", "A", NULL), 400, "bad_request");
    expect_error(call("GET", "/api/v1/conversations?cursor=1.2", "A", NULL), 400, "bad_request");
    expect_error(call("GET", "/api/v1/conversations?limit=0", "A", NULL), 400, "bad_request");
}

/* ---- actions -------------------------------------------------------------------------- */

static resp post(const char *path, const char *who, const char *json)
{
    return call("POST", path, who, json);
}

static void test_actions_write_events(void **state)
{
    (void)state;
    long long c = (long long)F.conv_alice;
    char body[200];
    snprintf(body, sizeof body, "{\"user_id\":%lld,\"team_id\":%lld}", (long long)op_a,
             (long long)team_a);
    resp r = expect_ok(post(pathf("/api/v1/conversations/%lld/assign", c), "A", body), 200);
    assert_int_equal(jint(json_object_get(r.json, "assignee"), "id"), op_a);
    assert_string_equal(jstr(json_object_get(r.json, "team"), "name"), "Billing");
    resp_free(&r);
    r = expect_ok(post(pathf("/api/v1/conversations/%lld/transfer", c), "A",
                       "{\"user_id\":null,\"note\":\"back to the team\"}"),
                  200);
    assert_true(json_is_null(json_object_get(r.json, "assignee")));
    assert_string_equal(jstr(json_object_get(r.json, "team"), "name"), "Billing");
    resp_free(&r);
    snprintf(body, sizeof body, "{\"label_id\":%lld}", (long long)label_a);
    r = expect_ok(post(pathf("/api/v1/conversations/%lld/labels", c), "A", body), 200);
    assert_string_equal(jstr(json_array_get(json_object_get(r.json, "labels"), 0), "name"), "vip");
    resp_free(&r);
    r = expect_ok(call("DELETE",
                       pathf("/api/v1/conversations/%lld/labels/%lld", c, (long long)label_a), "A",
                       NULL),
                  200);
    assert_int_equal(json_array_size(json_object_get(r.json, "labels")), 0);
    resp_free(&r);
    r = expect_ok(post(pathf("/api/v1/conversations/%lld/close", c), "A", NULL), 200);
    assert_string_equal(jstr(r.json, "status"), "closed");
    resp_free(&r);
    r = expect_ok(post(pathf("/api/v1/conversations/%lld/reopen", c), "A", "{}"), 200);
    assert_string_equal(jstr(r.json, "status"), "open");
    resp_free(&r);
    /* The history, newest first. */
    r = expect_ok(call("GET", pathf("/api/v1/conversations/%lld/events", c), "A", NULL), 200);
    const char *kinds[] = {"reopen",   "close",  "label_removed", "label_added",
                           "transfer", "assign", "note"};
    assert_int_equal(json_array_size(items_of(&r)), 7);
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(jstr(json_array_get(items_of(&r), i), "kind"), kinds[i]);
    assert_string_equal(jstr(json_object_get(json_array_get(items_of(&r), 4), "data"), "note"),
                        "back to the team");
    resp_free(&r);
    /* Notes: listed; an API token cannot write one (no author). */
    r = expect_ok(call("GET", pathf("/api/v1/conversations/%lld/notes", c), "A", NULL), 200);
    assert_int_equal(json_array_size(items_of(&r)), 1);
    json_t *n0 = json_array_get(items_of(&r), 0);
    assert_int_equal(jint(n0, "id"), note_a);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(n0, "mentions"), 0)), op_a);
    resp_free(&r);
    expect_error(post(pathf("/api/v1/conversations/%lld/notes", c), "A", "{\"body\":\"hi\"}"), 400,
                 "bad_request");
    /* Bad bodies and targets. */
    expect_error(post(pathf("/api/v1/conversations/%lld/assign", c), "A", "{}"), 400,
                 "bad_request");
    expect_error(post(pathf("/api/v1/conversations/%lld/assign", c), "A", "{\"user\":1}"), 400,
                 "bad_request");
    expect_error(post(pathf("/api/v1/conversations/%lld/assign", c), "A", "{\"user_id\":-3}"), 400,
                 "bad_request");
    expect_error(post(pathf("/api/v1/conversations/%lld/close", c), "A", "{\"why\":1}"), 400,
                 "bad_request");
    snprintf(body, sizeof body, "{\"user_id\":%lld}", (long long)op_b);
    expect_error(post(pathf("/api/v1/conversations/%lld/assign", c), "A", body), 404, "not_found");
    snprintf(body, sizeof body, "{\"label_id\":%lld}", (long long)label_b);
    expect_error(post(pathf("/api/v1/conversations/%lld/labels", c), "A", body), 404, "not_found");
    expect_error(post("/api/v1/conversations/999999/close", "A", NULL), 404, "not_found");
    expect_error(post("/api/v1/conversations/abc/close", "A", NULL), 404, "not_found");
}

static void test_another_workspace_gets_404(void **state)
{
    (void)state;
    long long c = (long long)F.conv_alice;
    char body[200];
    snprintf(body, sizeof body, "{\"user_id\":%lld}", (long long)op_b);
    expect_error(post(pathf("/api/v1/conversations/%lld/assign", c), "B", body), 404, "not_found");
    expect_error(post(pathf("/api/v1/conversations/%lld/transfer", c), "B", body), 404,
                 "not_found");
    expect_error(post(pathf("/api/v1/conversations/%lld/close", c), "B", NULL), 404, "not_found");
    expect_error(post(pathf("/api/v1/conversations/%lld/reopen", c), "B", NULL), 404, "not_found");
    snprintf(body, sizeof body, "{\"label_id\":%lld}", (long long)label_b);
    expect_error(post(pathf("/api/v1/conversations/%lld/labels", c), "B", body), 404, "not_found");
    expect_error(call("DELETE",
                      pathf("/api/v1/conversations/%lld/labels/%lld", c, (long long)label_b), "B",
                      NULL),
                 404, "not_found");
    expect_error(call("GET", pathf("/api/v1/conversations/%lld/notes", c), "B", NULL), 404,
                 "not_found");
    expect_error(call("GET", pathf("/api/v1/conversations/%lld/events", c), "B", NULL), 404,
                 "not_found");
    expect_error(call("GET", pathf("/api/v1/conversations/%lld", c), "B", NULL), 404, "not_found");
    expect_error(
        call("PATCH", pathf("/api/v1/teams/%lld", (long long)team_a), "B", "{\"name\":\"x\"}"), 404,
        "not_found");
    expect_error(call("DELETE", pathf("/api/v1/teams/%lld", (long long)team_a), "B", NULL), 404,
                 "not_found");
    expect_error(call("PUT", pathf("/api/v1/teams/%lld/members", (long long)team_a), "B",
                      "{\"user_ids\":[]}"),
                 404, "not_found");
    expect_error(call("PATCH", pathf("/api/v1/labels/%lld", (long long)label_a), "B",
                      "{\"color\":\"#000000\"}"),
                 404, "not_found");
    expect_error(call("DELETE", pathf("/api/v1/labels/%lld", (long long)label_a), "B", NULL), 404,
                 "not_found");
    /* Nothing happened in A. */
    resp r = expect_ok(call("GET", pathf("/api/v1/conversations/%lld/events", c), "A", NULL), 200);
    assert_int_equal(json_array_size(items_of(&r)), 1); /* the seeded note */
    resp_free(&r);
    /* No token at all. */
    expect_error(call("GET", "/api/v1/teams", NULL, NULL), 401, "unauthorized");
}

/* ---- teams and labels ---------------------------------------------------------------- */

static void test_teams_and_labels_crud(void **state)
{
    (void)state;
    resp r = expect_ok(call("POST", "/api/v1/teams", "A", "{\"name\":\"Sales\"}"), 201);
    int64_t sales = jint(r.json, "id");
    assert_true(json_is_false(json_object_get(r.json, "auto_assign")));
    resp_free(&r);
    expect_error(call("POST", "/api/v1/teams", "A", "{\"name\":\"Sales\"}"), 409, "conflict");
    expect_error(call("POST", "/api/v1/teams", "A", "{}"), 400, "bad_request");
    expect_error(call("POST", "/api/v1/teams", "A", "{\"name\":\"x\",\"color\":\"#fff\"}"), 400,
                 "bad_request");
    r = expect_ok(call("PATCH", pathf("/api/v1/teams/%lld", (long long)sales), "A",
                       "{\"name\":\"Sales ZA\",\"auto_assign\":true}"),
                  200);
    assert_string_equal(jstr(r.json, "name"), "Sales ZA");
    assert_true(json_is_true(json_object_get(r.json, "auto_assign")));
    resp_free(&r);
    char body[100];
    snprintf(body, sizeof body, "{\"user_ids\":[%lld]}", (long long)op_a);
    r = expect_ok(call("PUT", pathf("/api/v1/teams/%lld/members", (long long)sales), "A", body),
                  200);
    assert_int_equal(jint(json_array_get(json_object_get(r.json, "members"), 0), "id"), op_a);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"user_ids\":[%lld]}", (long long)op_b);
    expect_error(call("PUT", pathf("/api/v1/teams/%lld/members", (long long)sales), "A", body), 404,
                 "not_found");
    expect_error(call("PUT", pathf("/api/v1/teams/%lld/members", (long long)sales), "A",
                      "{\"user_ids\":[\"1\"]}"),
                 400, "bad_request");
    r = expect_ok(call("GET", "/api/v1/teams", "A", NULL), 200);
    assert_int_equal(json_array_size(items_of(&r)), 2);
    resp_free(&r);
    r = expect_ok(call("DELETE", pathf("/api/v1/teams/%lld", (long long)sales), "A", NULL), 204);
    resp_free(&r);
    expect_error(call("DELETE", pathf("/api/v1/teams/%lld", (long long)sales), "A", NULL), 404,
                 "not_found");
    /* Labels. */
    r = expect_ok(
        call("POST", "/api/v1/labels", "A", "{\"name\":\"refund\",\"color\":\"#AA00ff\"}"), 201);
    int64_t refund = jint(r.json, "id");
    assert_string_equal(jstr(r.json, "color"), "#AA00ff");
    resp_free(&r);
    expect_error(call("POST", "/api/v1/labels", "A", "{\"name\":\"vip\"}"), 409, "conflict");
    expect_error(call("POST", "/api/v1/labels", "A", "{\"name\":\"x\",\"color\":\"red\"}"), 400,
                 "bad_request");
    r = expect_ok(call("PATCH", pathf("/api/v1/labels/%lld", (long long)refund), "A",
                       "{\"name\":\"refunds\"}"),
                  200);
    assert_string_equal(jstr(r.json, "name"), "refunds");
    assert_string_equal(jstr(r.json, "color"), "#AA00ff");
    resp_free(&r);
    r = expect_ok(call("GET", "/api/v1/labels", "A", NULL), 200);
    assert_int_equal(json_array_size(items_of(&r)), 2);
    resp_free(&r);
    r = expect_ok(call("DELETE", pathf("/api/v1/labels/%lld", (long long)refund), "A", NULL), 204);
    resp_free(&r);
    r = expect_ok(call("GET", "/api/v1/labels", "B", NULL), 200);
    assert_int_equal(json_array_size(items_of(&r)), 1);
    assert_int_equal(jint(json_array_get(items_of(&r), 0), "id"), label_b);
    resp_free(&r);
}

/* ---- signed-in users (sessions) ------------------------------------------------------ */

/* A call as the signed-in user of cookie, with the CSRF token. */
static resp as_user(const char *method, const char *path, const char *cookie, const char *json)
{
    return call_session(method, path, cookie, CSRF, json);
}

static void test_signed_in_users_per_role(void **state)
{
    (void)state;
    long long c = (long long)F.conv_alice;
    char body[200];
    /* A viewer reads, with numbers masked, and may change nothing. */
    resp r = expect_ok(as_user("GET", "/api/v1/conversations?view=all", COOKIE_VIEWER, NULL), 200);
    json_t *contact = json_object_get(json_array_get(items_of(&r), 0), "contact");
    assert_string_equal(jstr(contact, "wa_id"), "278******01");
    assert_true(json_is_true(json_object_get(contact, "wa_id_masked")));
    resp_free(&r);
    r = expect_ok(
        as_user("GET", pathf("/api/v1/contacts/%lld", (long long)F.alice), COOKIE_VIEWER, NULL),
        200);
    assert_string_equal(jstr(r.json, "wa_id"), "278******01");
    resp_free(&r);
    snprintf(body, sizeof body, "{\"user_id\":%lld}", (long long)viewer_a);
    expect_error(
        as_user("POST", pathf("/api/v1/conversations/%lld/assign", c), COOKIE_VIEWER, body), 403,
        "forbidden");
    expect_error(as_user("POST", pathf("/api/v1/conversations/%lld/close", c), COOKIE_VIEWER, NULL),
                 403, "forbidden");
    r = expect_ok(as_user("GET", "/api/v1/teams", COOKIE_VIEWER, NULL), 200);
    resp_free(&r);
    /* An operator takes one for themself, not for others; mine shows it. */
    r = expect_ok(as_user("GET", "/api/v1/conversations?view=mine", COOKIE_OP, NULL), 200);
    assert_int_equal(json_array_size(items_of(&r)), 0);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"user_id\":%lld}", (long long)op_a);
    r = expect_ok(as_user("POST", pathf("/api/v1/conversations/%lld/assign", c), COOKIE_OP, body),
                  200);
    assert_string_equal(jstr(json_object_get(r.json, "contact"), "wa_id"), "278******01");
    resp_free(&r);
    r = expect_ok(as_user("GET", "/api/v1/conversations?view=mine", COOKIE_OP, NULL), 200);
    assert_int_equal(json_array_size(items_of(&r)), 1);
    assert_int_equal(jint(json_array_get(items_of(&r), 0), "id"), F.conv_alice);
    resp_free(&r);
    snprintf(body, sizeof body, "{\"user_id\":%lld}", (long long)sup_a);
    r = as_user("POST", pathf("/api/v1/conversations/%lld/transfer", c), COOKIE_OP, body);
    assert_true(contains(err_msg(&r), "operators may only"));
    expect_error(r, 403, "forbidden");
    r = expect_ok(as_user("POST", pathf("/api/v1/conversations/%lld/notes", c), COOKIE_OP,
                          "{\"body\":\"@sam super please look\"}"),
                  201);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(r.json, "mentions"), 0)),
                     sup_a);
    assert_int_equal(jint(json_object_get(r.json, "author"), "id"), op_a);
    resp_free(&r);
    expect_error(as_user("POST", "/api/v1/labels", COOKIE_OP, "{\"name\":\"x\"}"), 403,
                 "forbidden");
    /* A supervisor sees numbers, assigns anyone's, manages labels, not teams. */
    snprintf(body, sizeof body, "{\"user_id\":%lld,\"note\":\"mine now\"}", (long long)sup_a);
    r = expect_ok(
        as_user("POST", pathf("/api/v1/conversations/%lld/transfer", c), COOKIE_SUP, body), 200);
    assert_string_equal(jstr(json_object_get(r.json, "contact"), "wa_id"), "27820000001");
    assert_null(json_object_get(json_object_get(r.json, "contact"), "wa_id_masked"));
    resp_free(&r);
    expect_error(as_user("POST", pathf("/api/v1/conversations/%lld/close", c), COOKIE_OP, NULL),
                 403, "forbidden");
    r = expect_ok(as_user("POST", "/api/v1/labels", COOKIE_SUP, "{\"name\":\"urgent-ish\"}"), 201);
    resp_free(&r);
    expect_error(as_user("POST", "/api/v1/teams", COOKIE_SUP, "{\"name\":\"x\"}"), 403,
                 "forbidden");
    /* Who did what is in the history. */
    r = expect_ok(
        as_user("GET", pathf("/api/v1/conversations/%lld/events", c), COOKIE_VIEWER, NULL), 200);
    json_t *newest = json_array_get(items_of(&r), 0);
    assert_string_equal(jstr(newest, "kind"), "transfer");
    assert_int_equal(jint(json_object_get(newest, "actor"), "id"), sup_a);
    resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_endpoint_states_its_least_role, setup_inbox,
                                        teardown_inbox),
        cmocka_unit_test_setup_teardown(test_numbers_are_masked_for_viewers_and_operators,
                                        setup_inbox, teardown_inbox),
        cmocka_unit_test_setup_teardown(test_list_views_and_filters, setup_inbox, teardown_inbox),
        cmocka_unit_test_setup_teardown(test_actions_write_events, setup_inbox, teardown_inbox),
        cmocka_unit_test_setup_teardown(test_another_workspace_gets_404, setup_inbox,
                                        teardown_inbox),
        cmocka_unit_test_setup_teardown(test_teams_and_labels_crud, setup_inbox, teardown_inbox),
        cmocka_unit_test_setup_teardown(test_signed_in_users_per_role, setup_inbox, teardown_inbox),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
