/* session_int.h - what the sign-in endpoints (session.c, login.c) and the
 * users' admin endpoints (users_api.c) share: session secrets and cookies,
 * password rules, and one deferred write job that answers when it is
 * durable. Not for use outside src/api.
 */
#ifndef IC_API_SESSION_INT_H
#define IC_API_SESSION_INT_H

#include "api/session.h"
#include "api/write_job.h"
#include "store/users.h"

#include <jansson.h>

#define IC_SESSION_IDLE_US ((int64_t)12 * 3600 * 1000000)         /* 12 hours unused */
#define IC_SESSION_ABSOLUTE_US ((int64_t)7 * 24 * 3600 * 1000000) /* 7 days at most */
#define IC_SESSION_TOUCH_US ((int64_t)60 * 1000000) /* last_seen_us moves once a minute */
#define IC_PASSWORD_MIN 10
#define IC_PASSWORD_MAX 200

/* A new session's secrets: the cookie (32 random bytes, base64url without
 * padding: 43 characters), its SHA-256 hex (what the store keeps) and the
 * CSRF token (32 random bytes as 64 hex characters). */
typedef struct ic_session_new {
    char cookie[48];
    char sha[65];
    char csrf[65];
} ic_session_new;

/* Fills s with fresh random secrets (libsodium). */
void ic_session_new_make(ic_session_new *s);

/* Adds the session s of user_id in ws, created at now, to the store (ends
 * IC_SESSION_ABSOLUTE_US after now at the latest). Writer only. */
ic_err ic_session_new_store(ic_conn *tx, const ic_session_new *s, int64_t ws, int64_t user_id,
                            int64_t now);

/* Adds the Set-Cookie header for the session cookie: value, or an emptied
 * cookie that expires at once when value is NULL. HttpOnly, SameSite=Lax,
 * Path=/, Max-Age 7 days, Secure when app's public URL is https://. */
void ic_session_set_cookie(ic_req *r, const ic_app *app, const char *value);

/* Reads member key of body as a password of IC_PASSWORD_MIN..
 * IC_PASSWORD_MAX characters. Errors: IC_ERR_INVALID with em. */
ic_err ic_session_get_password(const json_t *body, const char *key, const char **out,
                               ic_errmsg *em);

/* Hashes password into out (argon2id); IC_ERR_INTERNAL when libsodium
 * cannot (out of memory). Slow on purpose (tens of milliseconds). */
ic_err ic_session_hash(const char *password, char out[256]);

/* {id, name, email, role, workspace_id} of u: what sign-in and GET /me show. */
json_t *ic_session_user_json(const ic_user_row *u);

/* Registers POST /api/v1/auth/login (login.c). */
void ic_api_login_routes(ic_http *h, ic_app *app);

/* ---- a deferred write that answers the request ----------------------------- */

typedef struct ic_api_job ic_api_job;
/* The sign-in and users' endpoints' write (write_job.h): w.answer, w.status,
 * w.em, w.after and w.respond as there; apply is the work. */
struct ic_api_job {
    ic_api_write w; /* first: the job is its block */
    /* The work, on the writer thread; may run twice; may fill w.em for a
     * client error and set w.answer. */
    ic_err (*apply)(ic_conn *tx, ic_api_job *j);
    /* Inputs the endpoints share. */
    int64_t ws, user_id, target_id, session_id, now;
    int64_t valid_after_us; /* the user's sessions_valid_after_us (sign-in) */
    char hash[256];
    ic_session_new sess;
    bool flag; /* the endpoint's own */
    char key[300];
    char email[IC_USER_EMAIL_MAX + 1];
    char name[IC_USER_NAME_MAX * 4 + 1];
    char role[16];
    ic_user_change change;
    json_t *user; /* owned: the signed-in user's json (sign-in) */
};

/* A zeroed job for r (no user change: change.disabled and capacity -1).
 * Submit it with ic_api_write_submit(&j->w) (which takes it), or free it
 * with ic_api_write_free(&j->w); either wipes its secrets. */
ic_api_job *ic_api_job_new(ic_req *r, ic_app *app);

/* ic_api_job_new with hash holding password's hash (ic_session_hash), or
 * NULL after answering r (500) when hashing failed. */
ic_api_job *ic_api_job_hashed(ic_req *r, ic_app *app, const char *password);

#endif
