/* inbound.c - simulated people writing in: POST /sim/people/{wa_id}/send
 * builds Meta's exact webhook payload for any inbound type, signs it and
 * delivers it to the number's webhook, answering once the webhook answered.
 * POST /sim/raw-webhook delivers any body with a good, bad or no signature. */
#include "sim.h"

#include "base/alloc.h"
#include "base/log.h"
#include "base/str.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

typedef struct pending {
    ic_sim_req *req;
    ic_sim *sim;
    char wamid[IC_SIM_WAMID_MAX];
    char media_id[32];
    bool report_response;
} pending;

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *jstr_or(const json_t *o, const char *key, const char *def)
{
    const char *v = jstr(o, key);
    return v ? v : def;
}

/* Called on the webhook thread once the first delivery attempt ended. */
static void on_delivered(void *arg, long http_status, const char *resp, size_t resp_len)
{
    pending *p = arg;
    bool ack = http_status == 200;
    json_t *j =
        json_pack("{s:I, s:b}", "http_status", (json_int_t)http_status, "acknowledged", ack);
    if (p->wamid[0])
        json_object_set_new(j, "id", json_string(p->wamid));
    if (p->media_id[0])
        json_object_set_new(j, "media_id", json_string(p->media_id));
    if (p->report_response)
        json_object_set_new(j, "response", json_stringn_nocheck(resp, resp_len));
    if (ack && p->wamid[0]) {
        pthread_mutex_lock(&p->sim->mu);
        p->sim->stats.inbound_acknowledged++;
        pthread_mutex_unlock(&p->sim->mu);
    }
    ic_sim_reply_json(p->req, 200, j);
    ic_sim_req_resume(p->req);
    ic_free(p);
}

/* Delivers body (stolen) and answers r when the webhook answered. */
static void deliver(ic_sim_req *r, const ic_sim_target *t, char *body, size_t len, const char *sig,
                    bool retry, pending *p)
{
    if (!t->webhook_url[0]) {
        ic_free(body);
        p->req = r;
        json_t *j = json_pack("{s:i, s:b, s:s}", "http_status", 0, "acknowledged", 0, "error",
                              "the number has no webhook_url");
        if (p->wamid[0])
            json_object_set_new(j, "id", json_string(p->wamid));
        ic_sim_reply_json(r, 200, j);
        ic_free(p);
        return;
    }
    p->req = r;
    ic_sim_req_defer(r);
    if (ic_sim_webhooks_sync(p->sim->wh, t, body, len, sig, retry, on_delivered, p) != IC_OK) {
        ic_free(p);
        ic_sim_reply_sim_error(r, 503, "wa-sim is stopping");
        ic_sim_req_resume(r);
    }
}

/* ---- building the message ------------------------------------------------- */

static bool wa_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 40)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.')
            return false;
    return true;
}

static json_t *default_contacts(void)
{
    return json_pack("[{s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s}]}]", "name", "formatted_name",
                     "Thandi Nkosi", "first_name", "Thandi", "last_name", "Nkosi", "phones",
                     "phone", "+27 82 555 0123", "type", "CELL", "wa_id", "27825550123");
}

/* Copies an optional member of desc into o when present. */
static void copy_opt(json_t *o, const json_t *desc, const char *key)
{
    json_t *v = json_object_get(desc, key);
    if (v && !json_is_null(v))
        json_object_set(o, key, v);
}

static bool is_media(const char *t)
{
    return !strcmp(t, "image") || !strcmp(t, "audio") || !strcmp(t, "voice") ||
           !strcmp(t, "video") || !strcmp(t, "document") || !strcmp(t, "sticker");
}

/* Sets msg's "type" and its object from desc; registers sample media.
 * Returns an error sentence or NULL. */
static const char *build_body(ic_sim *s, const json_t *desc, const char *type, const char *pnid,
                              json_t *msg, pending *p)
{
    json_t *obj = NULL;
    const char *mtype = type;
    if (!strcmp(type, "text")) {
        const char *body = jstr(desc, "text") ? jstr(desc, "text") : jstr(desc, "body");
        if (!body)
            return "a text message needs \"text\"";
        obj = json_pack("{s:s}", "body", body);
    } else if (is_media(type)) {
        json_t *size = json_object_get(desc, "size");
        if (size && (!json_is_integer(size) || json_integer_value(size) < 1))
            return "size must be a positive integer";
        ic_sim_media_info info;
        if (ic_sim_media_add_sample(s, type, jstr(desc, "mime_type"),
                                    size ? (size_t)json_integer_value(size) : 0, pnid,
                                    &info) != IC_OK)
            return "size is over 100 MB (WhatsApp sends error 131052 instead)";
        ic_strlcpy(p->media_id, info.id, sizeof p->media_id);
        char url[512];
        ic_sim_media_url(s, info.id, url, sizeof url);
        obj = json_object();
        if (strcmp(type, "audio") && strcmp(type, "voice") && strcmp(type, "sticker"))
            copy_opt(obj, desc, "caption");
        if (!strcmp(type, "document"))
            json_object_set_new(obj, "filename",
                                json_string(jstr_or(desc, "filename", "document.pdf")));
        json_object_set_new(obj, "mime_type", json_string(info.mime));
        json_object_set_new(obj, "sha256", json_string(info.sha256));
        json_object_set_new(obj, "id", json_string(info.id));
        json_object_set_new(obj, "url", json_string(url));
        if (!strcmp(type, "sticker"))
            json_object_set_new(obj, "animated", json_false());
        if (!strcmp(type, "voice") || !strcmp(type, "audio"))
            json_object_set_new(obj, "voice", json_boolean(!strcmp(type, "voice")));
        if (!strcmp(type, "voice"))
            mtype = "audio";
    } else if (!strcmp(type, "location")) {
        json_t *lat = json_object_get(desc, "latitude"), *lon = json_object_get(desc, "longitude");
        if ((lat && !json_is_number(lat)) || (lon && !json_is_number(lon)))
            return "latitude and longitude must be numbers";
        obj = json_pack("{s:f, s:f}", "latitude", lat ? json_number_value(lat) : -33.9249,
                        "longitude", lon ? json_number_value(lon) : 18.4241);
        copy_opt(obj, desc, "name");
        copy_opt(obj, desc, "address");
        copy_opt(obj, desc, "url");
    } else if (!strcmp(type, "contacts")) {
        json_t *cs = json_object_get(desc, "contacts");
        if (cs && !json_is_array(cs))
            return "contacts must be an array";
        obj = cs ? json_incref(cs) : default_contacts();
    } else if (!strcmp(type, "interactive")) {
        json_t *it = json_object_get(desc, "interactive");
        if (!json_is_object(it))
            return "type interactive needs an \"interactive\" object (or use button_reply, "
                   "list_reply, nfm_reply)";
        obj = json_incref(it);
    } else if (!strcmp(type, "button_reply") || !strcmp(type, "list_reply")) {
        const char *title = jstr(desc, "title");
        if (!title)
            return "a reply needs \"title\"";
        json_t *reply =
            json_pack("{s:s, s:s}", "id", jstr_or(desc, "reply_id", title), "title", title);
        if (!strcmp(type, "list_reply"))
            copy_opt(reply, desc, "description");
        obj = json_pack("{s:s, s:o}", "type", type, type, reply);
        mtype = "interactive";
    } else if (!strcmp(type, "nfm_reply")) {
        json_t *rj = json_object_get(desc, "response_json");
        char *text = json_is_string(rj) ? ic_strdup(json_string_value(rj))
                     : rj               ? ic_sim_dumps(rj, NULL)
                                        : ic_strdup("{\"flow_token\":\"unused\"}");
        obj = json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "nfm_reply", "nfm_reply", "name",
                        jstr_or(desc, "name_flow", "flow"), "body", jstr_or(desc, "body", "Sent"),
                        "response_json", text ? text : "{}");
        ic_free(text);
        mtype = "interactive";
    } else if (!strcmp(type, "button")) {
        const char *text = jstr(desc, "text");
        if (!text)
            return "a button message needs \"text\"";
        obj = json_pack("{s:s, s:s}", "payload", jstr_or(desc, "payload", text), "text", text);
    } else if (!strcmp(type, "reaction")) {
        const char *mid = jstr(desc, "message_id");
        if (!mid)
            return "a reaction needs \"message_id\"";
        obj = json_pack("{s:s}", "message_id", mid);
        copy_opt(obj, desc, "emoji");
    } else if (!strcmp(type, "order")) {
        json_t *items = json_object_get(desc, "product_items");
        obj = json_pack("{s:s}", "catalog_id", jstr_or(desc, "catalog_id", "sim-catalog"));
        copy_opt(obj, desc, "text");
        json_object_set_new(obj, "product_items",
                            json_is_array(items)
                                ? json_incref(items)
                                : json_pack("[{s:s, s:i, s:i, s:s}]", "product_retailer_id",
                                            "sku-1", "quantity", 1, "item_price", 10, "currency",
                                            "USD"));
    } else if (!strcmp(type, "system")) {
        const char *nw = jstr_or(desc, "new_wa_id", "27825550199");
        char body[200];
        snprintf(body, sizeof body, "User %.60s changed from %.40s to %.40s",
                 jstr_or(desc, "name", "Sim Person"), jstr(msg, "from") ? jstr(msg, "from") : "",
                 nw);
        obj = json_pack("{s:s, s:s, s:s}", "body", jstr_or(desc, "body", body), "wa_id", nw, "type",
                        jstr_or(desc, "system_type", "user_changed_number"));
    } else if (!strcmp(type, "unsupported")) {
        json_object_set_new(msg, "errors",
                            json_pack("[{s:i, s:s, s:s, s:{s:s}}]", "code", 131051, "title",
                                      "Message type unknown", "message", "Message type unknown",
                                      "error_data", "details",
                                      "Message type is currently not supported."));
        obj = json_pack("{s:s}", "type", jstr_or(desc, "unsupported_type", "edit"));
    } else {
        return "unknown type (see docs/wa-sim.md for the list)";
    }
    json_object_set_new(msg, "type", json_string(mtype));
    json_object_set_new(msg, mtype, obj);
    return NULL;
}

/* Builds the whole webhook document for one inbound message. */
static const char *build_payload(ic_sim *s, const json_t *desc, const char *wa_id,
                                 const ic_sim_target *t, int64_t ts, json_t **out, pending *p)
{
    const char *type = jstr_or(desc, "type", "text");
    bool bsuid = strchr(wa_id, '.') != NULL;
    json_t *msg = json_object();
    json_t *ctxd = json_object_get(desc, "context");
    bool fwd = json_is_true(json_object_get(desc, "forwarded"));
    bool ffwd = json_is_true(json_object_get(desc, "frequently_forwarded"));
    if (ctxd || fwd || ffwd) {
        json_t *ctx = json_object();
        if (ctxd) {
            const char *cid = jstr(ctxd, "id");
            if (!cid) {
                json_decref(ctx);
                json_decref(msg);
                return "context must be {\"id\": \"<wamid>\"}";
            }
            json_object_set_new(ctx, "from", json_string(t->display_phone));
            json_object_set_new(ctx, "id", json_string(cid));
        }
        if (fwd)
            json_object_set_new(ctx, "forwarded", json_true());
        if (ffwd)
            json_object_set_new(ctx, "frequently_forwarded", json_true());
        json_object_set_new(msg, "context", ctx);
    }
    json_object_set_new(msg, bsuid ? "from_user_id" : "from", json_string(wa_id));
    json_object_set_new(msg, "id", json_string(p->wamid));
    char tsbuf[24];
    snprintf(tsbuf, sizeof tsbuf, "%lld", (long long)ts);
    json_object_set_new(msg, "timestamp", json_string(tsbuf));
    const char *gid = jstr(desc, "group_id");
    if (gid)
        json_object_set_new(msg, "group_id", json_string(gid));
    const char *err = build_body(s, desc, type, t->pnid, msg, p);
    if (err) {
        json_decref(msg);
        return err;
    }
    copy_opt(msg, desc, "referral");
    json_t *value = json_pack("{s:s, s:{s:s, s:s}}", "messaging_product", "whatsapp", "metadata",
                              "display_phone_number", t->display_phone, "phone_number_id", t->pnid);
    if (strcmp(type, "system") != 0) {
        json_t *contact =
            json_pack("{s:{s:s}}", "profile", "name", jstr_or(desc, "name", "Sim Person"));
        json_object_set_new(contact, bsuid ? "user_id" : "wa_id", json_string(wa_id));
        json_object_set_new(value, "contacts", json_pack("[o]", contact));
    }
    json_object_set_new(value, "messages", json_pack("[o]", msg));
    *out = json_pack("{s:s, s:[{s:s, s:[{s:o, s:s}]}]}", "object", "whatsapp_business_account",
                     "entry", "id", t->waba_id, "changes", "value", value, "field", "messages");
    return NULL;
}

/* Finds the target for desc["number"] (default: the first number). */
static bool pick_target(ic_sim *s, const json_t *desc, ic_sim_target *t)
{
    const char *pnid = jstr(desc, "number");
    char first[64] = "";
    if (!pnid) {
        pthread_mutex_lock(&s->mu);
        ic_sim_number *n = ic_sim_number_first(s);
        if (n)
            ic_strlcpy(first, n->pnid, sizeof first);
        pthread_mutex_unlock(&s->mu);
        pnid = first;
    }
    return *pnid && ic_sim_target_get(s, pnid, t) == IC_OK;
}

void ic_sim_people_send(ic_sim_req *r, const char *wa_id)
{
    ic_sim *s = ic_sim_req_sim(r);
    json_t *desc = ic_sim_req_json(r), *doc = NULL;
    pending *p = NULL;
    ic_sim_target t;
    if (!desc)
        return;
    if (!wa_id_ok(wa_id)) {
        ic_sim_reply_sim_error(r, 400, "wa_id must be 3-40 digits (or a BSUID such as US.1234)");
        goto out;
    }
    if (!pick_target(s, desc, &t)) {
        ic_sim_reply_sim_error(r, 400,
                               "no such number (register one with --number or "
                               "POST /sim/numbers)");
        goto out;
    }
    json_t *tsv = json_object_get(desc, "timestamp");
    int64_t ts = ic_sim_now_s(s);
    if (json_is_integer(tsv))
        ts = (int64_t)json_integer_value(tsv);
    else if (tsv && (!json_is_string(tsv) || ic_parse_i64(json_string_value(tsv), &ts) != IC_OK)) {
        ic_sim_reply_sim_error(r, 400, "timestamp must be unix seconds");
        goto out;
    }
    p = ic_calloc(1, sizeof *p);
    p->sim = s;
    const char *forced = jstr(desc, "id");
    if (forced && (strlen(forced) == 0 || strlen(forced) >= sizeof p->wamid)) {
        ic_sim_reply_sim_error(r, 400, "id must be 1-159 characters");
        goto out;
    }
    if (forced)
        ic_strlcpy(p->wamid, forced, sizeof p->wamid);
    else
        ic_sim_new_wamid(s, p->wamid, sizeof p->wamid);
    const char *err = build_payload(s, desc, wa_id, &t, ts, &doc, p);
    if (err) {
        ic_sim_reply_sim_error(r, 400, err);
        goto out;
    }
    size_t len = 0;
    char *body = ic_sim_dumps(doc, &len);
    pthread_mutex_lock(&s->mu);
    if (strcmp(jstr_or(desc, "type", "text"), "system") != 0)
        ic_sim_people_inbound(s->people, wa_id, ts);
    s->stats.inbound_sent++;
    pthread_mutex_unlock(&s->mu);
    json_t *retry = json_object_get(desc, "retry");
    deliver(r, &t, body, len, "good", !json_is_false(retry), p);
    p = NULL;
out:
    ic_free(p);
    json_decref(doc);
    json_decref(desc);
}

void ic_sim_raw_webhook(ic_sim_req *r)
{
    ic_sim *s = ic_sim_req_sim(r);
    json_t *desc = ic_sim_req_json(r);
    ic_sim_target t;
    if (!desc)
        return;
    const char *sig = jstr_or(desc, "signature", "good");
    json_t *body = json_object_get(desc, "body");
    const char *text = jstr(desc, "body_text");
    if (strcmp(sig, "good") && strcmp(sig, "bad") && strcmp(sig, "none")) {
        ic_sim_reply_sim_error(r, 400, "signature must be good, bad or none");
    } else if (!body && !text) {
        ic_sim_reply_sim_error(r, 400, "give \"body\" (any JSON) or \"body_text\" (raw bytes)");
    } else if (!pick_target(s, desc, &t)) {
        ic_sim_reply_sim_error(r, 400, "no such number");
    } else {
        size_t len = 0;
        char *raw = text ? ic_strdup(text) : ic_sim_dumps(body, &len);
        if (text)
            len = strlen(text);
        pending *p = ic_calloc(1, sizeof *p);
        p->sim = s;
        p->report_response = true;
        deliver(r, &t, raw, len, sig, false, p);
    }
    json_decref(desc);
}
