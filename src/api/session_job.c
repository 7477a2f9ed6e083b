/* session_job.c - the shared pieces of session_int.h: session secrets,
 * cookies, passwords and the deferred write job. */
#include "api/session_int.h"

#include "api/json_in.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/str.h"
#include "store/sessions.h"

#include <sodium.h>
#include <string.h>

void ic_session_new_make(ic_session_new *s)
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(s->cookie, sizeof s->cookie, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    ic_sha256_hex(s->cookie, strlen(s->cookie), s->sha);
    ic_random_hex(s->csrf, 32);
}

ic_err ic_session_new_store(ic_conn *tx, const ic_session_new *s, int64_t ws, int64_t user_id,
                            int64_t now)
{
    int64_t id = 0;
    return ic_store_session_insert(tx, ws, user_id, s->sha, s->csrf, now,
                                   now + IC_SESSION_ABSOLUTE_US, &id);
}

void ic_session_set_cookie(ic_req *r, const ic_app *app, const char *value)
{
    ic_buf b = IC_BUF_INIT;
    bool secure =
        app->cfg && app->cfg->public_url && ic_str_starts(app->cfg->public_url, "https://");
    ic_buf_printf(&b, "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%lld%s", IC_SESSION_COOKIE,
                  value ? value : "", value ? (long long)(IC_SESSION_ABSOLUTE_US / 1000000) : 0LL,
                  secure ? "; Secure" : "");
    ic_req_add_header(r, "Set-Cookie", ic_buf_cstr(&b));
    ic_buf_free(&b);
}

ic_err ic_session_get_password(const json_t *body, const char *key, const char **out, ic_errmsg *em)
{
    ic_err e = ic_api_get_string(body, key, true, IC_PASSWORD_MAX, out, em);
    if (e == IC_OK && ic_utf8_len(*out) < IC_PASSWORD_MIN)
        e = IC_ERR_INVALID;
    if (e != IC_OK)
        return ic_errf(em, IC_ERR_INVALID, "%s must be a string of %d to %d characters", key,
                       IC_PASSWORD_MIN, IC_PASSWORD_MAX);
    return IC_OK;
}

ic_err ic_session_hash(const char *password, char out[256])
{
    return ic_password_hash(password, out, 256) == IC_OK ? IC_OK : IC_ERR_INTERNAL;
}

json_t *ic_session_user_json(const ic_user_row *u)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(u->id));
    json_object_set_new(o, "name", json_string(u->name));
    json_object_set_new(o, "email", json_string(u->email));
    json_object_set_new(o, "role", json_string(u->role));
    json_object_set_new(o, "workspace_id", json_integer(u->ws));
    return o;
}

/* ---- the deferred write ------------------------------------------------------ */

static ic_err job_run(ic_conn *tx, ic_api_write *w)
{
    ic_api_job *j = (ic_api_job *)w;
    return j->apply(tx, j);
}

static void job_release(ic_api_write *w)
{
    ic_api_job *j = (ic_api_job *)w;
    json_decref(j->user);
    /* hash, session secrets, the email address: nothing stays in freed memory */
    sodium_memzero((char *)j + sizeof j->w, sizeof *j - sizeof j->w);
}

ic_api_job *ic_api_job_new(ic_req *r, ic_app *app)
{
    ic_api_job *j = (ic_api_job *)ic_api_write_new(sizeof *j, r, app, job_run);
    j->w.release = job_release;
    j->change.disabled = -1;
    j->change.capacity = -1;
    return j;
}

ic_api_job *ic_api_job_hashed(ic_req *r, ic_app *app, const char *password)
{
    ic_api_job *j = ic_api_job_new(r, app);
    ic_err e = ic_session_hash(password, j->hash);
    if (e != IC_OK) {
        ic_api_write_free(&j->w);
        ic_api_fail(r, e, NULL);
        return NULL;
    }
    return j;
}
