/* login.c - POST /api/v1/auth/login: an email address and password give a
 * session cookie and its CSRF token.
 *
 * A wrong email or password gets the same 401 after about the same time (an
 * unknown email still checks a password, against a dummy hash). Failures
 * are counted per email address in login_attempts (shared by every node):
 * LOGIN_MAX_FAILURES within LOGIN_WINDOW_US lock the address for
 * LOGIN_LOCK_US (429 with Retry-After); a success forgets them. */
#include "api/api.h"
#include "api/json_in.h"
#include "api/session_int.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"
#include "store/sessions.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define LOGIN_MAX_FAILURES 5
#define LOGIN_WINDOW_US ((int64_t)15 * 60 * 1000000)
#define LOGIN_LOCK_US ((int64_t)15 * 60 * 1000000)
#define MAX_WORKSPACES 10 /* users of one email address looked at */
#define SWEEP_EVERY 256

static const char WRONG[] = "the email address or password is wrong";

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[256];

static void make_dummy(void)
{
    char pw[33];
    ic_random_hex(pw, 16);
    if (ic_password_hash(pw, dummy_hash, sizeof dummy_hash) != IC_OK)
        dummy_hash[0] = '\0';
}

/* Checks password against a hash nobody's password matches: the time an
 * unknown email address takes. */
static void verify_dummy(const char *password)
{
    pthread_once(&dummy_once, make_dummy);
    if (dummy_hash[0])
        (void)ic_password_verify(dummy_hash, password);
}

static void answer_locked(ic_req *r, int64_t until, int64_t now)
{
    char secs[32];
    long long s = (long long)((until - now + 999999) / 1000000);
    snprintf(secs, sizeof secs, "%lld", s < 1 ? 1 : s);
    ic_req_add_header(r, "Retry-After", secs);
    ic_req_error(r, 429, "rate_limited",
                 "too many failed sign-ins for this email address: try again in %lld seconds",
                 s < 1 ? 1 : s);
}

/* ---- the writes ------------------------------------------------------------ */

/* Counts the failure; j->flag (every SWEEP_EVERY-th failure on this node)
 * also deletes the counters that have run out. */
static ic_err failed_apply(ic_conn *tx, ic_api_job *j)
{
    int64_t until = 0;
    ic_err e = ic_store_login_failed(tx, j->key, j->now, LOGIN_WINDOW_US, LOGIN_MAX_FAILURES,
                                     LOGIN_LOCK_US, &until);
    if (e == IC_OK && j->flag)
        e = ic_store_login_sweep(tx, j->now - LOGIN_WINDOW_US, j->now);
    return e;
}

/* A failed sign-in answers 401 whether or not counting it worked. */
static void failed_respond(ic_api_write *w, ic_err result)
{
    if (result != IC_OK && result != IC_ERR_BUSY)
        IC_WARN("api_login_count_failed", "rid=%s err=\"%s\"", ic_req_id(w->r),
                ic_strerror(result));
    ic_errmsg em = {{0}};
    ic_errf(&em, IC_ERR_AUTH, "%s", WRONG);
    ic_api_fail(w->r, IC_ERR_AUTH, &em);
}

/* The new session; the address's failures and the user's dead sessions
 * go. */
static ic_err ok_apply(ic_conn *tx, ic_api_job *j)
{
    ic_err e = ic_store_login_reset(tx, j->key);
    if (e == IC_OK)
        e = ic_store_sessions_forget_dead(tx, j->user_id, j->now, IC_SESSION_IDLE_US,
                                          j->valid_after_us);
    return e == IC_OK ? ic_session_new_store(tx, &j->sess, j->ws, j->user_id, j->now) : e;
}

/* Once signed in: the cookie, and {user, csrf_token} (200). */
static void ok_after(ic_api_write *w)
{
    ic_api_job *j = (ic_api_job *)w;
    IC_INFO("api_login", "rid=%s ws=%lld user=%lld", ic_req_id(w->r), (long long)j->ws,
            (long long)j->user_id);
    ic_session_set_cookie(w->r, w->app, j->sess.cookie);
    w->answer = json_object();
    json_object_set_new(w->answer, "user", json_incref(j->user));
    json_object_set_new(w->answer, "csrf_token", json_string(j->sess.csrf));
}

/* ---- the handler --------------------------------------------------------------- */

/* The users of email (in workspace ws when ws > 0) whose password is
 * password and who are enabled: how many in *n, the first in *match. */
static ic_err check(ic_app *app, const char *email, int64_t ws, const char *password,
                    ic_user_row *match, int *n)
{
    static __thread ic_user_row rows[MAX_WORKSPACES];
    size_t count = 0;
    int checked = 0;
    *n = 0;
    ic_err e =
        ic_store_users_by_email(ic_db_thread_conn(app->db), email, rows, MAX_WORKSPACES, &count);
    for (size_t i = 0; e == IC_OK && i < count; i++) {
        if (ws > 0 && rows[i].ws != ws)
            continue;
        checked++;
        if (ic_password_verify(rows[i].password_hash, password) && rows[i].disabled_us == 0) {
            if ((*n)++ == 0)
                *match = rows[i];
        }
    }
    if (e == IC_OK && checked == 0)
        verify_dummy(password);
    sodium_memzero(rows, sizeof rows);
    return e;
}

static void login(ic_req *r, void *arg)
{
    ic_app *app = arg;
    static const char *const keys[] = {"email", "password", "workspace_id", NULL};
    json_t *body = NULL;
    const char *email = NULL, *password = NULL;
    int64_t ws = 0, locked = 0, now = ic_now_us();
    ic_errmsg em = {{0}};
    ic_err e;
    if ((e = ic_api_read_object(r, keys, false, &body, &em)) != IC_OK ||
        (e = ic_api_get_string(body, "email", true, IC_USER_EMAIL_MAX, &email, &em)) != IC_OK ||
        (e = ic_api_get_string(body, "password", true, IC_PASSWORD_MAX, &password, &em)) != IC_OK ||
        (e = ic_api_get_int(body, "workspace_id", false, 1, INT64_MAX, &ws, &em)) != IC_OK) {
        json_decref(body);
        ic_api_fail(r, e, &em);
        return;
    }
    ic_api_job *j = ic_api_job_new(r, app);
    ic_str_lower_ascii(email, j->email, sizeof j->email);
    snprintf(j->key, sizeof j->key, "email:%s", j->email);
    e = ic_store_login_locked(ic_db_thread_conn(app->db), j->key, now, &locked);
    if (e == IC_OK && locked) {
        IC_INFO("api_login_locked", "rid=%s", ic_req_id(r));
        answer_locked(r, locked, now);
        goto out;
    }
    ic_user_row u;
    int n = 0;
    if (e == IC_OK)
        e = check(app, j->email, ws, password, &u, &n);
    if (e != IC_OK) {
        ic_api_fail(r, e == IC_ERR_BUSY ? e : IC_ERR_DB, NULL);
        goto out;
    }
    if (n > 1) {
        ic_req_error(r, 409, "conflict",
                     "this email address signs in to several workspaces: send workspace_id too");
        goto out;
    }
    j->now = now;
    if (n == 0) {
        IC_INFO("api_login_failed", "rid=%s", ic_req_id(r));
        static atomic_uint failures;
        j->flag = atomic_fetch_add(&failures, 1) % SWEEP_EVERY == SWEEP_EVERY - 1;
        j->apply = failed_apply;
        j->w.respond = failed_respond;
    } else {
        j->ws = u.ws;
        j->user_id = u.id;
        j->valid_after_us = u.sessions_valid_after_us;
        j->user = ic_session_user_json(&u);
        sodium_memzero(&u, sizeof u);
        ic_session_new_make(&j->sess);
        j->apply = ok_apply;
        j->w.after = ok_after;
    }
    json_decref(body);
    ic_api_write_submit(&j->w);
    return;
out:
    json_decref(body);
    ic_api_write_free(&j->w);
}

void ic_api_login_routes(ic_http *h, ic_app *app)
{
    pthread_once(&dummy_once, make_dummy); /* the first unknown address is not slower */
    ic_http_route(h, "POST", "/api/v1/auth/login", ic_api_json_max_body(app), login, app);
}
