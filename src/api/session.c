/* session.c - who a session cookie belongs to, and the signed-in user's own
 * endpoints (sign-out, GET /me, changing one's password); see session.h.
 * Sign-in itself is login.c. */
#include "api/session.h"

#include "api/api.h"
#include "api/json_in.h"
#include "api/session_int.h"
#include "base/alloc.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/time.h"
#include "store/sessions.h"

#include <sodium.h>
#include <string.h>

#define COOKIE_LEN 43 /* 32 bytes in base64url without padding */

static bool b64url_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* The value of the ic_session cookie in a Cookie header, when it has the
 * shape of ours: out gets COOKIE_LEN characters + NUL. */
static bool cookie_value(const char *header, char out[COOKIE_LEN + 1])
{
    const size_t name_len = strlen(IC_SESSION_COOKIE);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == name_len + 1 + COOKIE_LEN &&
            strncmp(p, IC_SESSION_COOKIE "=", name_len + 1) == 0) {
            const char *v = p + name_len + 1;
            bool ok = true;
            for (size_t i = 0; i < COOKIE_LEN && ok; i++)
                ok = b64url_char(v[i]);
            if (ok) {
                memcpy(out, v, COOKIE_LEN);
                out[COOKIE_LEN] = '\0';
                return true;
            }
        }
        p = end;
    }
    return false;
}

/* The valid session of r's cookie in *s. Errors: IC_ERR_AUTH "sign in
 * first", IC_ERR_BUSY or IC_ERR_DB. */
static ic_err find_session(ic_req *r, ic_app *app, ic_session_row *s, ic_errmsg *em)
{
    char cookie[COOKIE_LEN + 1], sha[65];
    if (!cookie_value(ic_req_header(r, "Cookie"), cookie))
        return ic_errf(em, IC_ERR_AUTH,
                       "sign in first (or send an API token: Authorization: Bearer TOKEN)");
    ic_sha256_hex(cookie, COOKIE_LEN, sha);
    sodium_memzero(cookie, sizeof cookie);
    ic_err e = ic_store_session_get(ic_db_thread_conn(app->db), sha, s);
    if (e == IC_OK && !ic_store_session_valid(s, ic_now_us(), IC_SESSION_IDLE_US))
        e = IC_ERR_NOT_FOUND;
    if (e == IC_ERR_NOT_FOUND)
        return ic_errf(em, IC_ERR_AUTH, "sign in first: the session has ended");
    if (e != IC_OK)
        return e == IC_ERR_BUSY ? e : IC_ERR_DB;
    return IC_OK;
}

typedef struct touch_job {
    ic_write_job job;
    int64_t id, now;
} touch_job;

static ic_err touch_apply(ic_conn *tx, ic_write_job *job)
{
    touch_job *t = job->arg;
    return ic_store_session_touch(tx, t->id, t->now);
}

static void touch_done(ic_write_job *job, ic_err result)
{
    (void)result; /* a missed touch is made up by the next request */
    ic_free(job->arg);
}

/* Moves the session's last_seen_us forward at most once a minute, without
 * waiting for the writer. */
static void touch(ic_app *app, const ic_session_row *s)
{
    int64_t now = ic_now_us();
    if (now - s->last_seen_us < IC_SESSION_TOUCH_US || !app->writer)
        return;
    touch_job *t = ic_calloc(1, sizeof *t);
    t->id = s->id;
    t->now = now;
    t->job.apply = touch_apply;
    t->job.done = touch_done;
    t->job.arg = t;
    if (ic_writer_submit(app->writer, &t->job) != IC_OK)
        ic_free(t);
}

static bool changes_state(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

ic_err ic_api_session_principal(ic_req *r, ic_app *app, ic_principal *p, ic_errmsg *em)
{
    ic_session_row s;
    ic_err e = find_session(r, app, &s, em);
    if (e != IC_OK)
        return e;
    if (changes_state(ic_req_method(r))) {
        const char *got = ic_req_header(r, "X-CSRF-Token");
        if (!got || !ic_ct_equal(got, strlen(got), s.csrf, strlen(s.csrf)))
            return ic_errf(em, IC_ERR_FORBIDDEN, "the CSRF token is missing or wrong");
    }
    p->ws = s.ws;
    p->role = ic_role_parse(s.role);
    p->user_id = s.user_id;
    p->session_id = s.id;
    p->token_id = 0;
    touch(app, &s);
    return IC_OK;
}

/* Authorizes r as a signed-in user (any role); API tokens are refused with
 * 403 because they have no user. On failure r has been answered. */
static bool signed_in(ic_req *r, ic_app *app, ic_principal *who)
{
    if (ic_api_authorize(r, app, IC_ROLE_VIEWER, who) != IC_OK)
        return false;
    if (who->session_id == 0) {
        ic_req_error(r, 403, "forbidden", "this is for signed-in users; an API token has no user");
        return false;
    }
    return true;
}

/* ---- GET /api/v1/me ---------------------------------------------------------- */

static void get_me(ic_req *r, void *arg)
{
    ic_app *app = arg;
    ic_principal who;
    ic_session_row s;
    ic_user_row u;
    ic_errmsg em = {{0}};
    if (!signed_in(r, app, &who))
        return;
    ic_err e = find_session(r, app, &s, &em);
    if (e == IC_OK)
        e = ic_store_user_get(ic_db_thread_conn(app->db), who.ws, who.user_id, &u);
    if (e != IC_OK) {
        ic_api_fail(r, e == IC_ERR_NOT_FOUND ? IC_ERR_AUTH : e, &em);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "user", ic_session_user_json(&u));
    json_object_set_new(o, "csrf_token", json_string(s.csrf));
    sodium_memzero(&u, sizeof u);
    ic_req_respond_json(r, 200, o);
}

/* ---- sign-out ---------------------------------------------------------------- */

static ic_err logout_apply(ic_conn *tx, ic_api_job *j)
{
    return ic_store_session_revoke(tx, j->session_id, j->now);
}

static ic_err logout_all_apply(ic_conn *tx, ic_api_job *j)
{
    ic_err e = ic_store_user_end_sessions(tx, j->ws, j->user_id, j->now);
    return e == IC_OK ? ic_store_session_revoke(tx, j->session_id, j->now) : e;
}

/* After a sign-out: the browser's cookie goes too. */
static void clear_cookie(ic_api_write *w)
{
    ic_session_set_cookie(w->r, w->app, NULL);
}

static void sign_out(ic_req *r, ic_app *app, ic_err (*apply)(ic_conn *, ic_api_job *),
                     const char *what)
{
    ic_principal who;
    if (!signed_in(r, app, &who))
        return;
    ic_api_job *j = ic_api_job_new(r, app);
    j->ws = who.ws;
    j->user_id = who.user_id;
    j->session_id = who.session_id;
    j->now = ic_now_us();
    j->w.after = clear_cookie;
    j->apply = apply;
    IC_INFO(what, "rid=%s ws=%lld user=%lld", ic_req_id(r), (long long)who.ws,
            (long long)who.user_id);
    ic_api_write_submit(&j->w);
}

static void logout(ic_req *r, void *arg)
{
    sign_out(r, arg, logout_apply, "api_logout");
}

static void logout_all(ic_req *r, void *arg)
{
    sign_out(r, arg, logout_all_apply, "api_logout_all");
}

/* ---- POST /api/v1/me/password ------------------------------------------------ */

/* The new hash, every other session ended, this one replaced by a new one
 * (created at now, so that it outlives sessions_valid_after_us = now). */
static ic_err password_apply(ic_conn *tx, ic_api_job *j)
{
    ic_err e = ic_store_user_set_password(tx, j->ws, j->user_id, j->hash, j->now);
    if (e == IC_OK)
        e = ic_store_user_end_sessions(tx, j->ws, j->user_id, j->now);
    if (e == IC_OK)
        e = ic_store_session_revoke(tx, j->session_id, j->now);
    if (e == IC_OK)
        e = ic_session_new_store(tx, &j->sess, j->ws, j->user_id, j->now);
    return e;
}

/* After the change: the new session's cookie and CSRF token (204). */
static void password_after(ic_api_write *w)
{
    ic_api_job *j = (ic_api_job *)w;
    ic_session_set_cookie(w->r, w->app, j->sess.cookie);
    ic_req_add_header(w->r, "X-CSRF-Token", j->sess.csrf);
}

static void change_password(ic_req *r, void *arg)
{
    ic_app *app = arg;
    static const char *const keys[] = {"current_password", "new_password", NULL};
    ic_principal who;
    json_t *body = NULL;
    const char *cur = NULL, *neu = NULL;
    ic_user_row u;
    ic_errmsg em = {{0}};
    if (!signed_in(r, app, &who))
        return;
    ic_err e;
    if ((e = ic_api_read_object(r, keys, false, &body, &em)) != IC_OK ||
        (e = ic_api_get_string(body, "current_password", true, IC_PASSWORD_MAX, &cur, &em)) !=
            IC_OK ||
        (e = ic_session_get_password(body, "new_password", &neu, &em)) != IC_OK ||
        (e = ic_store_user_get(ic_db_thread_conn(app->db), who.ws, who.user_id, &u)) != IC_OK) {
        json_decref(body);
        ic_api_fail(r, e, &em);
        return;
    }
    bool ok = ic_password_verify(u.password_hash, cur);
    sodium_memzero(&u, sizeof u);
    if (!ok) {
        json_decref(body);
        ic_req_error(r, 403, "forbidden", "current_password is wrong");
        return;
    }
    ic_api_job *j = ic_api_job_hashed(r, app, neu);
    json_decref(body);
    if (!j)
        return;
    j->ws = who.ws;
    j->user_id = who.user_id;
    j->session_id = who.session_id;
    j->now = ic_now_us();
    ic_session_new_make(&j->sess);
    j->apply = password_apply;
    j->w.after = password_after;
    IC_INFO("api_password_changed", "rid=%s ws=%lld user=%lld", ic_req_id(r), (long long)who.ws,
            (long long)who.user_id);
    ic_api_write_submit(&j->w);
}

void ic_api_session_routes(ic_http *h, ic_app *app)
{
    size_t max = ic_api_json_max_body(app);
    ic_api_login_routes(h, app);
    ic_http_route(h, "POST", "/api/v1/auth/logout", max, logout, app);
    ic_http_route(h, "POST", "/api/v1/auth/logout-all", max, logout_all, app);
    ic_http_route(h, "GET", "/api/v1/me", 0, get_me, app);
    ic_http_route(h, "POST", "/api/v1/me/password", max, change_password, app);
}
