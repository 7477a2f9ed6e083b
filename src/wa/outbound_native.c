/* outbound_native.c - native messages checked against Meta's limits.
 *
 * The limits come from the Cloud API reference (docs/messages.md lists them
 * all). Lengths are counted in Unicode code points, as WhatsApp counts them.
 * A check only reads the message; it never changes it.
 */
#include "wa/outbound_internal.h"

#include "base/str.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TEXT_MAX 4096
#define CAPTION_MAX 1024
#define CONTACTS_MAX 257
#define EMOJI_MAX_BYTES 16
#define TEMPLATE_NAME_MAX 512
#define QUOTE_MAX_BYTES 80

ic_err ic_wa_get_str(const json_t *obj, const char *key, const char *path, bool required,
                     const char **out, ic_errmsg *em)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return ic_errf(em, IC_ERR_INVALID, "%s is required", path);
        return IC_OK;
    }
    if (!json_is_string(v))
        return ic_errf(em, IC_ERR_INVALID, "%s must be a string", path);
    *out = json_string_value(v);
    return IC_OK;
}

static ic_err get_typed(const json_t *obj, const char *key, const char *path, bool required,
                        bool want_array, const json_t **out, ic_errmsg *em)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return ic_errf(em, IC_ERR_INVALID, "%s is required", path);
        return IC_OK;
    }
    if (want_array ? !json_is_array(v) : !json_is_object(v))
        return ic_errf(em, IC_ERR_INVALID, "%s must be %s", path,
                       want_array ? "an array" : "an object");
    *out = v;
    return IC_OK;
}

ic_err ic_wa_get_obj(const json_t *obj, const char *key, const char *path, bool required,
                     const json_t **out, ic_errmsg *em)
{
    return get_typed(obj, key, path, required, false, out, em);
}

ic_err ic_wa_get_arr(const json_t *obj, const char *key, const char *path, bool required,
                     const json_t **out, ic_errmsg *em)
{
    return get_typed(obj, key, path, required, true, out, em);
}

/* Copies at most QUOTE_MAX_BYTES of s into out, cut at a code point
 * boundary, with "..." when cut. */
static void quote_value(const char *s, char *out, size_t size)
{
    size_t n = strlen(s);
    if (n <= QUOTE_MAX_BYTES) {
        snprintf(out, size, "%s", s);
        return;
    }
    n = QUOTE_MAX_BYTES;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    snprintf(out, size, "%.*s...", (int)n, s);
}

ic_err ic_wa_check_len(const char *value, const char *name, size_t min, size_t max, bool quote,
                       ic_errmsg *em)
{
    if (!value)
        return IC_OK;
    size_t n = ic_utf8_len(value);
    if (n < min) {
        if (n == 0)
            return ic_errf(em, IC_ERR_LIMIT, "%s is empty; WhatsApp needs %zu to %zu characters",
                           name, min, max);
        return ic_errf(em, IC_ERR_LIMIT, "%s is %zu characters; WhatsApp needs at least %zu", name,
                       n, min);
    }
    if (n > max) {
        if (quote) {
            char q[QUOTE_MAX_BYTES + 4];
            quote_value(value, q, sizeof q);
            return ic_errf(em, IC_ERR_LIMIT, "%s \"%s\" is %zu characters; WhatsApp allows %zu",
                           name, q, n, max);
        }
        return ic_errf(em, IC_ERR_LIMIT, "%s is %zu characters; WhatsApp allows %zu", name, n, max);
    }
    return IC_OK;
}

bool ic_wa_is_http_url(const char *s)
{
    if (!s)
        return false;
    size_t skip;
    if (strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else if (strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else
        return false;
    const unsigned char *p = (const unsigned char *)s + skip;
    if (*p == '\0' || *p == '/' || *p == '?' || *p == '#')
        return false;
    for (; *p; p++)
        if (*p <= ' ' || *p == 0x7F)
            return false;
    return true;
}

ic_err ic_wa_check_media(const json_t *media, const char *path, bool allow_caption,
                         bool allow_filename, ic_errmsg *em)
{
    char p[96];
    const char *id = NULL, *link = NULL, *caption = NULL, *filename = NULL;
    ic_err e;

    snprintf(p, sizeof p, "%s.id", path);
    if ((e = ic_wa_get_str(media, "id", p, false, &id, em)))
        return e;
    snprintf(p, sizeof p, "%s.link", path);
    if ((e = ic_wa_get_str(media, "link", p, false, &link, em)))
        return e;
    if (!id == !link)
        return ic_errf(em, IC_ERR_INVALID, "%s needs exactly one of \"id\" and \"link\"", path);
    if (id && !*id)
        return ic_errf(em, IC_ERR_INVALID, "%s.id is empty", path);
    if (link && !ic_wa_is_http_url(link))
        return ic_errf(em, IC_ERR_INVALID, "%s.link must be an http:// or https:// URL", path);

    snprintf(p, sizeof p, "%s.caption", path);
    if ((e = ic_wa_get_str(media, "caption", p, false, &caption, em)))
        return e;
    if (caption && !allow_caption)
        return ic_errf(em, IC_ERR_INVALID, "%s cannot carry a caption", path);
    if ((e = ic_wa_check_len(caption, p, 0, CAPTION_MAX, false, em)))
        return e;

    snprintf(p, sizeof p, "%s.filename", path);
    if ((e = ic_wa_get_str(media, "filename", p, false, &filename, em)))
        return e;
    if (filename && !allow_filename)
        return ic_errf(em, IC_ERR_INVALID, "%s cannot carry a filename", path);
    return IC_OK;
}

static ic_err check_text(const json_t *text, ic_errmsg *em)
{
    const char *body = NULL;
    ic_err e = ic_wa_get_str(text, "body", "text.body", true, &body, em);
    if (e)
        return e;
    if ((e = ic_wa_check_len(body, "text.body", 1, TEXT_MAX, false, em)))
        return e;
    json_t *pv = json_object_get(text, "preview_url");
    if (pv && !json_is_null(pv) && !json_is_boolean(pv))
        return ic_errf(em, IC_ERR_INVALID, "text.preview_url must be true or false");
    return IC_OK;
}

static ic_err get_number(const json_t *obj, const char *key, const char *path, double lo, double hi,
                         ic_errmsg *em)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return ic_errf(em, IC_ERR_INVALID, "%s is required", path);
    if (!json_is_number(v))
        return ic_errf(em, IC_ERR_INVALID, "%s must be a number", path);
    double d = json_number_value(v);
    if (!isfinite(d) || d < lo || d > hi)
        return ic_errf(em, IC_ERR_INVALID, "%s is %g; it must be between %g and %g", path, d, lo,
                       hi);
    return IC_OK;
}

static ic_err check_location(const json_t *loc, ic_errmsg *em)
{
    const char *s;
    ic_err e;
    if ((e = get_number(loc, "latitude", "location.latitude", -90, 90, em)))
        return e;
    if ((e = get_number(loc, "longitude", "location.longitude", -180, 180, em)))
        return e;
    if ((e = ic_wa_get_str(loc, "name", "location.name", false, &s, em)))
        return e;
    return ic_wa_get_str(loc, "address", "location.address", false, &s, em);
}

static ic_err check_contacts(const json_t *contacts, ic_errmsg *em)
{
    if (!json_is_array(contacts))
        return ic_errf(em, IC_ERR_INVALID, "contacts must be an array");
    size_t n = json_array_size(contacts);
    if (n == 0)
        return ic_errf(em, IC_ERR_LIMIT, "contacts is empty; WhatsApp needs 1 to %d contacts",
                       CONTACTS_MAX);
    if (n > CONTACTS_MAX)
        return ic_errf(em, IC_ERR_LIMIT, "contacts has %zu contacts; WhatsApp allows %d", n,
                       CONTACTS_MAX);
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(contacts, i);
        char p[64];
        const json_t *name = NULL;
        const char *formatted = NULL;
        ic_err e;
        if (!json_is_object(c))
            return ic_errf(em, IC_ERR_INVALID, "contacts[%zu] must be an object", i);
        snprintf(p, sizeof p, "contacts[%zu].name", i);
        if ((e = ic_wa_get_obj(c, "name", p, true, &name, em)))
            return e;
        snprintf(p, sizeof p, "contacts[%zu].name.formatted_name", i);
        if ((e = ic_wa_get_str(name, "formatted_name", p, true, &formatted, em)))
            return e;
        if (!*formatted)
            return ic_errf(em, IC_ERR_INVALID, "%s is empty", p);
    }
    return IC_OK;
}

static ic_err check_reaction(const json_t *r, ic_errmsg *em)
{
    const char *mid = NULL, *emoji = NULL;
    ic_err e;
    if ((e = ic_wa_get_str(r, "message_id", "reaction.message_id", true, &mid, em)))
        return e;
    if (!*mid)
        return ic_errf(em, IC_ERR_INVALID, "reaction.message_id is empty");
    if ((e = ic_wa_get_str(r, "emoji", "reaction.emoji", true, &emoji, em)))
        return e;
    size_t n = strlen(emoji);
    if (n > EMOJI_MAX_BYTES)
        return ic_errf(em, IC_ERR_LIMIT,
                       "reaction.emoji is %zu bytes; WhatsApp takes one emoji (at most %d bytes)",
                       n, EMOJI_MAX_BYTES);
    return IC_OK;
}

/* ---- templates ----------------------------------------------------------- */

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static ic_err check_template_param(const json_t *p, const char *path, ic_errmsg *em)
{
    static const char *const types[] = {"text",   "currency", "date_time", "image",
                                        "video",  "document", "payload",   "coupon_code",
                                        "action", "location", NULL};
    const char *type = NULL, *s = NULL;
    const json_t *o = NULL;
    char sub[96];
    ic_err e;

    if (!json_is_object(p))
        return ic_errf(em, IC_ERR_INVALID, "%s must be an object", path);
    snprintf(sub, sizeof sub, "%s.type", path);
    if ((e = ic_wa_get_str(p, "type", sub, true, &type, em)))
        return e;
    if (!in_list(type, types))
        return ic_errf(em, IC_ERR_INVALID, "%s \"%s\" is not a template parameter type", sub, type);
    snprintf(sub, sizeof sub, "%s.%s", path, type);
    if (strcmp(type, "text") == 0 || strcmp(type, "payload") == 0 ||
        strcmp(type, "coupon_code") == 0)
        return ic_wa_get_str(p, type, sub, true, &s, em);
    if ((e = ic_wa_get_obj(p, type, sub, true, &o, em)))
        return e;
    if (strcmp(type, "image") == 0 || strcmp(type, "video") == 0)
        return ic_wa_check_media(o, sub, false, false, em);
    if (strcmp(type, "document") == 0)
        return ic_wa_check_media(o, sub, false, true, em);
    if (strcmp(type, "currency") == 0) {
        char f[128];
        snprintf(f, sizeof f, "%s.fallback_value", sub);
        if ((e = ic_wa_get_str(o, "fallback_value", f, true, &s, em)))
            return e;
        snprintf(f, sizeof f, "%s.code", sub);
        if ((e = ic_wa_get_str(o, "code", f, true, &s, em)))
            return e;
        if (!json_is_integer(json_object_get(o, "amount_1000")))
            return ic_errf(em, IC_ERR_INVALID, "%s.amount_1000 must be an integer", sub);
        return IC_OK;
    }
    if (strcmp(type, "date_time") == 0) {
        char f[128];
        snprintf(f, sizeof f, "%s.fallback_value", sub);
        return ic_wa_get_str(o, "fallback_value", f, true, &s, em);
    }
    return IC_OK; /* action, location: objects Meta reads itself */
}

static ic_err check_button_index(const json_t *c, const char *path, ic_errmsg *em)
{
    json_t *ix = json_object_get(c, "index");
    if (!ix || json_is_null(ix))
        return ic_errf(em, IC_ERR_INVALID, "%s.index is required for a button", path);
    int64_t v = -1;
    if (json_is_integer(ix))
        v = json_integer_value(ix);
    else if (!json_is_string(ix) || ic_parse_i64(json_string_value(ix), &v) != IC_OK)
        return ic_errf(em, IC_ERR_INVALID, "%s.index must be a number from 0 to 9", path);
    if (v < 0 || v > 9)
        return ic_errf(em, IC_ERR_INVALID, "%s.index must be a number from 0 to 9", path);
    return IC_OK;
}

static ic_err check_template_component(const json_t *c, const char *path, ic_errmsg *em)
{
    static const char *const types[] = {"header", "body", "footer", "button", NULL};
    const char *type = NULL, *sub_type = NULL;
    const json_t *params = NULL;
    char p[96];
    ic_err e;

    if (!json_is_object(c))
        return ic_errf(em, IC_ERR_INVALID, "%s must be an object", path);
    snprintf(p, sizeof p, "%s.type", path);
    if ((e = ic_wa_get_str(c, "type", p, true, &type, em)))
        return e;
    if (!in_list(type, types))
        return ic_errf(em, IC_ERR_INVALID,
                       "%s \"%s\" is not a template component (header, body, footer or button)", p,
                       type);
    if (strcmp(type, "button") == 0) {
        snprintf(p, sizeof p, "%s.sub_type", path);
        if ((e = ic_wa_get_str(c, "sub_type", p, true, &sub_type, em)))
            return e;
        if (!*sub_type)
            return ic_errf(em, IC_ERR_INVALID, "%s is empty", p);
        if ((e = check_button_index(c, path, em)))
            return e;
    }
    snprintf(p, sizeof p, "%s.parameters", path);
    if ((e = ic_wa_get_arr(c, "parameters", p, false, &params, em)))
        return e;
    for (size_t i = 0; i < json_array_size(params); i++) {
        char pp[112];
        snprintf(pp, sizeof pp, "%s.parameters[%zu]", path, i);
        if ((e = check_template_param(json_array_get(params, i), pp, em)))
            return e;
    }
    return IC_OK;
}

static ic_err check_template(const json_t *t, ic_errmsg *em)
{
    const char *name = NULL, *code = NULL;
    const json_t *lang = NULL, *comps = NULL;
    ic_err e;

    if ((e = ic_wa_get_str(t, "name", "template.name", true, &name, em)))
        return e;
    if ((e = ic_wa_check_len(name, "template.name", 1, TEMPLATE_NAME_MAX, false, em)))
        return e;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return ic_errf(em, IC_ERR_INVALID,
                           "template.name may hold only lowercase letters, digits and _");
    if ((e = ic_wa_get_obj(t, "language", "template.language", true, &lang, em)))
        return e;
    if ((e = ic_wa_get_str(lang, "code", "template.language.code", true, &code, em)))
        return e;
    if (!*code)
        return ic_errf(em, IC_ERR_INVALID, "template.language.code is empty");
    if ((e = ic_wa_get_arr(t, "components", "template.components", false, &comps, em)))
        return e;
    for (size_t i = 0; i < json_array_size(comps); i++) {
        char p[48];
        snprintf(p, sizeof p, "template.components[%zu]", i);
        if ((e = check_template_component(json_array_get(comps, i), p, em)))
            return e;
    }
    return IC_OK;
}

/* ---- dispatch ------------------------------------------------------------ */

ic_err ic_wa_native_check(const json_t *msg, bool group, ic_errmsg *em)
{
    const char *type = NULL;
    const json_t *payload = NULL;
    ic_err e;

    if (!json_is_object(msg))
        return ic_errf(em, IC_ERR_INVALID, "the message must be a JSON object");
    if ((e = ic_wa_get_str(msg, "type", "type", true, &type, em)))
        return e;

    if (strcmp(type, "contacts") == 0) {
        json_t *c = json_object_get(msg, "contacts");
        if (!c || json_is_null(c))
            return ic_errf(em, IC_ERR_INVALID, "contacts is required");
        return check_contacts(c, em);
    }

    static const char *const known[] = {"text",        "image",    "audio",    "video",
                                        "document",    "sticker",  "location", "reaction",
                                        "interactive", "template", NULL};
    if (!in_list(type, known)) {
        char q[QUOTE_MAX_BYTES + 4];
        quote_value(type, q, sizeof q);
        return ic_errf(em, IC_ERR_INVALID, "unknown message type \"%s\"", q);
    }
    if ((e = ic_wa_get_obj(msg, type, type, true, &payload, em)))
        return e;

    if (strcmp(type, "text") == 0)
        return check_text(payload, em);
    if (strcmp(type, "image") == 0 || strcmp(type, "video") == 0)
        return ic_wa_check_media(payload, type, true, false, em);
    if (strcmp(type, "document") == 0)
        return ic_wa_check_media(payload, type, true, true, em);
    if (strcmp(type, "audio") == 0 || strcmp(type, "sticker") == 0)
        return ic_wa_check_media(payload, type, false, false, em);
    if (strcmp(type, "location") == 0)
        return check_location(payload, em);
    if (strcmp(type, "reaction") == 0)
        return check_reaction(payload, em);
    if (strcmp(type, "template") == 0)
        return check_template(payload, em);
    /* interactive */
    if (group)
        return ic_errf(em, IC_ERR_LIMIT, "WhatsApp groups take no interactive messages");
    return ic_wa_check_interactive(payload, em);
}
