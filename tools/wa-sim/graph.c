/* graph.c - the Graph API endpoints: sends (with the limits and faults that
 * decide their answer), mark-as-read, number info and message templates.
 * Media endpoints are in media.c. */
#include "sim.h"

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/str.h"
#include "base/time.h"

#include <stdio.h>
#include <string.h>

static void unsupported(ic_sim_req *r, const char *method, const char *id)
{
    char msg[256];
    snprintf(msg, sizeof msg,
             "Unsupported %s request. Object with ID '%.64s' does not exist, cannot be loaded due "
             "to missing permissions, or does not support this operation.",
             method, id);
    ic_sim_reply_meta(r, 400, 100, msg);
}

/* Checks the bearer against number n (or any number when n is NULL).
 * Caller holds mu. Answers 401 and returns false when it does not match. */
static bool auth_ok(ic_sim_req *r, ic_sim *s, const ic_sim_number *n)
{
    const char *tok = ic_sim_req_bearer(r);
    bool ok = tok && (n ? ic_ct_equal(tok, strlen(tok), n->token, strlen(n->token))
                        : ic_sim_token_known(s, tok));
    if (!ok) {
        s->stats.unauthorized_401++;
        ic_sim_reply_meta(r, 401, 190, NULL);
    }
    return ok;
}

static void mark_read(ic_sim_req *r, ic_sim *s, const json_t *body)
{
    const char *st = json_string_value(json_object_get(body, "status"));
    const char *mid = json_string_value(json_object_get(body, "message_id"));
    json_t *typing = json_object_get(body, "typing_indicator");
    if (!ic_str_eq(st, "read") || !mid || !*mid ||
        !ic_str_eq(json_string_value(json_object_get(body, "messaging_product")), "whatsapp")) {
        pthread_mutex_lock(&s->mu);
        s->stats.rejected_4xx++;
        pthread_mutex_unlock(&s->mu);
        ic_sim_reply_meta(r, 400, 100,
                          "Mark as read needs messaging_product \"whatsapp\", status \"read\" "
                          "and message_id.");
        return;
    }
    if (typing && !ic_str_eq(json_string_value(json_object_get(typing, "type")), "text")) {
        ic_sim_reply_meta(r, 400, 100, "Param typing_indicator['type'] must be \"text\".");
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->stats.marked_read++;
    pthread_mutex_unlock(&s->mu);
    ic_sim_reply_json(r, 200, json_pack("{s:b}", "success", 1));
}

static void reject(ic_sim_req *r, ic_sim *s, int http, int code, const char *details)
{
    pthread_mutex_lock(&s->mu);
    s->stats.rejected_4xx++;
    pthread_mutex_unlock(&s->mu);
    ic_sim_reply_meta(r, http, code, details);
}

/* Decides and answers one valid send. Caller holds mu. */
static void send_locked(ic_sim_req *r, ic_sim *s, ic_sim_number *n, const json_t *body,
                        const ic_sim_send *snd, const char *category)
{
    int code = 0;
    int64_t mono = ic_mono_us();
    ic_sim_req_delay(r, s->faults.slow_ms);
    switch (ic_sim_fault_pick(s, &code)) {
    case IC_SIM_FAULT_DROP:
        s->stats.dropped++;
        ic_sim_req_drop(r);
        return;
    case IC_SIM_FAULT_500:
        s->stats.failed_5xx++;
        ic_sim_reply_meta(r, 500, code, NULL);
        return;
    case IC_SIM_FAULT_THROTTLE:
        s->stats.throttled_130429++;
        n->throttled++;
        ic_sim_reply_meta(r, 400, 130429, NULL);
        return;
    case IC_SIM_FAULT_NONE:
        break;
    }
    if (ic_sim_ratewin_prune(&n->rate, mono, 1000000) >= (size_t)n->mps) {
        s->stats.throttled_130429++;
        n->throttled++;
        ic_sim_reply_meta(r, 400, 130429, NULL);
        return;
    }
    if (s->cfg.pair_limit && !snd->to_group && !ic_sim_people_pair_ok(s->people, snd->to, mono)) {
        s->stats.pair_limited_131056++;
        ic_sim_reply_meta(r, 400, 131056, NULL);
        return;
    }
    ic_sim_ratewin_push(&n->rate, mono);
    ic_sim_stats_accept(s, n, snd->biz_opaque, mono);
    char wamid[IC_SIM_WAMID_MAX];
    ic_sim_new_wamid(s, wamid, sizeof wamid);
    int64_t now_s = ic_sim_now_s(s);
    bool open = ic_sim_people_window_open(s->people, snd->to, now_s);
    ic_sim_status_spec spec = {n->pnid,
                               wamid,
                               snd->to,
                               snd->biz_opaque,
                               "service",
                               "free_customer_service",
                               false,
                               snd->to_group,
                               snd->is_reaction,
                               0};
    if (snd->is_template) {
        spec.category = category;
        bool free_utility = open && !strcmp(category, "utility");
        spec.pricing_type = free_utility ? "free_customer_service" : "regular";
        spec.billable = !free_utility;
    } else if (s->cfg.window && !open) {
        spec.fail_code = 131047;
        s->stats.window_failed_131047++;
    }
    ic_sim_people_deliver(s->people, snd->to, wamid, n->pnid, ic_sim_dumps(body, NULL), mono,
                          now_s);
    if (spec.fail_code)
        ic_sim_people_status(s->people, snd->to, wamid, IC_SIM_ST_FAILED, spec.fail_code);
    if (s->cfg.statuses)
        ic_sim_webhooks_statuses(s, &spec);
    const char *input = json_string_value(json_object_get(body, "to"));
    json_t *msg = json_pack("{s:s}", "id", wamid);
    if (snd->is_template)
        json_object_set_new(msg, "message_status", json_string("accepted"));
    ic_sim_reply_json(r, 200,
                      json_pack("{s:s, s:[{s:s, s:s}], s:[o]}", "messaging_product", "whatsapp",
                                "contacts", "input", input ? input : snd->to, "wa_id", snd->to,
                                "messages", msg));
}

static void send_messages(ic_sim_req *r, ic_sim *s, const char *pnid)
{
    ic_errmsg em = {{0}};
    json_t *body = NULL;
    bool have_bearer = ic_sim_req_bearer(r) != NULL, ok = false;
    pthread_mutex_lock(&s->mu);
    ic_sim_number *n = ic_sim_number_find(s, pnid);
    if (!have_bearer) {
        s->stats.unauthorized_401++;
        ic_sim_reply_meta(r, 401, 190, NULL);
    } else if (!n) {
        s->stats.rejected_4xx++;
    } else {
        ok = auth_ok(r, s, n);
    }
    pthread_mutex_unlock(&s->mu);
    if (have_bearer && !n)
        unsupported(r, "post", pnid);
    if (!ok)
        return;
    body = ic_sim_req_json(r);
    if (!body) {
        reject(r, s, 400, 100, NULL);
        return;
    }
    if (json_object_get(body, "status")) {
        mark_read(r, s, body);
        goto out;
    }
    ic_sim_send snd;
    int code = ic_sim_validate_send(body, &snd, &em);
    if (code) {
        reject(r, s, 400, code, em.msg);
        goto out;
    }
    const char *category = "utility";
    if (snd.is_template && !s->cfg.any_template) {
        code =
            ic_sim_templates_check(s->templates, json_object_get(body, "template"), &category, &em);
        if (code) {
            reject(r, s, code == 132001 ? 404 : 400, code, em.msg);
            goto out;
        }
    }
    pthread_mutex_lock(&s->mu);
    n = ic_sim_number_find(s, pnid);
    if (n)
        send_locked(r, s, n, body, &snd, category);
    pthread_mutex_unlock(&s->mu);
    if (!n)
        unsupported(r, "post", pnid);
out:
    json_decref(body);
}

static void number_info(ic_sim_req *r, const ic_sim_number *n)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:s}", "id", n->pnid,
                          "display_phone_number", n->display_phone, "verified_name",
                          "wa-sim business", "quality_rating", "GREEN", "code_verification_status",
                          "VERIFIED", "throughput", "level", n->mps > 80 ? "HIGH" : "STANDARD",
                          "whatsapp_business_manager_messaging_limit", "TIER_UNLIMITED");
    ic_sim_reply_json(r, 200, j);
}

void ic_sim_graph_route(ic_sim_req *r, const char *path)
{
    ic_sim *s = ic_sim_req_sim(r);
    const char *method = ic_sim_req_method(r);
    char id[128];
    const char *p = path[0] == '/' ? path + 1 : path;
    const char *slash = strchr(p, '/');
    size_t idlen = slash ? (size_t)(slash - p) : strlen(p);
    const char *rest = slash ? slash : "";
    if (idlen == 0 || idlen >= sizeof id) {
        ic_sim_reply_meta(r, 400, 100, "Unknown path components.");
        return;
    }
    memcpy(id, p, idlen);
    id[idlen] = '\0';
    bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    if (!strcmp(rest, "/messages") && post) {
        send_messages(r, s, id);
        return;
    }
    if (!strcmp(rest, "/media") && post) {
        ic_sim_media_upload(r, id);
        return;
    }
    pthread_mutex_lock(&s->mu);
    bool ok = auth_ok(r, s, NULL);
    ic_sim_number *n = ok ? ic_sim_number_find(s, id) : NULL;
    bool waba = ok && ic_sim_number_by_waba(s, id) != NULL;
    if (ok && n && get && !*rest)
        number_info(r, n);
    pthread_mutex_unlock(&s->mu);
    if (!ok || (n && get && !*rest))
        return;
    if (!strcmp(rest, "/message_templates") && get && waba) {
        ic_sim_reply_json(r, 200, ic_sim_templates_list(s->templates));
        return;
    }
    if (!*rest && get && ic_sim_media_get(r, id))
        return;
    if (!*rest && !strcmp(method, "DELETE") && ic_sim_media_delete(r, id))
        return;
    unsupported(r, get ? "get" : post ? "post" : "delete", id);
}
