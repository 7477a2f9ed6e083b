/* channels.c - GET /api/v1/channels and POST /api/v1/channels (connect a
 * WhatsApp number). Secrets are accepted but never shown again, except a
 * generated verify token, which the 201 answer shows once. */
#include "api/api.h"
#include "api/auth.h"
#include "api/json_in.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/crypto.h"
#include "base/log.h"
#include "wa/sender.h"

#include <string.h>

#define NAME_MAX_CHARS 200
#define ID_MAX_DIGITS 32
#define DISPLAY_MAX 32
#define TOKEN_MAX 4096
#define SECRET_MAX 512
#define VERIFY_MAX 256
#define URL_MAX 512
#define MPS_MIN 80
#define MPS_MAX 1000

static void list_channels(ic_req *r, void *arg)
{
    ic_app *app = arg;
    int64_t ws = 0;
    json_t *items = NULL;
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_VIEWER, &who) != IC_OK)
        return;
    ws = who.ws;
    ic_err e = ic_store_channels_json(ic_db_thread_conn(app->db), ws, &items);
    if (e != IC_OK) {
        ic_api_fail(r, e, NULL);
        return;
    }
    ic_req_respond_json(r, 200, ic_api_list_json(items, 0));
}

/* ---- POST ------------------------------------------------------------------- */

/* A secret goes into HTTP headers and comparisons: printable ASCII, no space. */
static ic_err get_secret(const json_t *body, const char *key, bool required, size_t max,
                         const char **out, ic_errmsg *em)
{
    ic_err e = ic_api_get_string(body, key, required, max, out, em);
    if (e != IC_OK || !*out)
        return e;
    for (const char *p = *out; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return ic_errf(em, IC_ERR_INVALID,
                           "%s must be at most %zu printable ASCII characters without spaces", key,
                           max);
    return IC_OK;
}

static ic_err get_digits(const json_t *body, const char *key, bool required, const char **out,
                         ic_errmsg *em)
{
    json_t *v = json_object_get(body, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return ic_errf(em, IC_ERR_INVALID, "%s is required", key);
        return IC_OK;
    }
    if (!ic_api_is_digits(json_string_value(v), ID_MAX_DIGITS))
        return ic_errf(em, IC_ERR_INVALID, "%s must be a string of 1 to %d digits", key,
                       ID_MAX_DIGITS);
    *out = json_string_value(v);
    return IC_OK;
}

static ic_err get_url(const json_t *body, const char **out, ic_errmsg *em)
{
    ic_err e = get_secret(body, "graph_url", false, URL_MAX, out, em);
    if (e != IC_OK)
        return ic_errf(em, e,
                       "graph_url must be an http:// or https:// URL of at most %d "
                       "characters",
                       URL_MAX);
    if (!*out)
        return IC_OK;
    const char *host = NULL;
    if (strncmp(*out, "https://", 8) == 0)
        host = *out + 8;
    else if (strncmp(*out, "http://", 7) == 0)
        host = *out + 7;
    if (!host || !*host || *host == '/')
        return ic_errf(em, IC_ERR_INVALID,
                       "graph_url must be an http:// or https:// URL of at most %d characters",
                       URL_MAX);
    return IC_OK;
}

/* The URL Meta must call: public_url (or the listen address) + the path. */
static char *webhook_url(const ic_app *app, const char *uuid)
{
    ic_buf b = IC_BUF_INIT;
    const ic_config *cfg = app->cfg;
    if (cfg->public_url && *cfg->public_url) {
        size_t n = strlen(cfg->public_url);
        while (n > 0 && cfg->public_url[n - 1] == '/')
            n--;
        ic_buf_append(&b, cfg->public_url, n);
    } else {
        ic_buf_printf(&b, "http://%s:%d", cfg->listen_addr ? cfg->listen_addr : "127.0.0.1",
                      cfg->port);
    }
    ic_buf_printf(&b, "/webhooks/whatsapp/%s", uuid);
    return ic_buf_steal(&b);
}

typedef struct channel_job {
    ic_write_job job;
    ic_req *r;
    ic_app *app;
    ic_channel ch;
    bool verify_generated;
    json_t *answer;
} channel_job;

static ic_err channel_apply(ic_conn *tx, ic_write_job *job)
{
    channel_job *j = job->arg;
    json_t *all = NULL;
    ic_err e = ic_store_channel_insert(tx, &j->ch);
    if (e != IC_OK)
        goto out;
    /* The answer has the list's shape, so that both read the same. */
    if ((e = ic_store_channels_json(tx, j->ch.workspace_id, &all)) != IC_OK)
        goto out;
    size_t i;
    json_t *item;
    json_array_foreach(all, i, item)
    {
        if (json_integer_value(json_object_get(item, "id")) == j->ch.id) {
            json_decref(j->answer);
            j->answer = json_incref(item);
            break;
        }
    }
    if (!j->answer)
        e = IC_ERR_INTERNAL;
out:
    json_decref(all);
    return e;
}

static void channel_done(ic_write_job *job, ic_err result)
{
    channel_job *j = job->arg;
    if (result == IC_ERR_EXISTS) {
        ic_req_error(j->r, 409, "conflict", "phone_number_id %s is already connected to a channel",
                     j->ch.phone_number_id);
        goto out;
    }
    if (result != IC_OK) {
        ic_api_fail(j->r, result, NULL);
        goto out;
    }
    if (j->app->sender)
        ic_sender_channel_added(j->app->sender, &j->ch);
    IC_INFO("api_channel_added", "rid=%s ws=%lld channel=%lld mps=%d", ic_req_id(j->r),
            (long long)j->ch.workspace_id, (long long)j->ch.id, j->ch.throughput_mps);
    char *url = webhook_url(j->app, j->ch.uuid);
    json_object_set_new(j->answer, "webhook_url", json_string(url));
    ic_free(url);
    if (j->verify_generated)
        json_object_set_new(j->answer, "verify_token", json_string(j->ch.verify_token));
    ic_req_respond_json(j->r, 201, j->answer);
    j->answer = NULL;
out:
    json_decref(j->answer);
    ic_channel_clear(&j->ch);
    ic_free(j);
}

static void create_channel(ic_req *r, void *arg)
{
    ic_app *app = arg;
    static const char *const keys[] = {
        "name",       "phone_number_id", "waba_id",        "display_phone", "access_token",
        "app_secret", "verify_token",    "throughput_mps", "graph_url",     NULL};
    int64_t ws = 0, mps = MPS_MIN;
    json_t *body = NULL;
    const char *name, *pnid, *waba, *display, *token, *secret, *verify, *graph;
    ic_errmsg em = {{0}};
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_ADMIN, &who) != IC_OK)
        return;
    ws = who.ws;
    ic_err e;
    if ((e = ic_api_read_object(r, keys, false, &body, &em)) != IC_OK ||
        (e = ic_api_get_string(body, "name", true, NAME_MAX_CHARS, &name, &em)) != IC_OK ||
        (e = get_digits(body, "phone_number_id", true, &pnid, &em)) != IC_OK ||
        (e = get_digits(body, "waba_id", false, &waba, &em)) != IC_OK ||
        (e = ic_api_get_string(body, "display_phone", false, DISPLAY_MAX, &display, &em)) !=
            IC_OK ||
        (e = get_secret(body, "access_token", true, TOKEN_MAX, &token, &em)) != IC_OK ||
        (e = get_secret(body, "app_secret", true, SECRET_MAX, &secret, &em)) != IC_OK ||
        (e = get_secret(body, "verify_token", false, VERIFY_MAX, &verify, &em)) != IC_OK ||
        (e = ic_api_get_int(body, "throughput_mps", false, MPS_MIN, MPS_MAX, &mps, &em)) != IC_OK ||
        (e = get_url(body, &graph, &em)) != IC_OK) {
        json_decref(body);
        ic_api_fail(r, e, &em);
        return;
    }
    channel_job *j = ic_calloc(1, sizeof *j);
    j->r = r;
    j->app = app;
    j->ch.workspace_id = ws;
    j->ch.name = ic_strdup(name);
    j->ch.phone_number_id = ic_strdup(pnid);
    j->ch.waba_id = ic_strdup(waba);
    j->ch.display_phone = ic_strdup(display);
    j->ch.access_token = ic_strdup(token);
    j->ch.app_secret = ic_strdup(secret);
    j->ch.graph_url = ic_strdup(graph);
    j->ch.throughput_mps = (int)mps;
    if (verify) {
        j->ch.verify_token = ic_strdup(verify);
    } else {
        char gen[33];
        ic_random_hex(gen, 16);
        j->ch.verify_token = ic_strdup(gen);
        j->verify_generated = true;
    }
    json_decref(body);
    j->job.apply = channel_apply;
    j->job.done = channel_done;
    j->job.arg = j;
    ic_req_defer(r);
    e = ic_writer_submit(app->writer, &j->job);
    if (e != IC_OK) {
        ic_channel_clear(&j->ch);
        ic_free(j);
        ic_api_fail(r, e, NULL);
    }
}

void ic_api_channels_routes(ic_http *h, ic_app *app)
{
    ic_http_route(h, "GET", "/api/v1/channels", 0, list_channels, app);
    ic_http_route(h, "POST", "/api/v1/channels", ic_api_json_max_body(app), create_channel, app);
}
