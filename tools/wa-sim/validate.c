/* validate.c - checks send bodies as the Cloud API does, so that a client
 * that breaks one of Meta's rules is caught in tests instead of in production.
 * Malformed requests give code 100; values over a limit give 131009. */
#include "sim.h"

#include "base/str.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(ic_errmsg *em, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(ic_errmsg *em, int code, const char *fmt, ...)
{
    if (em) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(em->msg, sizeof em->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

static const char *str_at(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* A required string of 1..max characters at o[key]; what names it in errors. */
static int need_str(const json_t *o, const char *key, size_t max, const char *what, ic_errmsg *em)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return fail(em, 100, "The parameter %s is required.", what);
    if (!json_is_string(v))
        return fail(em, 100, "Param %s must be a string.", what);
    size_t n = ic_utf8_len(json_string_value(v));
    if (n == 0)
        return fail(em, 100, "Param %s must not be empty.", what);
    if (max && n > max)
        return fail(em, 131009, "Param %s is %zu characters; the maximum is %zu.", what, n, max);
    return 0;
}

/* An optional string of at most max characters. */
static int opt_str(const json_t *o, const char *key, size_t max, const char *what, ic_errmsg *em)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    return need_str(o, key, max, what, em);
}

static int need_obj(const json_t *o, const char *key, const char *what, json_t **out, ic_errmsg *em)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return fail(em, 100, "The parameter %s is required.", what);
    if (!json_is_object(v))
        return fail(em, 100, "Param %s must be an object.", what);
    *out = v;
    return 0;
}

static bool is_http_url(const char *s)
{
    return s && (ic_str_starts(s, "http://") || ic_str_starts(s, "https://")) && strlen(s) > 8;
}

static int check_media(const char *type, const json_t *m, ic_errmsg *em)
{
    const char *id = str_at(m, "id"), *link = str_at(m, "link");
    char what[64];
    if (!id == !link)
        return fail(em, 100, "Param %s must have exactly one of id or link.", type);
    if (link && !is_http_url(link))
        return fail(em, 100, "Param %s['link'] is not a valid http(s) URL.", type);
    if (id && !*id)
        return fail(em, 100, "Param %s['id'] must not be empty.", type);
    bool captioned = !strcmp(type, "image") || !strcmp(type, "video") || !strcmp(type, "document");
    snprintf(what, sizeof what, "%s['caption']", type);
    if (captioned) {
        int rc = opt_str(m, "caption", 1024, what, em);
        if (rc)
            return rc;
    } else if (json_object_get(m, "caption")) {
        return fail(em, 100, "Param %s does not take a caption.", type);
    }
    if (!strcmp(type, "document"))
        return opt_str(m, "filename", 240, "document['filename']", em);
    return 0;
}

static int check_header(const json_t *it, bool text_only, ic_errmsg *em)
{
    json_t *h = json_object_get(it, "header");
    if (!h)
        return 0;
    if (!json_is_object(h))
        return fail(em, 100, "Param interactive['header'] must be an object.");
    const char *ht = str_at(h, "type");
    if (!ht)
        return fail(em, 100, "The parameter interactive['header']['type'] is required.");
    if (!strcmp(ht, "text"))
        return need_str(h, "text", 60, "interactive['header']['text']", em);
    if (text_only)
        return fail(em, 131009, "A list message header must be of type text.");
    if (!strcmp(ht, "image") || !strcmp(ht, "video") || !strcmp(ht, "document")) {
        json_t *m;
        int rc = need_obj(h, ht, "interactive['header'] media", &m, em);
        return rc ? rc : check_media(ht, m, em);
    }
    return fail(em, 100, "Param interactive['header']['type'] (%.20s) is not valid.", ht);
}

static int check_buttons(const json_t *action, ic_errmsg *em)
{
    json_t *bs = json_object_get(action, "buttons");
    if (!json_is_array(bs) || json_array_size(bs) == 0)
        return fail(em, 100, "The parameter interactive['action']['buttons'] is required.");
    if (json_array_size(bs) > 3)
        return fail(em, 131009, "A button message has %zu buttons; the maximum is 3.",
                    json_array_size(bs));
    for (size_t i = 0; i < json_array_size(bs); i++) {
        json_t *b = json_array_get(bs, i), *reply;
        if (!json_is_object(b) || !ic_str_eq(str_at(b, "type"), "reply"))
            return fail(em, 100, "Button %zu must have type \"reply\".", i);
        int rc = need_obj(b, "reply", "button['reply']", &reply, em);
        if (!rc)
            rc = need_str(reply, "id", 256, "button['reply']['id']", em);
        if (!rc)
            rc = need_str(reply, "title", 20, "button['reply']['title']", em);
        if (rc == 131009)
            return fail(em, rc, "Button title length invalid: \"%.40s\" is over 20 characters.",
                        str_at(reply, "title"));
        if (rc)
            return rc;
        for (size_t k = 0; k < i; k++) {
            json_t *other = json_object_get(json_array_get(bs, k), "reply");
            if (!strcasecmp(str_at(other, "title"), str_at(reply, "title")))
                return fail(em, 131009, "Button titles must be unique (\"%.30s\").",
                            str_at(reply, "title"));
            if (!strcmp(str_at(other, "id"), str_at(reply, "id")))
                return fail(em, 131009, "Button ids must be unique (\"%.30s\").",
                            str_at(reply, "id"));
        }
    }
    return 0;
}

static int check_list(const json_t *action, ic_errmsg *em)
{
    int rc = need_str(action, "button", 20, "interactive['action']['button']", em);
    if (rc)
        return rc;
    json_t *secs = json_object_get(action, "sections");
    size_t ns = json_array_size(secs), rows = 0;
    if (!json_is_array(secs) || ns == 0)
        return fail(em, 100, "The parameter interactive['action']['sections'] is required.");
    if (ns > 10)
        return fail(em, 131009, "A list has %zu sections; the maximum is 10.", ns);
    for (size_t i = 0; i < ns; i++) {
        json_t *sec = json_array_get(secs, i);
        if (!json_is_object(sec))
            return fail(em, 100, "Section %zu must be an object.", i);
        rc = ns > 1 ? need_str(sec, "title", 24, "section['title']", em)
                    : opt_str(sec, "title", 24, "section['title']", em);
        if (rc)
            return rc;
        json_t *rs = json_object_get(sec, "rows");
        if (!json_is_array(rs) || json_array_size(rs) == 0)
            return fail(em, 100, "Section %zu needs rows.", i);
        for (size_t k = 0; k < json_array_size(rs); k++) {
            json_t *row = json_array_get(rs, k);
            if (!json_is_object(row))
                return fail(em, 100, "Row %zu of section %zu must be an object.", k, i);
            if ((rc = need_str(row, "id", 200, "row['id']", em)) ||
                (rc = need_str(row, "title", 24, "row['title']", em)) ||
                (rc = opt_str(row, "description", 72, "row['description']", em)))
                return rc;
        }
        rows += json_array_size(rs);
    }
    if (rows > 10)
        return fail(em, 131009, "A list has %zu rows; the maximum is 10.", rows);
    return 0;
}

static int check_interactive(const json_t *it, ic_errmsg *em)
{
    static const char *const types[] = {
        "button",  "list",         "cta_url",         "flow",           "location_request_message",
        "product", "product_list", "catalog_message", "address_message"};
    const char *t = str_at(it, "type");
    bool known = false;
    for (size_t i = 0; t && i < sizeof types / sizeof types[0]; i++)
        known = known || !strcmp(t, types[i]);
    if (!t)
        return fail(em, 100, "The parameter interactive['type'] is required.");
    if (!known)
        return fail(em, 100, "Param interactive['type'] (%.30s) is not valid.", t);
    bool list = !strcmp(t, "list");
    json_t *body = json_object_get(it, "body"), *action;
    int rc;
    if (strcmp(t, "product") && strcmp(t, "catalog_message")) {
        if (!json_is_object(body))
            return fail(em, 100, "The parameter interactive['body'] is required.");
        if ((rc = need_str(body, "text", list ? 4096 : 1024, "interactive['body']['text']", em)))
            return rc;
    }
    json_t *footer = json_object_get(it, "footer");
    if (footer && (!json_is_object(footer) ||
                   (rc = need_str(footer, "text", 60, "interactive['footer']['text']", em))))
        return json_is_object(footer) ? rc : fail(em, 100, "interactive['footer'] is an object.");
    if ((rc = check_header(it, list, em)))
        return rc;
    if ((rc = need_obj(it, "action", "interactive['action']", &action, em)))
        return rc;
    if (!strcmp(t, "button"))
        return check_buttons(action, em);
    if (list)
        return check_list(action, em);
    if (!strcmp(t, "cta_url") || !strcmp(t, "flow")) {
        json_t *params;
        if (!ic_str_eq(str_at(action, "name"), t))
            return fail(em, 100, "Param interactive['action']['name'] must be \"%s\".", t);
        if ((rc = need_obj(action, "parameters", "interactive['action']['parameters']", &params,
                           em)))
            return rc;
        if (!strcmp(t, "cta_url")) {
            if ((rc = need_str(params, "display_text", 20, "parameters['display_text']", em)))
                return rc;
            if (!is_http_url(str_at(params, "url")))
                return fail(em, 100, "Param parameters['url'] must be an http(s) URL.");
        } else {
            return opt_str(params, "flow_cta", 20, "parameters['flow_cta']", em);
        }
    }
    return 0;
}

static int check_contacts(const json_t *cs, ic_errmsg *em)
{
    size_t n = json_array_size(cs);
    if (!json_is_array(cs) || n == 0)
        return fail(em, 100, "The parameter contacts is required.");
    if (n > 257)
        return fail(em, 131009, "%zu contacts; the maximum is 257.", n);
    for (size_t i = 0; i < n; i++) {
        json_t *name = json_object_get(json_array_get(cs, i), "name");
        if (!json_is_object(name) || !json_is_string(json_object_get(name, "formatted_name")))
            return fail(em, 100,
                        "The parameter contacts[%zu]['name']['formatted_name'] is "
                        "required.",
                        i);
    }
    return 0;
}

static int check_location(const json_t *loc, ic_errmsg *em)
{
    json_t *lat = json_object_get(loc, "latitude"), *lon = json_object_get(loc, "longitude");
    if (!json_is_number(lat) || !json_is_number(lon))
        return fail(em, 100, "Params location['latitude'] and ['longitude'] are required numbers.");
    double a = json_number_value(lat), b = json_number_value(lon);
    if (a < -90 || a > 90 || b < -180 || b > 180)
        return fail(em, 131009, "The location is outside the range of latitude and longitude.");
    return 0;
}

static int check_template(const json_t *tpl, ic_errmsg *em)
{
    json_t *lang;
    int rc = need_str(tpl, "name", 512, "template['name']", em);
    if (!rc)
        rc = need_obj(tpl, "language", "template['language']", &lang, em);
    if (!rc)
        rc = need_str(lang, "code", 20, "template['language']['code']", em);
    if (!rc && json_object_get(tpl, "components") &&
        !json_is_array(json_object_get(tpl, "components")))
        rc = fail(em, 100, "Param template['components'] must be an array.");
    return rc;
}

/* A phone number: optional '+', then 5-20 digits. */
static bool phone_ok(const char *to)
{
    if (*to == '+')
        to++;
    size_t n = strlen(to);
    if (n < 5 || n > 20)
        return false;
    for (; *to; to++)
        if (!isdigit((unsigned char)*to))
            return false;
    return true;
}

static bool id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 64)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-' && *s != '@')
            return false;
    return true;
}

int ic_sim_validate_send(const json_t *body, ic_sim_send *out, ic_errmsg *em)
{
    memset(out, 0, sizeof *out);
    if (!ic_str_eq(str_at(body, "messaging_product"), "whatsapp"))
        return fail(em, 100,
                    "The parameter messaging_product is required and must be "
                    "\"whatsapp\".");
    const char *rt = str_at(body, "recipient_type");
    if (json_object_get(body, "recipient_type") && !ic_str_eq(rt, "individual") &&
        !ic_str_eq(rt, "group"))
        return fail(em, 100, "Param recipient_type must be \"individual\" or \"group\".");
    out->to_group = ic_str_eq(rt, "group");
    const char *to = str_at(body, "to"), *bsuid = str_at(body, "recipient");
    if (!to && !bsuid)
        return fail(em, 100, "The parameter to is required.");
    if (to && bsuid)
        return fail(em, 100, "Give either to or recipient, not both.");
    if (to && !(out->to_group ? id_ok(to) : phone_ok(to)))
        return fail(em, 100, "Param to (%.30s) is not a valid WhatsApp number.", to);
    if (bsuid && !id_ok(bsuid))
        return fail(em, 100, "Param recipient (%.30s) is not a valid user id.", bsuid);
    out->to = to ? (to[0] == '+' ? to + 1 : to) : bsuid;
    json_t *bo = json_object_get(body, "biz_opaque_callback_data");
    if (bo && (!json_is_string(bo) || strlen(json_string_value(bo)) > 512))
        return fail(em, 100,
                    "Param biz_opaque_callback_data must be a string of at most 512 "
                    "characters.");
    out->biz_opaque = json_string_value(bo);
    json_t *ctx = json_object_get(body, "context");
    if (ctx && (!json_is_object(ctx) || !json_is_string(json_object_get(ctx, "message_id"))))
        return fail(em, 100, "Param context must be {\"message_id\": \"<wamid>\"}.");
    const char *type = json_object_get(body, "type") ? str_at(body, "type") : "text";
    if (!type)
        return fail(em, 100, "Param type must be a string.");
    out->type = type;
    json_t *obj = json_object_get(body, type);
    if (!strcmp(type, "contacts")) {
        return check_contacts(obj, em);
    }
    static const char *const known[] = {"text",        "image",   "audio",    "video",
                                        "document",    "sticker", "location", "reaction",
                                        "interactive", "template"};
    bool ok = false;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ok = ok || !strcmp(type, known[i]);
    if (!ok)
        return fail(em, 100, "Param type (%.30s) is not a valid message type.", type);
    if (!json_is_object(obj))
        return fail(em, 100, "The parameter %s is required and must be an object.", type);
    if (!strcmp(type, "text")) {
        json_t *pv = json_object_get(obj, "preview_url");
        if (pv && !json_is_boolean(pv))
            return fail(em, 100, "Param text['preview_url'] must be a boolean.");
        return need_str(obj, "body", 4096, "text['body']", em);
    }
    if (!strcmp(type, "location"))
        return check_location(obj, em);
    if (!strcmp(type, "reaction")) {
        out->is_reaction = true;
        int rc = need_str(obj, "message_id", 0, "reaction['message_id']", em);
        if (!rc && !json_is_string(json_object_get(obj, "emoji")))
            rc = fail(em, 100, "The parameter reaction['emoji'] is required (\"\" removes).");
        return rc;
    }
    if (!strcmp(type, "interactive"))
        return check_interactive(obj, em);
    if (!strcmp(type, "template")) {
        out->is_template = true;
        return check_template(obj, em);
    }
    return check_media(type, obj, em);
}
