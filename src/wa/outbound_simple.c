/* outbound_simple.c - the simple (RapidPro-style) message form.
 *
 * {"text", "attachments":["mime:url"], "quick_replies":[{"type","text",
 * "extra"}], "locale", "templating"} becomes one or two native messages by
 * the rules of courier's WhatsApp handler, so that a flow written for
 * RapidPro sends the same requests here. docs/messages.md describes them.
 */
#include "wa/outbound_internal.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/str.h"

#include <stdlib.h>
#include <string.h>

#define QRS_MAX 10
#define BUTTONS_MAX 3
#define CAPTION_MAX 1024
#define TEMPLATE_VARS_MAX 100

typedef struct qr {
    const char *type; /* text, location, form or url */
    const char *text;
    const char *extra; /* NULL when absent or empty */
} qr;

typedef enum kind { K_NONE, K_BUTTONS, K_LIST, K_LOCATION, K_FORM, K_URL } kind;

/* ---- list button labels -------------------------------------------------- */

static const struct {
    const char *iso3, *iso1, *label;
} menu_labels[] = {
    {"eng", "en", "Menu"},    {"spa", "es", "Menú"},      {"fra", "fr", "Menu"},
    {"por", "pt", "Menu"},    {"ara", "ar", "قائمة"},     {"swa", "sw", "Menyu"},
    {"afr", "af", "Kieslys"}, {"hin", "hi", "मेनू"},        {"ben", "bn", "মেনু"},
    {"amh", "am", "ምናሌ"},     {"heb", "he", "תפריט"},     {"zho", "zh", "菜单"},
    {"deu", "de", "Menü"},    {"tur", "tr", "Menü"},      {"rus", "ru", "Меню"},
    {"ukr", "uk", "Меню"},    {"ita", "it", "Menu"},      {"nld", "nl", "Menu"},
    {"ind", "id", "Menu"},    {"gle", "ga", "Roghchlár"},
};

const char *ic_wa_menu_label(const char *locale)
{
    char lang[4] = {0};
    size_t n = 0;
    if (!locale)
        return "Menu";
    while (n < 3 && locale[n] && locale[n] != '-' && locale[n] != '_') {
        char c = locale[n];
        lang[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    if (locale[n] && locale[n] != '-' && locale[n] != '_')
        return "Menu";
    for (size_t i = 0; i < sizeof menu_labels / sizeof menu_labels[0]; i++)
        if (strcmp(lang, menu_labels[i].iso3) == 0 || strcmp(lang, menu_labels[i].iso1) == 0)
            return menu_labels[i].label;
    return "Menu";
}

/* ---- attachments --------------------------------------------------------- */

typedef struct attachment {
    char type[16];   /* image, video, audio or document */
    const char *url; /* borrowed from the message */
} attachment;

static ic_err parse_attachment(const char *s, const char *path, attachment *a, ic_errmsg *em)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s)
        return ic_errf(em, IC_ERR_INVALID, "%s must look like \"image/jpeg:https://...\"", path);
    size_t mlen = (size_t)(colon - s);
    const char *slash = memchr(s, '/', mlen);
    size_t plen = slash ? (size_t)(slash - s) : mlen;
    a->url = colon + 1;
    if (plen == 5 && strncmp(s, "image", 5) == 0)
        ic_strlcpy(a->type, "image", sizeof a->type);
    else if (plen == 5 && strncmp(s, "video", 5) == 0)
        ic_strlcpy(a->type, "video", sizeof a->type);
    else if (plen == 5 && strncmp(s, "audio", 5) == 0)
        ic_strlcpy(a->type, "audio", sizeof a->type);
    else if ((plen == 8 && strncmp(s, "document", 8) == 0) ||
             (plen == 11 && strncmp(s, "application", 11) == 0) ||
             (plen == 4 && strncmp(s, "text", 4) == 0))
        ic_strlcpy(a->type, "document", sizeof a->type);
    else
        return ic_errf(em, IC_ERR_INVALID,
                       "%s has a media type WhatsApp cannot send (image, video, audio or "
                       "document)",
                       path);
    if (!ic_wa_is_http_url(a->url))
        return ic_errf(em, IC_ERR_INVALID, "%s needs an http:// or https:// URL after the type",
                       path);
    return IC_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The last segment of the URL's path, percent-decoded ("document.pdf"), as
 * a new JSON string; NULL when the path has none. */
static json_t *url_filename(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t hostlen = strcspn(p, "/?#");
    const char *path = p + hostlen;
    size_t plen = *path == '/' ? strcspn(path, "?#") : 0;
    const char *base = path;
    for (size_t i = 0; i < plen; i++)
        if (path[i] == '/')
            base = path + i + 1;
    size_t blen = plen - (size_t)(base - path);
    if (blen == 0)
        return NULL;
    ic_buf b = IC_BUF_INIT;
    for (size_t i = 0; i < blen; i++) {
        int hi, lo;
        if (base[i] == '%' && i + 2 < blen && (hi = hexval(base[i + 1])) >= 0 &&
            (lo = hexval(base[i + 2])) >= 0) {
            ic_buf_putc(&b, (char)(hi * 16 + lo));
            i += 2;
        } else {
            ic_buf_putc(&b, base[i]);
        }
    }
    json_t *out = NULL;
    if (b.len && !memchr(b.data, '\0', b.len))
        out = json_stringn(b.data, b.len); /* NULL when the bytes are not UTF-8 */
    if (!out)
        out = json_stringn(base, blen);
    ic_buf_free(&b);
    return out;
}

/* {"link": url, "caption"?, "filename"? (documents)} */
static json_t *media_object(const attachment *a, const char *caption)
{
    json_t *m = json_object();
    json_object_set_new(m, "link", json_string(a->url));
    if (caption)
        json_object_set_new(m, "caption", json_string(caption));
    if (strcmp(a->type, "document") == 0) {
        json_t *fn = url_filename(a->url);
        if (fn)
            json_object_set_new(m, "filename", fn);
    }
    return m;
}

static json_t *media_native(const attachment *a, const char *caption)
{
    json_t *n = json_object();
    json_object_set_new(n, "type", json_string(a->type));
    json_object_set_new(n, a->type, media_object(a, caption));
    return n;
}

static bool has_link(const char *s)
{
    return strstr(s, "https://") || strstr(s, "http://");
}

static json_t *text_native(const char *text)
{
    return json_pack("{s:s, s:{s:s, s:b}}", "type", "text", "text", "body", text, "preview_url",
                     has_link(text));
}

/* ---- quick replies ------------------------------------------------------- */

static void warn_once(json_t *warnings, const char *msg)
{
    size_t i;
    json_t *w;
    json_array_foreach(warnings, i, w)
    {
        if (strcmp(json_string_value(w), msg) == 0)
            return;
    }
    json_array_append_new(warnings, json_string(msg));
}

static ic_err read_qr(const json_t *item, size_t i, qr *q, ic_errmsg *em)
{
    char p[48];
    ic_err e;
    q->type = "text";
    q->text = q->extra = NULL;
    if (json_is_string(item)) {
        q->text = json_string_value(item);
    } else if (json_is_object(item)) {
        const char *t = NULL;
        snprintf(p, sizeof p, "quick_replies[%zu].type", i);
        if ((e = ic_wa_get_str(item, "type", p, false, &t, em)))
            return e;
        if (t)
            q->type = t;
        snprintf(p, sizeof p, "quick_replies[%zu].text", i);
        if ((e = ic_wa_get_str(item, "text", p, false, &q->text, em)))
            return e;
        snprintf(p, sizeof p, "quick_replies[%zu].extra", i);
        if ((e = ic_wa_get_str(item, "extra", p, false, &q->extra, em)))
            return e;
    } else {
        return ic_errf(em, IC_ERR_INVALID, "quick_replies[%zu] must be an object or a string", i);
    }
    if (q->extra && !*q->extra)
        q->extra = NULL;
    if (q->text && !*q->text)
        q->text = NULL;
    if (strcmp(q->type, "text") != 0 && strcmp(q->type, "location") != 0 &&
        strcmp(q->type, "form") != 0 && strcmp(q->type, "url") != 0)
        return ic_errf(em, IC_ERR_INVALID,
                       "quick_replies[%zu].type must be text, location, form or url", i);
    if (strcmp(q->type, "text") == 0 && !q->text)
        return ic_errf(em, IC_ERR_INVALID, "quick_replies[%zu].text is required", i);
    return IC_OK;
}

/* Reads the quick replies into texts (at most QRS_MAX) or *special, and
 * decides the kind of interactive message, with courier's warnings. */
static ic_err plan_qrs(const json_t *arr, qr texts[QRS_MAX], size_t *ntexts, qr *special, kind *k,
                       json_t *warnings, ic_errmsg *em)
{
    size_t n = json_array_size(arr), all_texts = 0, first_special = n;
    bool has_extra = false;
    ic_err e;
    *ntexts = 0;
    *k = K_NONE;

    for (size_t i = 0; i < n; i++) {
        qr q;
        if ((e = read_qr(json_array_get(arr, i), i, &q, em)))
            return e;
        if (strcmp(q.type, "text") != 0 && first_special == n) {
            first_special = i;
            *special = q;
        }
    }
    for (size_t i = 0; i < n; i++) {
        qr q;
        read_qr(json_array_get(arr, i), i, &q, NULL);
        if (first_special < n) {
            if (i != first_special) {
                char w[160];
                snprintf(w, sizeof w,
                         "quick reply of type %s can't be combined with a %s quick reply and "
                         "won't be sent",
                         q.type, special->type);
                warn_once(warnings, w);
            }
            continue;
        }
        if (all_texts < QRS_MAX) {
            texts[all_texts] = q;
            has_extra = has_extra || q.extra;
        }
        all_texts++;
    }

    if (first_special < n) {
        if (strcmp(special->type, "location") == 0) {
            *k = K_LOCATION;
        } else if (!special->extra) {
            char w[160];
            snprintf(w, sizeof w,
                     "quick reply of type %s is missing its extra value and can't be sent",
                     special->type);
            warn_once(warnings, w);
        } else {
            *k = strcmp(special->type, "form") == 0 ? K_FORM : K_URL;
        }
        return IC_OK;
    }
    if (all_texts > QRS_MAX) {
        warn_once(warnings, "too many quick replies WhatsApp supports only up to 10 quick replies");
        all_texts = QRS_MAX;
    }
    *ntexts = all_texts;
    if (all_texts)
        *k = all_texts > BUTTONS_MAX || has_extra ? K_LIST : K_BUTTONS;
    return IC_OK;
}

static json_t *interactive_native(kind k, const char *text, const qr *texts, size_t ntexts,
                                  const qr *special, const char *locale, json_t *header)
{
    static const char *const types[] = {"",     "button", "list", "location_request_message",
                                        "flow", "cta_url"};
    json_t *inter = json_object();
    json_t *action = json_object();
    json_object_set_new(inter, "type", json_string(types[k]));
    if (header)
        json_object_set_new(inter, "header", header);
    json_object_set_new(inter, "body", json_pack("{s:s}", "text", text));

    if (k == K_BUTTONS || k == K_LIST) {
        json_t *items = json_array();
        for (size_t i = 0; i < ntexts; i++) {
            char id[24];
            snprintf(id, sizeof id, "%zu", i);
            if (k == K_BUTTONS) {
                json_array_append_new(items, json_pack("{s:s, s:{s:s, s:s}}", "type", "reply",
                                                       "reply", "id", id, "title", texts[i].text));
            } else {
                json_t *row = json_pack("{s:s, s:s}", "id", id, "title", texts[i].text);
                if (texts[i].extra)
                    json_object_set_new(row, "description", json_string(texts[i].extra));
                json_array_append_new(items, row);
            }
        }
        if (k == K_BUTTONS) {
            json_object_set_new(action, "buttons", items);
        } else {
            json_object_set_new(action, "button", json_string(ic_wa_menu_label(locale)));
            json_object_set_new(action, "sections", json_pack("[{s:o}]", "rows", items));
        }
    } else if (k == K_LOCATION) {
        json_object_set_new(action, "name", json_string("send_location"));
    } else if (k == K_FORM) {
        json_object_set_new(action, "name", json_string("flow"));
        json_object_set_new(action, "parameters",
                            json_pack("{s:s, s:s, s:s}", "flow_message_version", "3", "flow_id",
                                      special->extra, "flow_cta",
                                      special->text ? special->text : "Open Form"));
    } else {
        json_object_set_new(action, "name", json_string("cta_url"));
        json_object_set_new(action, "parameters",
                            json_pack("{s:s, s:s}", "display_text",
                                      special->text ? special->text : "Open Link", "url",
                                      special->extra));
    }
    json_object_set_new(inter, "action", action);
    return json_pack("{s:s, s:o}", "type", "interactive", "interactive", inter);
}

/* ---- templating ---------------------------------------------------------- */

typedef struct slot {
    int64_t key, index;
} slot;

static int slot_cmp(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

/* One template parameter from variable v for a component of base/sub type. */
static ic_err template_param(const json_t *v, const char *base, const char *sub, const char *path,
                             json_t **out, ic_errmsg *em)
{
    const char *vtype = NULL, *value = NULL;
    ic_err e;
    char p[96];
    *out = NULL;
    if (!json_is_object(v))
        return ic_errf(em, IC_ERR_INVALID, "%s must be an object", path);
    snprintf(p, sizeof p, "%s.type", path);
    if ((e = ic_wa_get_str(v, "type", p, true, &vtype, em)))
        return e;
    snprintf(p, sizeof p, "%s.value", path);
    if ((e = ic_wa_get_str(v, "value", p, true, &value, em)))
        return e;
    if (strcmp(base, "button") == 0) {
        if (strcmp(sub, "quick_reply") == 0)
            *out = json_pack("{s:s, s:s}", "type", "payload", "payload", value);
        else
            *out = json_pack("{s:s, s:s}", "type", "text", "text", value);
        return IC_OK;
    }
    if (strcmp(vtype, "text") == 0) {
        *out = json_pack("{s:s, s:s}", "type", "text", "text", value);
        return IC_OK;
    }
    attachment a;
    if (ic_wa_is_http_url(value)) {
        ic_strlcpy(a.type, vtype, sizeof a.type);
        a.url = value;
    } else if ((e = parse_attachment(value, p, &a, em))) {
        return e;
    }
    if (strcmp(vtype, "image") != 0 && strcmp(vtype, "video") != 0 &&
        strcmp(vtype, "document") != 0)
        return ic_errf(em, IC_ERR_INVALID, "%s.type must be text, image, video or document", path);
    ic_strlcpy(a.type, vtype, sizeof a.type);
    *out = media_native(&a, NULL);
    return IC_OK;
}

static ic_err template_component(const json_t *c, const json_t *vars, size_t ci, json_t **out,
                                 ic_errmsg *em)
{
    const char *type = NULL, *name = NULL;
    const json_t *slots_obj = NULL;
    slot slots[TEMPLATE_VARS_MAX];
    size_t ns = 0;
    char p[64], base[16], sub[32] = "";
    json_t *params = NULL;
    ic_err e;
    *out = NULL;

    if (!json_is_object(c))
        return ic_errf(em, IC_ERR_INVALID, "templating.components[%zu] must be an object", ci);
    snprintf(p, sizeof p, "templating.components[%zu].type", ci);
    if ((e = ic_wa_get_str(c, "type", p, true, &type, em)))
        return e;
    size_t blen = strcspn(type, "/");
    if (blen >= sizeof base)
        return ic_errf(em, IC_ERR_INVALID, "%s is not a template component type", p);
    memcpy(base, type, blen);
    base[blen] = '\0';
    if (type[blen] == '/')
        ic_strlcpy(sub, type + blen + 1, sizeof sub);
    snprintf(p, sizeof p, "templating.components[%zu].name", ci);
    if ((e = ic_wa_get_str(c, "name", p, false, &name, em)))
        return e;
    snprintf(p, sizeof p, "templating.components[%zu].variables", ci);
    if ((e = ic_wa_get_obj(c, "variables", p, false, &slots_obj, em)))
        return e;
    if (json_object_size(slots_obj) > TEMPLATE_VARS_MAX)
        return ic_errf(em, IC_ERR_INVALID, "%s has more than %d entries", p, TEMPLATE_VARS_MAX);

    const char *key;
    json_t *val;
    json_object_foreach((json_t *)slots_obj, key, val)
    {
        if (ic_parse_i64(key, &slots[ns].key) != IC_OK || !json_is_integer(val) ||
            json_integer_value(val) < 0 || (size_t)json_integer_value(val) >= json_array_size(vars))
            return ic_errf(em, IC_ERR_INVALID,
                           "%s must map numbers to positions in templating.variables", p);
        slots[ns++].index = json_integer_value(val);
    }
    if (ns == 0)
        return IC_OK; /* nothing to fill in: Meta needs no component */
    qsort(slots, ns, sizeof slots[0], slot_cmp);

    bool button = strcmp(base, "button") == 0;
    if (!button && strcmp(base, "header") != 0 && strcmp(base, "body") != 0)
        return ic_errf(em, IC_ERR_INVALID,
                       "templating.components[%zu].type \"%s\" takes no variables", ci, type);
    if (button && strcmp(sub, "quick_reply") != 0 && strcmp(sub, "url") != 0)
        return ic_errf(em, IC_ERR_INVALID,
                       "templating.components[%zu].type must be button/quick_reply or button/url",
                       ci);
    const char *index = name && ic_str_starts(name, "button.") ? name + 7 : NULL;
    int64_t iv;
    if (button && (!index || ic_parse_i64(index, &iv) != IC_OK || iv < 0 || iv > 9))
        return ic_errf(em, IC_ERR_INVALID,
                       "templating.components[%zu].name must be \"button.N\" for a button", ci);

    params = json_array();
    for (size_t i = 0; i < ns; i++) {
        json_t *prm = NULL;
        snprintf(p, sizeof p, "templating.variables[%lld]", (long long)slots[i].index);
        if ((e = template_param(json_array_get(vars, (size_t)slots[i].index), base, sub, p, &prm,
                                em))) {
            json_decref(params);
            return e;
        }
        json_array_append_new(params, prm);
    }
    if (button)
        *out = json_pack("{s:s, s:s, s:s, s:o}", "type", "button", "sub_type", sub, "index", index,
                         "parameters", params);
    else
        *out = json_pack("{s:s, s:o}", "type", base, "parameters", params);
    return IC_OK;
}

static ic_err templating_native(const json_t *tpl, json_t **out, ic_errmsg *em)
{
    const json_t *t = NULL, *comps = NULL, *vars = NULL;
    const char *name = NULL, *lang = NULL;
    json_t *components = NULL;
    ic_err e;
    *out = NULL;

    if (!json_is_object(tpl))
        return ic_errf(em, IC_ERR_INVALID, "templating must be an object");
    if ((e = ic_wa_get_obj(tpl, "template", "templating.template", true, &t, em)))
        return e;
    if ((e = ic_wa_get_str(t, "name", "templating.template.name", true, &name, em)))
        return e;
    if ((e = ic_wa_get_str(tpl, "language", "templating.language", true, &lang, em)))
        return e;
    if (!*lang)
        return ic_errf(em, IC_ERR_INVALID, "templating.language is empty");
    if ((e = ic_wa_get_arr(tpl, "components", "templating.components", false, &comps, em)))
        return e;
    if ((e = ic_wa_get_arr(tpl, "variables", "templating.variables", false, &vars, em)))
        return e;

    components = json_array();
    for (size_t i = 0; i < json_array_size(comps); i++) {
        json_t *c = NULL;
        if ((e = template_component(json_array_get(comps, i), vars, i, &c, em))) {
            json_decref(components);
            return e;
        }
        if (c)
            json_array_append_new(components, c);
    }
    json_t *body = json_pack("{s:s, s:{s:s, s:s}}", "name", name, "language", "policy",
                             "deterministic", "code", lang);
    if (json_array_size(components))
        json_object_set_new(body, "components", components);
    else
        json_decref(components);
    *out = json_pack("{s:s, s:o}", "type", "template", "template", body);
    return IC_OK;
}

/* ---- the form ------------------------------------------------------------ */

ic_err ic_wa_simple_to_native(const json_t *msg, json_t *natives[2], size_t *count,
                              json_t *warnings, ic_errmsg *em)
{
    const char *text = NULL, *locale = NULL;
    const json_t *atts = NULL, *qrs = NULL;
    json_t *tpl;
    qr texts[QRS_MAX], special = {0};
    size_t ntexts = 0;
    attachment att;
    bool has_att = false;
    kind k = K_NONE;
    ic_err e;

    natives[0] = natives[1] = NULL;
    *count = 0;

    tpl = json_object_get(msg, "templating");
    if (tpl && !json_is_null(tpl)) {
        if ((e = templating_native(tpl, &natives[0], em)))
            return e;
        *count = 1;
        return IC_OK;
    }

    if ((e = ic_wa_get_str(msg, "text", "text", false, &text, em)))
        return e;
    if (text && !*text)
        text = NULL;
    if ((e = ic_wa_get_str(msg, "locale", "locale", false, &locale, em)))
        return e;
    if ((e = ic_wa_get_arr(msg, "attachments", "attachments", false, &atts, em)))
        return e;
    if (json_array_size(atts) > 1)
        return ic_errf(em, IC_ERR_LIMIT,
                       "attachments has %zu items; a WhatsApp message carries one (send the others "
                       "as messages of their own)",
                       json_array_size(atts));
    if (json_array_size(atts) == 1) {
        json_t *a = json_array_get(atts, 0);
        if (!json_is_string(a))
            return ic_errf(em, IC_ERR_INVALID, "attachments[0] must be a string");
        if ((e = parse_attachment(json_string_value(a), "attachments[0]", &att, em)))
            return e;
        has_att = true;
    }
    if ((e = ic_wa_get_arr(msg, "quick_replies", "quick_replies", false, &qrs, em)))
        return e;
    if (json_array_size(qrs) && (e = plan_qrs(qrs, texts, &ntexts, &special, &k, warnings, em)))
        return e;

    if (!text && !has_att)
        return ic_errf(em, IC_ERR_INVALID, "the message has no text, attachment or template");
    if (!text && json_array_size(qrs))
        return ic_errf(em, IC_ERR_INVALID, "quick replies need a text to go with them");

    if (k == K_NONE) {
        if (!has_att) {
            natives[(*count)++] = text_native(text);
        } else if (text && strcmp(att.type, "audio") != 0 && ic_utf8_len(text) <= CAPTION_MAX) {
            natives[(*count)++] = media_native(&att, text);
        } else {
            natives[(*count)++] = media_native(&att, NULL);
            if (text)
                natives[(*count)++] = text_native(text);
        }
        return IC_OK;
    }

    /* Reply buttons and URL buttons show an image, video or document as their
     * header; anything else goes first as a message of its own. */
    json_t *header = NULL;
    if (has_att) {
        if ((k == K_BUTTONS || k == K_URL) && strcmp(att.type, "audio") != 0)
            header = json_pack("{s:s, s:o}", "type", att.type, att.type, media_object(&att, NULL));
        else
            natives[(*count)++] = media_native(&att, NULL);
    }
    natives[(*count)++] = interactive_native(k, text, texts, ntexts, &special, locale, header);
    return IC_OK;
}
