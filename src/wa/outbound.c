/* outbound.c - Graph API request bodies for the messages we send.
 *
 * A message arrives in one of two forms (native or simple, see
 * docs/messages.md); both become native messages that are checked against
 * Meta's limits and then wrapped in the common request envelope here.
 */
#include "wa/outbound.h"

#include "wa/outbound_internal.h"

#include "base/str.h"

#include <string.h>

#define TO_MAX 128
#define WAMID_MAX 256
#define BIZ_OPAQUE_MAX 512

/* A business-scoped user id ("US.1234"): two capital letters, a dot, then
 * letters and digits. It goes in "recipient" instead of "to". */
static bool is_bsuid(const char *s)
{
    if (!(s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] == '.' && s[3]))
        return false;
    for (const char *p = s + 3; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

/* True when s is 1..max bytes of printable, space-free text. */
static bool is_token(const char *s, size_t max)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++)
        if (*p <= ' ' || *p == 0x7F || n >= max)
            return false;
    return n > 0;
}

static json_t *envelope(const char *to, bool group, const char *type, json_t *payload)
{
    json_t *b = json_object();
    json_object_set_new(b, "messaging_product", json_string("whatsapp"));
    json_object_set_new(b, "recipient_type", json_string(group ? "group" : "individual"));
    json_object_set_new(b, !group && is_bsuid(to) ? "recipient" : "to", json_string(to));
    json_object_set_new(b, "type", json_string(type));
    json_object_set_new(b, type, payload);
    return b;
}

json_t *ic_wa_mark_read_body(const char *wamid, bool typing)
{
    if (!wamid)
        return NULL;
    json_t *b = json_pack("{s:s, s:s, s:s}", "messaging_product", "whatsapp", "status", "read",
                          "message_id", wamid);
    if (b && typing)
        json_object_set_new(b, "typing_indicator", json_pack("{s:s}", "type", "text"));
    return b;
}

static ic_err build_read(const json_t *msg, bool group, ic_wa_outbound *out, ic_errmsg *em)
{
    const char *wamid = NULL;
    ic_err e = ic_wa_get_str(msg, "message_id", "message_id", true, &wamid, em);
    if (e)
        return e;
    if (!is_token(wamid, WAMID_MAX))
        return ic_errf(em, IC_ERR_INVALID, "message_id must be a WhatsApp message id");
    json_t *typing = json_object_get(msg, "typing");
    if (typing && !json_is_null(typing) && !json_is_boolean(typing))
        return ic_errf(em, IC_ERR_INVALID, "typing must be true or false");
    if (group)
        return ic_errf(em, IC_ERR_LIMIT, "WhatsApp groups cannot be marked as read");
    out->bodies[0] = ic_wa_mark_read_body(wamid, json_is_true(typing));
    out->count = 1;
    return IC_OK;
}

ic_err ic_wa_outbound_build(const json_t *msg, const char *to, const char *biz_opaque,
                            const char *context_wamid, ic_wa_outbound *out, ic_errmsg *em)
{
    json_t *natives[2] = {NULL, NULL};
    size_t n = 0;
    const char *type = NULL, *rtype = NULL;
    bool group = false;
    ic_err e = IC_OK;

    if (!out)
        return ic_errf(em, IC_ERR_INVALID, "no place for the request bodies");
    memset(out, 0, sizeof *out);
    out->warnings = json_array();

    if (!json_is_object(msg)) {
        e = ic_errf(em, IC_ERR_INVALID, "the message must be a JSON object");
        goto out;
    }
    if ((e = ic_wa_get_str(msg, "recipient_type", "recipient_type", false, &rtype, em)))
        goto out;
    if (rtype && strcmp(rtype, "group") != 0 && strcmp(rtype, "individual") != 0) {
        e = ic_errf(em, IC_ERR_INVALID, "recipient_type must be \"individual\" or \"group\"");
        goto out;
    }
    group = rtype && strcmp(rtype, "group") == 0;
    if ((e = ic_wa_get_str(msg, "type", "type", false, &type, em)))
        goto out;
    if (type && strcmp(type, "read") == 0) {
        e = build_read(msg, group, out, em);
        goto out;
    }

    if (!to || !is_token(to, TO_MAX)) {
        e = ic_errf(em, IC_ERR_INVALID,
                    "the recipient must be a WhatsApp id, a BSUID or a group id");
        goto out;
    }
    if (context_wamid && *context_wamid && !is_token(context_wamid, WAMID_MAX)) {
        e = ic_errf(em, IC_ERR_INVALID, "the replied-to message id is not a WhatsApp message id");
        goto out;
    }
    if (biz_opaque &&
        (e = ic_wa_check_len(biz_opaque, "biz_opaque_callback_data", 0, BIZ_OPAQUE_MAX, false, em)))
        goto out;

    if (type) {
        if ((e = ic_wa_native_check(msg, group, em)))
            goto out;
        out->bodies[0] = envelope(to, group, type, json_deep_copy(json_object_get(msg, type)));
        out->count = 1;
    } else {
        if ((e = ic_wa_simple_to_native(msg, natives, &n, out->warnings, em)))
            goto out;
        for (size_t i = 0; i < n; i++)
            if ((e = ic_wa_native_check(natives[i], group, em)))
                goto out;
        for (size_t i = 0; i < n; i++) {
            const char *t = json_string_value(json_object_get(natives[i], "type"));
            out->bodies[i] = envelope(to, group, t, json_incref(json_object_get(natives[i], t)));
        }
        out->count = n;
    }

    if (context_wamid && *context_wamid)
        json_object_set_new(out->bodies[0], "context",
                            json_pack("{s:s}", "message_id", context_wamid));
    if (biz_opaque)
        json_object_set_new(out->bodies[out->count - 1], "biz_opaque_callback_data",
                            json_string(biz_opaque));

out:
    json_decref(natives[0]);
    json_decref(natives[1]);
    if (e)
        ic_wa_outbound_clear(out);
    return e;
}

void ic_wa_outbound_clear(ic_wa_outbound *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < 2; i++) {
        json_decref(o->bodies[i]);
        o->bodies[i] = NULL;
    }
    json_decref(o->warnings);
    o->warnings = NULL;
    o->count = 0;
}

/* ---- reading a message without building it -------------------------------- */

static const char *native_type(const char *t)
{
    static const char *const known[] = {"text",     "image",       "audio",    "video",
                                        "document", "sticker",     "location", "contacts",
                                        "reaction", "interactive", "template", "read"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(t, known[i]) == 0)
            return known[i];
    return NULL;
}

static const json_t *simple_templating(const json_t *msg)
{
    const json_t *t = json_object_get(msg, "templating");
    return json_is_object(t) ? t : NULL;
}

bool ic_wa_outbound_is_template(const json_t *msg)
{
    if (!json_is_object(msg))
        return false;
    const char *t = json_string_value(json_object_get(msg, "type"));
    if (t)
        return strcmp(t, "template") == 0;
    return simple_templating(msg) != NULL;
}

const char *ic_wa_outbound_type(const json_t *msg)
{
    if (!json_is_object(msg))
        return NULL;
    const char *t = json_string_value(json_object_get(msg, "type"));
    if (t)
        return native_type(t);
    if (simple_templating(msg))
        return "template";
    if (json_array_size(json_object_get(msg, "quick_replies")))
        return "interactive";
    const char *att = json_string_value(json_array_get(json_object_get(msg, "attachments"), 0));
    if (att) {
        if (ic_str_starts(att, "image"))
            return "image";
        if (ic_str_starts(att, "video"))
            return "video";
        if (ic_str_starts(att, "audio"))
            return "audio";
        return "document";
    }
    return json_is_string(json_object_get(msg, "text")) ? "text" : NULL;
}

/* msg[a][b] as a string, or NULL. */
static const char *str_at(const json_t *msg, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(msg, a), b));
}

const char *ic_wa_outbound_text(const json_t *msg)
{
    if (!json_is_object(msg))
        return NULL;
    const char *t = json_string_value(json_object_get(msg, "type"));
    if (!t) {
        const char *text = json_string_value(json_object_get(msg, "text"));
        if (text && *text)
            return text;
        return str_at(simple_templating(msg), "template", "name");
    }
    if (strcmp(t, "text") == 0)
        return str_at(msg, "text", "body");
    if (strcmp(t, "image") == 0 || strcmp(t, "video") == 0 || strcmp(t, "document") == 0)
        return str_at(msg, t, "caption");
    if (strcmp(t, "interactive") == 0)
        return str_at(json_object_get(msg, "interactive"), "body", "text");
    if (strcmp(t, "template") == 0)
        return str_at(msg, "template", "name");
    if (strcmp(t, "location") == 0) {
        const char *name = str_at(msg, "location", "name");
        return name ? name : str_at(msg, "location", "address");
    }
    if (strcmp(t, "reaction") == 0)
        return str_at(msg, "reaction", "emoji");
    if (strcmp(t, "contacts") == 0)
        return str_at(json_array_get(json_object_get(msg, "contacts"), 0), "name",
                      "formatted_name");
    return NULL;
}
