/* sandbox.c - the sandbox phone: staff play a person writing in, to test a
 * set-up and to train new operators, on a channel connected to wa-sim (the
 * WhatsApp simulator, docs/wa-sim.md) instead of Meta.
 *
 *   GET  /api/v1/sandbox?channel_id=N                 (operator+) is it available?
 *   POST /api/v1/sandbox/people/{wa_id}/send?channel_id=N (operator+) the person writes
 *   GET  /api/v1/sandbox/people/{wa_id}/inbox?channel_id=N (operator+) what the person received
 *
 * The simulator's address is the channel's Graph API URL without its last
 * path segment ("http://127.0.0.1:8089/v21.0" -> "http://127.0.0.1:8089");
 * a channel whose Graph URL is Meta's (or has none) has no sandbox. Calls to
 * the simulator run on a short-lived thread each (at most MAX_CALLS at once)
 * with a 5 s timeout, so an HTTP poll thread never waits on them; the
 * request is answered from that thread.
 */
#include "api/api.h"
#include "api/auth.h"
#include "api/json_in.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define MAX_CALLS 8
#define CALL_TIMEOUT_MS 5000L
#define ANSWER_MAX (1024 * 1024)
#define SEND_BODY_MAX (64 * 1024)
#define WA_ID_MAX 40

static atomic_int calls_running;

/* One call to the simulator, owned by its thread. */
typedef struct sim_call {
    ic_req *req;
    char url[512];
    char *body; /* POST body, or NULL for a GET */
    char *answer;
    size_t answer_len;
} sim_call;

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
    sim_call *c = arg;
    size_t len = size * n;
    if (c->answer_len + len > ANSWER_MAX)
        return 0; /* too big: the transfer fails */
    c->answer = ic_realloc(c->answer, c->answer_len + len + 1);
    memcpy(c->answer + c->answer_len, data, len);
    c->answer_len += len;
    c->answer[c->answer_len] = '\0';
    return len;
}

static void *call_main(void *arg)
{
    sim_call *c = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    long status = 0;
    CURLcode rc = CURLE_FAILED_INIT;
    if (h) {
        curl_easy_setopt(h, CURLOPT_URL, c->url);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, CALL_TIMEOUT_MS);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
        if (c->body) {
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
        }
        rc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);
    }
    curl_slist_free_all(headers);
    json_error_t jerr;
    json_t *answer = rc == CURLE_OK && c->answer ? json_loads(c->answer, 0, &jerr) : NULL;
    if (rc != CURLE_OK || !answer) {
        IC_WARN("sandbox_sim_unreachable", "rid=%s curl=%d", ic_req_id(c->req), (int)rc);
        ic_req_add_header(c->req, "Retry-After", "5");
        ic_req_error(c->req, 503, "unavailable", "the WhatsApp simulator did not answer");
        json_decref(answer);
    } else if (status >= 400) {
        json_decref(answer);
        ic_req_error(c->req, status == 404 ? 404 : 400, status == 404 ? "not_found" : "bad_request",
                     "the WhatsApp simulator refused this (HTTP %ld)", status);
    } else {
        ic_req_respond_json(c->req, 200, answer);
    }
    ic_free(c->body);
    ic_free(c->answer);
    ic_free(c);
    atomic_fetch_sub(&calls_running, 1);
    return NULL;
}

/* Starts c on its own thread and defers r; answers 503 when too many calls
 * are running. Takes c. */
static void start_call(ic_req *r, sim_call *c)
{
    if (atomic_fetch_add(&calls_running, 1) >= MAX_CALLS) {
        atomic_fetch_sub(&calls_running, 1);
        ic_free(c->body);
        ic_free(c);
        ic_req_add_header(r, "Retry-After", "1");
        ic_req_error(r, 503, "busy", "too many sandbox calls at once; try again");
        return;
    }
    c->req = r;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    ic_req_defer(r);
    if (pthread_create(&t, &attr, call_main, c) != 0) {
        atomic_fetch_sub(&calls_running, 1);
        ic_free(c->body);
        ic_free(c);
        ic_req_error(r, 503, "busy", "the sandbox call could not start; try again");
    }
    pthread_attr_destroy(&attr);
}

/* The simulator's base URL for the request's channel (?channel_id, or the
 * workspace's first channel) into out, and the channel's phone number id
 * into number. IC_ERR_NOT_FOUND when there is no such channel,
 * IC_ERR_INVALID (em says why) when the channel talks to Meta. */
static ic_err sim_root(ic_req *r, ic_app *app, int64_t ws, char *out, size_t size, char *number,
                       size_t number_size, ic_errmsg *em)
{
    ic_conn *c = ic_db_thread_conn(app->db);
    int64_t channel = 0;
    const char *arg = ic_req_query(r, "channel_id");
    if (arg && ic_api_parse_id(arg, &channel) != IC_OK)
        return ic_errf(em, IC_ERR_INVALID, "channel_id must be a channel's id");
    if (!arg) {
        json_t *all = NULL;
        ic_err e = ic_store_channels_json(c, ws, &all);
        if (e != IC_OK)
            return e;
        json_t *first = json_array_get(all, 0);
        channel = first ? json_integer_value(json_object_get(first, "id")) : 0;
        json_decref(all);
        if (channel <= 0)
            return ic_errf(em, IC_ERR_NOT_FOUND, "this workspace has no channel");
    }
    ic_channel ch;
    ic_err e = ic_store_channel_get(c, ws, channel, &ch);
    if (e != IC_OK)
        return e;
    const char *g = ch.graph_url ? ch.graph_url : "";
    const char *slash = strrchr(g, '/');
    bool simulated = strncmp(g, "http://", 7) == 0 && strstr(g, "facebook.com") == NULL && slash &&
                     slash > g + 7 && (size_t)(slash - g) < size;
    if (simulated) {
        memcpy(out, g, (size_t)(slash - g));
        out[slash - g] = '\0';
        ic_strlcpy(number, ch.phone_number_id ? ch.phone_number_id : "", number_size);
    }
    ic_channel_clear(&ch);
    if (!simulated)
        return ic_errf(
            em, IC_ERR_INVALID,
            "this channel talks to Meta, not to the WhatsApp simulator: it has no sandbox");
    return IC_OK;
}

/* A sandbox person's id: 3..40 digits, or a BSUID-like "CC.digits". */
static bool wa_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 3 || n > WA_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '.'))
            return false;
    return true;
}

/* Authorises r as an operator and finds the simulator; answers and returns
 * false on any failure. */
static bool prepare(ic_req *r, ic_app *app, char *root, size_t root_size, char *number,
                    size_t number_size)
{
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_OPERATOR, &who) != IC_OK)
        return false;
    ic_errmsg em = {{0}};
    ic_err e = sim_root(r, app, who.ws, root, root_size, number, number_size, &em);
    if (e != IC_OK) {
        ic_api_fail(r, e, &em);
        return false;
    }
    return true;
}

static void sandbox_info(ic_req *r, void *arg)
{
    char root[400], number[64];
    if (!prepare(r, arg, root, sizeof root, number, sizeof number))
        return;
    ic_req_respond_json(r, 200, json_pack("{s:b,s:s}", "available", 1, "phone_number_id", number));
}

/* The message kinds a sandbox person may send (wa-sim's descriptions). */
static bool kind_ok(const char *type)
{
    static const char *const kinds[] = {
        "text",     "image",    "audio",        "voice",      "video",    "document", "sticker",
        "location", "contacts", "button_reply", "list_reply", "reaction", "button",   NULL};
    for (int i = 0; type && kinds[i]; i++)
        if (strcmp(type, kinds[i]) == 0)
            return true;
    return false;
}

static void sandbox_send(ic_req *r, void *arg)
{
    ic_app *app = arg;
    char root[400], number[64];
    const char *wa_id = ic_req_param(r, "wa_id");
    if (!prepare(r, app, root, sizeof root, number, sizeof number))
        return;
    ic_errmsg em = {{0}};
    size_t len = 0;
    const char *body = ic_req_body(r, &len);
    json_t *msg = NULL;
    ic_err e = wa_id_ok(wa_id) ? ic_api_parse_object(body, len, &msg, &em)
                               : ic_errf(&em, IC_ERR_INVALID,
                                         "the person's number must be 3 to 40 "
                                         "digits");
    const char *type = NULL;
    if (e == IC_OK && (e = ic_api_get_string(msg, "type", true, 32, &type, &em)) == IC_OK &&
        !kind_ok(type))
        e = ic_errf(&em, IC_ERR_INVALID, "type \"%s\" cannot be sent from the sandbox phone", type);
    if (e != IC_OK) {
        json_decref(msg);
        ic_api_fail(r, e, &em);
        return;
    }
    json_object_set_new(msg, "number", json_string(number));
    json_object_set_new(msg, "retry", json_false());
    sim_call *c = ic_calloc(1, sizeof *c);
    snprintf(c->url, sizeof c->url, "%s/sim/people/%s/send", root, wa_id);
    c->body = ic_api_json_dumps(msg);
    json_decref(msg);
    start_call(r, c);
}

static void sandbox_inbox(ic_req *r, void *arg)
{
    ic_app *app = arg;
    char root[400], number[64];
    const char *wa_id = ic_req_param(r, "wa_id");
    if (!prepare(r, app, root, sizeof root, number, sizeof number))
        return;
    if (!wa_id_ok(wa_id)) {
        ic_req_error(r, 400, "bad_request", "the person's number must be 3 to 40 digits");
        return;
    }
    sim_call *c = ic_calloc(1, sizeof *c);
    snprintf(c->url, sizeof c->url, "%s/sim/people/%s/inbox", root, wa_id);
    start_call(r, c);
}

void ic_api_sandbox_routes(ic_http *h, ic_app *app)
{
    ic_http_route(h, "GET", "/api/v1/sandbox", 0, sandbox_info, app);
    ic_http_route(h, "POST", "/api/v1/sandbox/people/{wa_id}/send", SEND_BODY_MAX, sandbox_send,
                  app);
    ic_http_route(h, "GET", "/api/v1/sandbox/people/{wa_id}/inbox", 0, sandbox_inbox, app);
}
