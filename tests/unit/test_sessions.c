/* test_sessions.c - sign-in, sessions and the admin's users endpoints over
 * real HTTP (api_fixture.h), on SQLite or, with IC_TEST_PG_URL, PostgreSQL:
 * the store's session and failed-sign-in functions, cookie flags, expiry
 * (idle, absolute), revocation, sessions_valid_after_us, disabled users,
 * CSRF, lockout, sign-out everywhere, password changes and resets, roles. */
#include "api_fixture.h"

#include "api/session.h"
#include "store/sessions.h"
#include "store/users.h"

#define PASSWORD "correct horse battery"
#define EMAIL_ADMIN "admin@a.example"
#define EMAIL_OP "op@a.example"
#define EMAIL_VIEW "viewer@a.example"
#define EMAIL_B "admin@b.example"
#define EMAIL_SHARED "shared@example.org"
#define MIN_US ((int64_t)60 * 1000000)

static struct {
    ic_http *h; /* the users endpoints (v1.c does not register them yet) */
    int port;
    int64_t admin_a, op_a, view_a, admin_b, shared_a, shared_b;
} U;

/* ---- seeding ------------------------------------------------------------------- */

static ic_err seed_users(ic_conn *c, void *arg)
{
    (void)arg;
    char hash[256], other[256];
    ic_err e;
    if ((e = ic_password_hash(PASSWORD, hash, sizeof hash)) ||
        (e = ic_password_hash("another password!", other, sizeof other)))
        return e;
    if ((e = ic_store_user_insert(c, F.ws_a, EMAIL_ADMIN, "Ann", "admin", hash, &U.admin_a)) ||
        (e = ic_store_user_insert(c, F.ws_a, EMAIL_OP, "Olu", "operator", hash, &U.op_a)) ||
        (e = ic_store_user_insert(c, F.ws_a, EMAIL_VIEW, "Vic", "viewer", hash, &U.view_a)) ||
        (e = ic_store_user_insert(c, F.ws_b, EMAIL_B, "Bea", "admin", hash, &U.admin_b)) ||
        (e = ic_store_user_insert(c, F.ws_a, EMAIL_SHARED, "Sam", "operator", hash, &U.shared_a)) ||
        (e = ic_store_user_insert(c, F.ws_b, EMAIL_SHARED, "Sam", "operator", other, &U.shared_b)))
        return e;
    return IC_OK;
}

static int setup_all(void **state)
{
    int rc = setup(state);
    if (rc)
        return rc;
    seed(seed_users, NULL);
    api_server_start(ic_api_users_routes, NULL, &U.h, &U.port);
    return 0;
}

static int teardown_all(void **state)
{
    ic_http_stop(U.h, 1000);
    return teardown(state);
}

static void sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sql(const char *fmt, ...)
{
    char q[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    assert_int_equal(ic_sql_exec(ic_db_thread_conn(F.db), q), IC_OK);
}

static int64_t sql_i64(const char *q, int64_t id)
{
    int64_t v = -1;
    assert_int_equal(ic_sql_one_i64(ic_db_thread_conn(F.db), q, IC_ARGS(IC_I64(id)), &v), IC_OK);
    return v;
}

/* ---- the client ------------------------------------------------------------------ */

/* A call with s's cookie and CSRF token (each when not empty); the users
 * endpoints go to U.port. */
static resp scall(const char *method, const char *path, const http_session *s, const char *json)
{
    int port = strncmp(path, "/api/v1/users", 13) == 0 ? U.port : F.port;
    http_auth a = http_session_auth(s);
    return http_json(port, method, path, &a, json);
}

/* Signs in (into workspace ws when not 0); the answer's status, *s filled on 200. */
static long login_ws(const char *email, const char *password, int64_t ws, http_session *s)
{
    return http_sign_in(F.port, email, password, ws, s);
}

static http_session signed_in(const char *email)
{
    http_session s;
    assert_int_equal(login_ws(email, PASSWORD, 0, &s), 200);
    return s;
}

static long status_of(resp r)
{
    long st = r.status;
    resp_free(&r);
    return st;
}

/* ---- the store ------------------------------------------------------------------ */

static void test_store_session_validity(void **state)
{
    (void)state;
    int64_t now = 1000 * MIN_US;
    ic_session_row s = {
        .created_us = now - 10 * MIN_US, .last_seen_us = now - MIN_US, .expires_us = now + MIN_US};
    const int64_t idle = 12 * 60 * MIN_US;
    assert_true(ic_store_session_valid(&s, now, idle));
    ic_session_row t = s;
    t.revoked_us = now - 1;
    assert_false(ic_store_session_valid(&t, now, idle));
    t = s;
    t.expires_us = now;
    assert_false(ic_store_session_valid(&t, now, idle));
    t = s;
    t.last_seen_us = now - idle;
    assert_false(ic_store_session_valid(&t, now, idle));
    t = s;
    t.user_disabled_us = 5;
    assert_false(ic_store_session_valid(&t, now, idle));
    t = s;
    t.sessions_valid_after_us = s.created_us + 1;
    assert_false(ic_store_session_valid(&t, now, idle));
    t.sessions_valid_after_us = s.created_us; /* made at that moment: still valid */
    assert_true(ic_store_session_valid(&t, now, idle));
}

typedef struct fail_args {
    const char *key;
    int64_t now, until;
} fail_args;

static ic_err fail_once(ic_conn *c, void *arg)
{
    fail_args *a = arg;
    return ic_store_login_failed(c, a->key, a->now, 15 * MIN_US, 5, 15 * MIN_US, &a->until);
}

static ic_err reset_key(ic_conn *c, void *arg)
{
    return ic_store_login_reset(c, arg);
}

typedef struct sweep_args {
    int64_t start, now;
} sweep_args;

static ic_err sweep(ic_conn *c, void *arg)
{
    sweep_args *a = arg;
    return ic_store_login_sweep(c, a->start, a->now);
}

static void test_store_login_counters(void **state)
{
    (void)state;
    ic_conn *c = ic_db_thread_conn(F.db);
    int64_t t0 = ic_now_us(), until = 0;
    fail_args a = {.key = "email:counter@example.org", .now = t0};
    for (int i = 0; i < 4; i++) {
        seed(fail_once, &a);
        assert_int_equal(a.until, 0);
    }
    assert_int_equal(ic_store_login_locked(c, a.key, t0, &until), IC_OK);
    assert_int_equal(until, 0);
    seed(fail_once, &a); /* the fifth locks */
    assert_int_equal(a.until, t0 + 15 * MIN_US);
    assert_int_equal(ic_store_login_locked(c, a.key, t0 + MIN_US, &until), IC_OK);
    assert_int_equal(until, t0 + 15 * MIN_US);
    assert_int_equal(ic_store_login_locked(c, a.key, t0 + 15 * MIN_US, &until), IC_OK);
    assert_int_equal(until, 0);
    /* Failures further apart than the window never lock. */
    fail_args b = {.key = "email:slow@example.org", .now = t0};
    for (int i = 0; i < 8; i++, b.now += 4 * MIN_US)
        seed(fail_once, &b);
    assert_int_equal(b.until, 0);
    /* A reset forgets them: four more do not lock. */
    b.now = t0;
    seed(reset_key, (void *)"email:counter@example.org");
    a.now = t0 + MIN_US;
    for (int i = 0; i < 4; i++)
        seed(fail_once, &a);
    assert_int_equal(a.until, 0);
    seed(reset_key, (void *)"email:counter@example.org");
    assert_int_equal(ic_store_login_locked(c, "email:never@example.org", t0, &until), IC_OK);
    assert_int_equal(until, 0);
    /* The sweep deletes run-out counters and keeps locks. */
    fail_args old = {.key = "email:old@example.org", .now = t0 - 20 * MIN_US};
    seed(fail_once, &old);
    fail_args lk = {.key = "email:locked@example.org", .now = t0 - 20 * MIN_US};
    for (int i = 0; i < 5; i++)
        seed(fail_once, &lk);
    sweep_args sw = {.start = t0 - 15 * MIN_US, .now = t0 - 10 * MIN_US};
    seed(sweep, &sw);
    int64_t n = -1;
    assert_int_equal(ic_sql_one_i64(c, "SELECT COUNT(*) FROM login_attempts WHERE key = $1",
                                    IC_ARGS(IC_TXT(old.key)), &n),
                     IC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ic_store_login_locked(c, lk.key, t0 - 10 * MIN_US, &until), IC_OK);
    assert_int_equal(until, t0 - 5 * MIN_US);
    sql("DELETE FROM login_attempts");
}

/* ---- sign-in ------------------------------------------------------------------------ */

static void test_login_answer_and_cookie(void **state)
{
    (void)state;
    resp r = scall("POST", "/api/v1/auth/login", NULL,
                   "{\"email\":\"Viewer@A.example\",\"password\":\"" PASSWORD "\"}");
    assert_int_equal(r.status, 200);
    json_t *u = json_object_get(r.json, "user");
    assert_int_equal(jint(u, "id"), U.view_a);
    assert_string_equal(jstr(u, "role"), "viewer");
    assert_string_equal(jstr(u, "email"), EMAIL_VIEW);
    assert_int_equal(jint(u, "workspace_id"), F.ws_a);
    assert_null(json_object_get(u, "password_hash"));
    assert_int_equal(strlen(jstr(r.json, "csrf_token")), 64);
    const char *v = r.set_cookie;
    assert_string_not_equal(v, "");
    assert_true(contains(v, "; HttpOnly"));
    assert_true(contains(v, "; SameSite=Lax"));
    assert_true(contains(v, "; Path=/"));
    assert_true(contains(v, "; Secure")); /* the fixture's public URL is https */
    http_session s = {{0}, {0}};
    http_take_cookie(&r, &s);
    assert_int_equal(strlen(s.cookie), 43);
    /* Only the hash is stored. */
    int64_t n = -1;
    assert_int_equal(ic_sql_one_i64(ic_db_thread_conn(F.db),
                                    "SELECT COUNT(*) FROM sessions WHERE token_sha256 = $1",
                                    IC_ARGS(IC_TXT(s.cookie)), &n),
                     IC_OK);
    assert_int_equal(n, 0);
    resp_free(&r);
    /* The session reads what a viewer may. */
    assert_int_equal(status_of(scall("GET", "/api/v1/contacts", &s, NULL)), 200);
    r = scall("GET", "/api/v1/me", &s, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(jint(json_object_get(r.json, "user"), "id"), U.view_a);
    resp_free(&r);
}

static void test_wrong_email_and_password_look_the_same(void **state)
{
    (void)state;
    resp a = scall("POST", "/api/v1/auth/login", NULL,
                   "{\"email\":\"" EMAIL_OP "\",\"password\":\"wrong password\"}");
    resp b = scall("POST", "/api/v1/auth/login", NULL,
                   "{\"email\":\"nobody@a.example\",\"password\":\"wrong password\"}");
    assert_int_equal(a.status, 401);
    assert_int_equal(b.status, 401);
    assert_string_equal(err_msg(&a), err_msg(&b));
    assert_string_equal(a.set_cookie, "");
    resp_free(&a);
    resp_free(&b);
    expect_error(scall("POST", "/api/v1/auth/login", NULL, "{\"email\":\"x@y\"}"), 400,
                 "bad_request");
    expect_error(scall("POST", "/api/v1/auth/login", NULL,
                       "{\"email\":\"x@y\",\"password\":\"p\",\"extra\":1}"),
                 400, "bad_request");
    sql("DELETE FROM login_attempts");
}

static void test_email_in_two_workspaces(void **state)
{
    (void)state;
    http_session s;
    /* The password matches in A only: A it is. */
    assert_int_equal(login_ws(EMAIL_SHARED, PASSWORD, 0, &s), 200);
    resp r = scall("GET", "/api/v1/me", &s, NULL);
    assert_int_equal(jint(json_object_get(r.json, "user"), "id"), U.shared_a);
    resp_free(&r);
    assert_int_equal(login_ws(EMAIL_SHARED, PASSWORD, F.ws_b, &s), 401);
    /* The same password in both: the caller must choose. */
    sql("UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE id = %lld)"
        " WHERE id = %lld",
        (long long)U.shared_a, (long long)U.shared_b);
    r = scall("POST", "/api/v1/auth/login", NULL,
              "{\"email\":\"" EMAIL_SHARED "\",\"password\":\"" PASSWORD "\"}");
    assert_int_equal(r.status, 409);
    assert_string_equal(err_code(&r), "conflict");
    assert_false(contains(ic_buf_cstr(&r.body), "\"B\""));
    resp_free(&r);
    assert_int_equal(login_ws(EMAIL_SHARED, PASSWORD, F.ws_b, &s), 200);
    r = scall("GET", "/api/v1/me", &s, NULL);
    assert_int_equal(jint(json_object_get(r.json, "user"), "id"), U.shared_b);
    resp_free(&r);
    sql("DELETE FROM login_attempts");
}

static void test_lockout_and_reset_on_success(void **state)
{
    (void)state;
    http_session s;
    for (int i = 0; i < 4; i++)
        assert_int_equal(login_ws(EMAIL_OP, "not the password", 0, &s), 401);
    assert_int_equal(login_ws(EMAIL_OP, PASSWORD, 0, &s), 200); /* forgets the four */
    for (int i = 0; i < 5; i++)
        assert_int_equal(login_ws(EMAIL_OP, "not the password", 0, &s), 401);
    resp r = scall("POST", "/api/v1/auth/login", NULL,
                   "{\"email\":\"" EMAIL_OP "\",\"password\":\"" PASSWORD "\"}");
    assert_int_equal(r.status, 429);
    assert_string_not_equal(r.retry_after, "");
    long secs = strtol(r.retry_after, NULL, 10);
    assert_true(secs > 800 && secs <= 900);
    resp_free(&r);
    /* Other addresses are not locked. */
    assert_int_equal(login_ws(EMAIL_VIEW, PASSWORD, 0, &s), 200);
    sql("DELETE FROM login_attempts");
    assert_int_equal(login_ws(EMAIL_OP, PASSWORD, 0, &s), 200);
}

/* ---- the session ------------------------------------------------------------------------- */

static void test_csrf(void **state)
{
    (void)state;
    http_session s = signed_in(EMAIL_OP);
    http_session none = s, wrong = s;
    none.csrf[0] = '\0';
    wrong.csrf[0] = wrong.csrf[0] == 'a' ? 'b' : 'a';
    const char *path = pathf("/api/v1/conversations/%lld/read", (long long)F.conv_alice);
    int64_t before = count_out(F.ws_a);
    resp r = scall("POST", "/api/v1/auth/logout", &none, "{}");
    assert_int_equal(r.status, 403);
    assert_string_equal(err_msg(&r), "the CSRF token is missing or wrong");
    resp_free(&r);
    expect_error(scall("POST", "/api/v1/auth/logout", &wrong, "{}"), 403, "forbidden");
    expect_error(scall("POST", path, &none, "{}"), 403, "forbidden");
    assert_int_equal(count_out(F.ws_a), before);
    /* GET needs none; the session still works after the refusals. */
    assert_int_equal(status_of(scall("GET", "/api/v1/contacts", &none, NULL)), 200);
    assert_int_equal(status_of(scall("POST", "/api/v1/auth/logout", &s, "{}")), 204);
    expect_error(scall("GET", "/api/v1/contacts", &s, NULL), 401, "unauthorized");
}

static void test_expiry_revocation_and_disabled(void **state)
{
    (void)state;
    int64_t now = ic_now_us();
    http_session s = signed_in(EMAIL_VIEW);
    assert_int_equal(status_of(scall("GET", "/api/v1/me", &s, NULL)), 200);
    /* Idle for 13 hours. */
    sql("UPDATE sessions SET last_seen_us = %lld WHERE revoked_us = 0 AND user_id = %lld",
        (long long)(now - 13 * 60 * MIN_US), (long long)U.view_a);
    expect_error(scall("GET", "/api/v1/me", &s, NULL), 401, "unauthorized");
    /* Past its absolute end. */
    s = signed_in(EMAIL_VIEW);
    sql("UPDATE sessions SET expires_us = %lld WHERE revoked_us = 0 AND user_id = %lld"
        " AND last_seen_us > %lld",
        (long long)(now - 1), (long long)U.view_a, (long long)(now - MIN_US));
    expect_error(scall("GET", "/api/v1/me", &s, NULL), 401, "unauthorized");
    /* Revoked. */
    s = signed_in(EMAIL_VIEW);
    sql("UPDATE sessions SET revoked_us = 1 WHERE user_id = %lld", (long long)U.view_a);
    expect_error(scall("GET", "/api/v1/me", &s, NULL), 401, "unauthorized");
    /* Made before sessions_valid_after_us. */
    s = signed_in(EMAIL_VIEW);
    sql("UPDATE users SET sessions_valid_after_us = %lld WHERE id = %lld",
        (long long)ic_now_us() + 1, (long long)U.view_a);
    expect_error(scall("GET", "/api/v1/me", &s, NULL), 401, "unauthorized");
    /* A disabled user, whose sign-in also fails like a wrong password. */
    s = signed_in(EMAIL_VIEW);
    sql("UPDATE users SET disabled_us = 1 WHERE id = %lld", (long long)U.view_a);
    expect_error(scall("GET", "/api/v1/me", &s, NULL), 401, "unauthorized");
    assert_int_equal(login_ws(EMAIL_VIEW, PASSWORD, 0, &s), 401);
    sql("UPDATE users SET disabled_us = 0 WHERE id = %lld", (long long)U.view_a);
    sql("DELETE FROM login_attempts");
    /* Junk cookies. */
    http_session junk = {"not-a-session", ""};
    expect_error(scall("GET", "/api/v1/me", &junk, NULL), 401, "unauthorized");
    snprintf(junk.cookie, sizeof junk.cookie, "%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    expect_error(scall("GET", "/api/v1/me", &junk, NULL), 401, "unauthorized");
}

static void test_last_seen_moves_at_most_once_a_minute(void **state)
{
    (void)state;
    http_session s = signed_in(EMAIL_ADMIN);
    resp r = scall("GET", "/api/v1/me", &s, NULL);
    int64_t sid = 0;
    char sha[65];
    ic_sha256_hex(s.cookie, strlen(s.cookie), sha);
    assert_int_equal(ic_sql_one_i64(ic_db_thread_conn(F.db),
                                    "SELECT id FROM sessions WHERE token_sha256 = $1",
                                    IC_ARGS(IC_TXT(sha)), &sid),
                     IC_OK);
    resp_free(&r);
    int64_t seen = sql_i64("SELECT last_seen_us FROM sessions WHERE id = $1", sid);
    assert_int_equal(status_of(scall("GET", "/api/v1/me", &s, NULL)), 200);
    assert_int_equal(sql_i64("SELECT last_seen_us FROM sessions WHERE id = $1", sid), seen);
    int64_t old = ic_now_us() - 2 * MIN_US;
    sql("UPDATE sessions SET last_seen_us = %lld WHERE id = %lld", (long long)old, (long long)sid);
    assert_int_equal(status_of(scall("GET", "/api/v1/me", &s, NULL)), 200);
    for (int i = 0;
         i < 200 && sql_i64("SELECT last_seen_us FROM sessions WHERE id = $1", sid) == old; i++)
        ic_sleep_us(10000);
    assert_true(sql_i64("SELECT last_seen_us FROM sessions WHERE id = $1", sid) > old);
}

static void test_roles_and_tenancy(void **state)
{
    (void)state;
    http_session v = signed_in(EMAIL_VIEW);
    char body[200];
    snprintf(body, sizeof body, "{\"type\":\"text\",\"text\":{\"body\":\"hi\"}}");
    int64_t before = count_out(F.ws_a);
    expect_error(scall("POST",
                       pathf("/api/v1/conversations/%lld/messages", (long long)F.conv_alice), &v,
                       body),
                 403, "forbidden");
    assert_int_equal(count_out(F.ws_a), before);
    expect_error(scall("GET", "/api/v1/users", &v, NULL), 403, "forbidden");
    /* B's admin does not see A's conversation. */
    http_session b = signed_in(EMAIL_B);
    expect_error(
        scall("GET", pathf("/api/v1/conversations/%lld", (long long)F.conv_alice), &b, NULL), 404,
        "not_found");
    assert_int_equal(
        status_of(
            scall("GET", pathf("/api/v1/conversations/%lld", (long long)F.conv_alice), &v, NULL)),
        200);
    /* A token has no user: /me is refused. */
    expect_error(call("GET", "/api/v1/me", "A", NULL), 403, "forbidden");
}

static void test_logout_all_and_password_change(void **state)
{
    (void)state;
    http_session one = signed_in(EMAIL_OP), two = signed_in(EMAIL_OP);
    assert_int_equal(status_of(scall("POST", "/api/v1/auth/logout-all", &one, "{}")), 204);
    expect_error(scall("GET", "/api/v1/me", &one, NULL), 401, "unauthorized");
    expect_error(scall("GET", "/api/v1/me", &two, NULL), 401, "unauthorized");

    one = signed_in(EMAIL_OP);
    two = signed_in(EMAIL_OP);
    expect_error(scall("POST", "/api/v1/me/password", &one,
                       "{\"current_password\":\"wrong one!\",\"new_password\":\"a new password\"}"),
                 403, "forbidden");
    expect_error(scall("POST", "/api/v1/me/password", &one,
                       "{\"current_password\":\"" PASSWORD "\",\"new_password\":\"short\"}"),
                 400, "bad_request");
    resp r = scall("POST", "/api/v1/me/password", &one,
                   "{\"current_password\":\"" PASSWORD "\",\"new_password\":\"a new password\"}");
    assert_int_equal(r.status, 204);
    http_session fresh = {{0}, {0}};
    http_take_cookie(&r, &fresh);
    assert_string_not_equal(r.csrf_token, "");
    snprintf(fresh.csrf, sizeof fresh.csrf, "%s", r.csrf_token);
    assert_string_not_equal(fresh.cookie, one.cookie);
    resp_free(&r);
    expect_error(scall("GET", "/api/v1/me", &two, NULL), 401, "unauthorized");
    expect_error(scall("GET", "/api/v1/me", &one, NULL), 401, "unauthorized");
    r = scall("GET", "/api/v1/me", &fresh, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "csrf_token"), fresh.csrf);
    resp_free(&r);
    http_session s;
    assert_int_equal(login_ws(EMAIL_OP, PASSWORD, 0, &s), 401);
    assert_int_equal(login_ws(EMAIL_OP, "a new password", 0, &s), 200);
    sql("DELETE FROM login_attempts");
    /* That sign-in deleted the user's dead sessions: two remain (fresh, s). */
    assert_int_equal(sql_i64("SELECT COUNT(*) FROM sessions WHERE user_id = $1", U.op_a), 2);
}

/* ---- the admin's users endpoints --------------------------------------------------------- */

static void test_users_admin(void **state)
{
    (void)state;
    http_session a = signed_in(EMAIL_ADMIN);
    resp r = scall("GET", "/api/v1/users", &a, NULL);
    assert_int_equal(r.status, 200);
    json_t *items = json_object_get(r.json, "items");
    assert_true(json_array_size(items) >= 4);
    assert_false(contains(ic_buf_cstr(&r.body), "argon2"));
    assert_false(contains(ic_buf_cstr(&r.body), EMAIL_B));
    resp_free(&r);

    r = scall("POST", "/api/v1/users", &a,
              "{\"email\":\"New@A.example\",\"name\":\"Nia\",\"role\":\"supervisor\","
              "\"password\":\"new user password\"}");
    assert_int_equal(r.status, 201);
    int64_t nia = jint(r.json, "id");
    assert_string_equal(jstr(r.json, "email"), "new@a.example");
    assert_string_equal(jstr(r.json, "role"), "supervisor");
    assert_false(json_is_true(json_object_get(r.json, "disabled")));
    resp_free(&r);
    expect_error(scall("POST", "/api/v1/users", &a,
                       "{\"email\":\"new@a.example\",\"role\":\"viewer\","
                       "\"password\":\"new user password\"}"),
                 409, "conflict");
    expect_error(scall("POST", "/api/v1/users", &a,
                       "{\"email\":\"x@a.example\",\"role\":\"boss\",\"password\":\"0123456789\"}"),
                 400, "bad_request");
    expect_error(
        scall("POST", "/api/v1/users", &a,
              "{\"email\":\"no-at-sign\",\"role\":\"viewer\",\"password\":\"0123456789\"}"),
        400, "bad_request");

    /* PATCH: role, capacity, disabled; bounds; self; another workspace. */
    char p[64];
    snprintf(p, sizeof p, "/api/v1/users/%lld", (long long)nia);
    r = scall("PATCH", p, &a, "{\"role\":\"operator\",\"capacity\":25,\"name\":\"Nia N\"}");
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(r.json, "role"), "operator");
    assert_int_equal(jint(r.json, "capacity"), 25);
    assert_string_equal(jstr(r.json, "name"), "Nia N");
    resp_free(&r);
    expect_error(scall("PATCH", p, &a, "{\"capacity\":101}"), 400, "bad_request");
    expect_error(scall("PATCH", p, &a, "{\"disabled\":\"yes\"}"), 400, "bad_request");
    const char *self = pathf("/api/v1/users/%lld", (long long)U.admin_a);
    expect_error(scall("PATCH", self, &a, "{\"role\":\"viewer\"}"), 409, "conflict");
    expect_error(scall("PATCH", self, &a, "{\"disabled\":true}"), 409, "conflict");
    assert_int_equal(status_of(scall("PATCH", self, &a, "{\"capacity\":5}")), 200);
    expect_error(
        scall("PATCH", pathf("/api/v1/users/%lld", (long long)U.admin_b), &a, "{\"name\":\"x\"}"),
        404, "not_found");
    expect_error(scall("PATCH", "/api/v1/users/abc", &a, "{}"), 404, "not_found");
    http_session nia_s;
    assert_int_equal(login_ws("new@a.example", "new user password", 0, &nia_s), 200);
    r = scall("PATCH", p, &a, "{\"disabled\":true}");
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "disabled")));
    resp_free(&r);
    expect_error(scall("GET", "/api/v1/me", &nia_s, NULL), 401, "unauthorized");
    assert_int_equal(status_of(scall("PATCH", p, &a, "{\"disabled\":false}")), 200);

    /* An admin's reset ends the user's sessions; another workspace's is 404. */
    assert_int_equal(login_ws("new@a.example", "new user password", 0, &nia_s), 200);
    const char *rp = pathf("/api/v1/users/%lld/password", (long long)nia);
    expect_error(scall("POST", rp, &a, "{\"new_password\":\"short\"}"), 400, "bad_request");
    assert_int_equal(status_of(scall("POST", rp, &a, "{\"new_password\":\"reset password 1\"}")),
                     204);
    expect_error(scall("GET", "/api/v1/me", &nia_s, NULL), 401, "unauthorized");
    assert_int_equal(login_ws("new@a.example", "reset password 1", 0, &nia_s), 200);
    expect_error(scall("POST", pathf("/api/v1/users/%lld/password", (long long)U.admin_b), &a,
                       "{\"new_password\":\"reset password 1\"}"),
                 404, "not_found");
    /* Non-admins are refused. */
    expect_error(scall("PATCH", p, &nia_s, "{\"capacity\":1}"), 403, "forbidden");
    sql("DELETE FROM login_attempts");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_session_validity),
        cmocka_unit_test(test_store_login_counters),
        cmocka_unit_test(test_login_answer_and_cookie),
        cmocka_unit_test(test_wrong_email_and_password_look_the_same),
        cmocka_unit_test(test_email_in_two_workspaces),
        cmocka_unit_test(test_lockout_and_reset_on_success),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_expiry_revocation_and_disabled),
        cmocka_unit_test(test_last_seen_moves_at_most_once_a_minute),
        cmocka_unit_test(test_roles_and_tenancy),
        cmocka_unit_test(test_logout_all_and_password_change),
        cmocka_unit_test(test_users_admin),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
