/* events.c - GET /api/v1/events and POST /api/v1/conversations/{id}/typing
 * (events.h; the hub is http/sse.c, the events core/live.c). */
#include "api/events.h"

#include "api/auth.h"
#include "api/json_in.h"
#include "base/time.h"
#include "core/live.h"
#include "http/sse.h"
#include "store/store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Typing events: at most one per caller per TYPING_INTERVAL_US. Callers are
 * kept in a small direct-mapped table; two callers sharing a slot only make
 * the limit forget one of them (never refuse the wrong one for long). */
#define TYPING_INTERVAL_US 1000000
#define TYPING_SLOTS 4096

typedef struct typing_slot {
    int64_t ws;
    int64_t who; /* user id, or minus the token id */
    int64_t last_us;
} typing_slot;

static pthread_mutex_t typing_mu = PTHREAD_MUTEX_INITIALIZER;
static typing_slot typing[TYPING_SLOTS];

/* True when the caller may send a typing event now (and records it). */
static bool typing_allowed(int64_t ws, int64_t who, int64_t now_us)
{
    uint64_t hsh = ((uint64_t)ws * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)who * 0xC2B2AE3D27D4EB4Full);
    typing_slot *s = &typing[(hsh >> 20) % TYPING_SLOTS];
    bool ok = true;
    pthread_mutex_lock(&typing_mu);
    if (s->ws == ws && s->who == who && now_us - s->last_us < TYPING_INTERVAL_US)
        ok = false;
    else
        *s = (typing_slot){.ws = ws, .who = who, .last_us = now_us};
    pthread_mutex_unlock(&typing_mu);
    return ok;
}

static void get_events(ic_req *r, void *arg)
{
    ic_app *app = arg;
    ic_principal who;
    if (ic_api_authorize(r, app, IC_ROLE_VIEWER, &who) != IC_OK)
        return;
    ic_sse_hub *hub = ic_live_hub(ic_live_for(app));
    const char *last = ic_req_header(r, "Last-Event-ID");
    if (!last)
        last = ic_req_query(r, "last_event_id");
    if (!hub || ic_sse_open(hub, r, who.ws, last) != IC_OK)
        ic_api_fail(r, IC_ERR_BUSY, NULL);
}

static void post_typing(ic_req *r, void *arg)
{
    ic_app *app = arg;
    ic_principal who;
    int64_t id = 0;
    json_t *row = NULL;
    if (ic_api_authorize(r, app, IC_ROLE_OPERATOR, &who) != IC_OK)
        return;
    ic_err e = ic_api_parse_id(ic_req_param(r, "id"), &id) == IC_OK ? IC_OK : IC_ERR_NOT_FOUND;
    if (e == IC_OK)
        e = ic_store_conversation_get(ic_db_thread_conn(app->db), who.ws, id, &row);
    json_decref(row);
    if (e != IC_OK) {
        ic_api_fail(r, e, NULL);
        return;
    }
    int64_t caller = who.user_id ? who.user_id : -who.token_id;
    if (!typing_allowed(who.ws, caller, ic_mono_us())) {
        ic_req_add_header(r, "Retry-After", "1");
        ic_req_error(r, 429, "rate_limited", "at most one typing event per second");
        return;
    }
    json_t *data = json_pack("{s:I,s:o}", "conversation_id", (json_int_t)id, "user_id",
                             who.user_id ? json_integer(who.user_id) : json_null());
    e = ic_live_publish_now(app->bus, who.ws, IC_LIVE_TYPING, data);
    json_decref(data);
    if (e != IC_OK) {
        ic_api_fail(r, e, NULL);
        return;
    }
    ic_req_respond(r, 204, NULL, NULL, 0);
}

/* Registers the routes; see events.h. */
void ic_api_events_routes(ic_http *h, ic_app *app)
{
    ic_http_route(h, "GET", "/api/v1/events", 0, get_events, app);
    ic_http_route(h, "POST", "/api/v1/conversations/{id}/typing", 1024, post_typing, app);
}
