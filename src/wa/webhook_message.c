/* webhook_message.c - one item of value.messages[] into one normalised
 * MESSAGE event (or an IGNORED one saying why it cannot be used).
 *
 * The content keeps Meta's own object of the type under the type's name
 * ("image", "location", ...), shared with the parsed body rather than copied,
 * and adds the normalised fields (text, media_id, mime_type, payload, ...)
 * at the top level. See docs/internals/webhook-events.md.
 */
#include "base/log.h"
#include "wa/webhook_internal.h"

#include <stdio.h>
#include <string.h>

typedef enum msg_class {
    C_TEXT,
    C_MEDIA,
    C_LOCATION,
    C_CONTACTS,
    C_INTERACTIVE,
    C_BUTTON,
    C_REACTION,
    C_ORDER,
    C_SYSTEM,
    C_UNSUPPORTED,
    C_UNKNOWN,
} msg_class;

static const struct {
    const char *name;
    msg_class cls;
} known_types[] = {
    {"text", C_TEXT},
    {"image", C_MEDIA},
    {"video", C_MEDIA},
    {"audio", C_MEDIA},
    {"voice", C_MEDIA},
    {"document", C_MEDIA},
    {"sticker", C_MEDIA},
    {"location", C_LOCATION},
    {"contacts", C_CONTACTS},
    {"interactive", C_INTERACTIVE},
    {"button", C_BUTTON},
    {"reaction", C_REACTION},
    {"order", C_ORDER},
    {"system", C_SYSTEM},
    {"unsupported", C_UNSUPPORTED},
};

/* Top-level keys of a message's content: an unknown type with one of these
 * names could not keep its object under its own name. */
static const char *const reserved_keys[] = {
    "kind",
    "type",
    "id",
    "from",
    "from_user_id",
    "timestamp",
    "phone_number_id",
    "contact_name",
    "text",
    "media_id",
    "mime_type",
    "payload",
    "voice",
    "removed",
    "response",
    "response_error",
    "new_wa_id",
    "context",
    "referral",
    "group_id",
    "errors",
    "reason",
    "raw",
};

/* What a type handler found; json values are borrowed from the body except
 * response, which is owned. */
typedef struct norm {
    json_t *obj;  /* Meta's object of the type, kept in content */
    json_t *text; /* the readable text */
    json_t *media_id;
    json_t *mime_type;
    json_t *payload;
    json_t *response;           /* owned: nfm_reply response_json as an object */
    const char *response_error; /* why response_json was not kept as an object */
    json_t *new_wa_id;
    bool voice;
    bool removed;
} norm;

static msg_class class_of(const char *type)
{
    for (size_t i = 0; i < sizeof known_types / sizeof known_types[0]; i++)
        if (strcmp(type, known_types[i].name) == 0)
            return known_types[i].cls;
    return C_UNKNOWN;
}

/* Meta's type names are short lower-case words; anything else is not one. */
static bool type_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static bool reserved(const char *s)
{
    for (size_t i = 0; i < sizeof reserved_keys / sizeof reserved_keys[0]; i++)
        if (strcmp(s, reserved_keys[i]) == 0)
            return true;
    return false;
}

static bool contact_matches(json_t *ct, const char *a, const char *b)
{
    const char *keys[] = {"wa_id", "user_id"};
    for (size_t k = 0; k < 2; k++) {
        const char *v = json_string_value(json_object_get(ct, keys[k]));
        if (v && ((a && strcmp(v, a) == 0) || (b && strcmp(v, b) == 0)))
            return true;
    }
    return false;
}

/* profile.name of the contacts[] item whose wa_id or user_id is one of the
 * sender's ids. Contacts usually come in message order, so the scan starts
 * after the previous match. */
static json_t *contact_name(ic_wa_ctx *c, const char *from, const char *user_id)
{
    size_t n = json_array_size(c->contacts);
    for (size_t k = 0; k < n; k++) {
        size_t i = (c->contact_hint + k) % n;
        json_t *ct = json_array_get(c->contacts, i);
        if (json_is_object(ct) && contact_matches(ct, from, user_id)) {
            c->contact_hint = i + 1;
            return ic_wa_hook_str(json_object_get(ct, "profile"), "name");
        }
    }
    return NULL;
}

static void interactive_reply(ic_wa_ctx *c, json_t *obj, norm *n)
{
    const char *itype = json_string_value(json_object_get(obj, "type"));
    if (!itype)
        return;
    json_t *sub = json_object_get(obj, itype);
    if (!json_is_object(sub))
        return;
    if (strcmp(itype, "button_reply") == 0 || strcmp(itype, "list_reply") == 0) {
        n->text = ic_wa_hook_str(sub, "title");
        n->payload = ic_wa_hook_str(sub, "id");
        return;
    }
    if (strcmp(itype, "nfm_reply") != 0)
        return;
    n->text = ic_wa_hook_str(sub, "body");
    json_t *rj = json_object_get(sub, "response_json");
    if (!rj)
        return;
    json_t *parsed = NULL;
    if (json_is_string(rj))
        ic_wa_json_load(json_string_value(rj), json_string_length(rj), &parsed, NULL);
    if (json_is_object(parsed)) {
        n->response = parsed;
        return;
    }
    json_decref(parsed);
    n->response_error = "response_json is not a JSON object";
    IC_WARN("wa_flow_response_not_object", "phone_number_id=%s",
            c->phone_number_id ? json_string_value(c->phone_number_id) : "-");
}

/* Fills n from the type's object; false when the object a known type needs
 * is missing or has the wrong shape. */
static bool normalise_type(ic_wa_ctx *c, json_t *m, const char *type, msg_class cls, norm *n)
{
    json_t *obj = json_object_get(m, type);
    switch (cls) {
    case C_TEXT:
        n->text = json_is_object(obj) ? json_object_get(obj, "body") : NULL;
        return json_is_string(n->text);
    case C_CONTACTS:
        n->obj = obj;
        return json_is_array(obj);
    case C_UNSUPPORTED:
    case C_UNKNOWN:
        n->obj = obj;
        return true;
    default:
        break;
    }
    if (!json_is_object(obj))
        return false;
    n->obj = obj;
    switch (cls) {
    case C_MEDIA:
        n->media_id = ic_wa_hook_str(obj, "id");
        n->mime_type = ic_wa_hook_str(obj, "mime_type");
        n->text = ic_wa_hook_str(obj, "caption");
        n->voice = strcmp(type, "voice") == 0 ||
                   (strcmp(type, "audio") == 0 && json_is_true(json_object_get(obj, "voice")));
        return true;
    case C_LOCATION:
        return json_is_number(json_object_get(obj, "latitude")) &&
               json_is_number(json_object_get(obj, "longitude"));
    case C_INTERACTIVE:
        interactive_reply(c, obj, n);
        return true;
    case C_BUTTON:
        n->text = ic_wa_hook_str(obj, "text");
        n->payload = ic_wa_hook_str(obj, "payload");
        return true;
    case C_REACTION: {
        json_t *emoji = json_object_get(obj, "emoji");
        if (!emoji || (json_is_string(emoji) && json_string_length(emoji) == 0))
            n->removed = true;
        else
            n->text = ic_wa_hook_str(obj, "emoji");
        return true;
    }
    case C_ORDER:
        n->text = ic_wa_hook_str(obj, "text");
        return true;
    case C_SYSTEM: {
        n->text = ic_wa_hook_str(obj, "body");
        json_t *wa = ic_wa_hook_str(obj, "wa_id");
        if (wa && ic_wa_id_ok(json_string_value(wa)))
            n->new_wa_id = wa;
        return true;
    }
    default:
        return true;
    }
}

/* The sender: "from" when given, else "from_user_id" (a BSUID). Returns NULL
 * when neither is a valid WhatsApp id. *extra is from_user_id when it is
 * valid and differs from the sender. */
static json_t *sender_of(json_t *m, json_t **extra)
{
    *extra = NULL;
    json_t *from = json_object_get(m, "from");
    json_t *uid = json_object_get(m, "from_user_id");
    if (json_is_null(from) || (json_is_string(from) && json_string_length(from) == 0))
        from = NULL;
    json_t *sender = from ? from : uid;
    if (!json_is_string(sender) || !ic_wa_id_ok(json_string_value(sender)))
        return NULL;
    if (sender == from && json_is_string(uid) && json_string_length(uid) > 0) {
        if (!ic_wa_id_ok(json_string_value(uid))) {
            char masked[32];
            ic_mask_phone(json_string_value(from), masked, sizeof masked);
            IC_INFO("wa_invalid_user_id", "from=%s", masked);
        } else if (strcmp(json_string_value(uid), json_string_value(from)) != 0) {
            *extra = uid;
        }
    }
    return sender;
}

void ic_wa_parse_message(ic_wa_ctx *c, json_t *m)
{
    if (!json_is_object(m)) {
        ic_wa_ctx_ignore(c, "invalid message: not an object", NULL, m);
        return;
    }
    json_t *id = ic_wa_hook_str(m, "id");
    if (!id || json_string_length(id) > IC_WA_MAX_ID) {
        ic_wa_ctx_ignore(c, "invalid message: missing id", NULL, m);
        return;
    }
    if (!ic_wa_idset_add(&c->seen, id))
        return; /* the same message twice in one body: keep the first */
    int64_t ts;
    if (!ic_wa_timestamp(json_object_get(m, "timestamp"), &ts)) {
        ic_wa_ctx_ignore(c, "invalid timestamp", id, m);
        return;
    }
    json_t *extra_uid;
    json_t *from = sender_of(m, &extra_uid);
    if (!from) {
        ic_wa_ctx_ignore(c, "invalid whatsapp id", id, m);
        return;
    }
    json_t *jtype = ic_wa_hook_str(m, "type");
    const char *type = json_string_value(jtype);
    if (!jtype || !type_name_ok(type, json_string_length(jtype))) {
        ic_wa_ctx_ignore(c, "invalid message type", id, m);
        return;
    }
    msg_class cls = class_of(type);
    if (cls == C_UNKNOWN && reserved(type)) {
        ic_wa_ctx_ignore(c, "invalid message type", id, m);
        return;
    }
    norm n = {0};
    if (!normalise_type(c, m, type, cls, &n)) {
        char reason[80];
        snprintf(reason, sizeof reason, "invalid %s message", type);
        ic_wa_ctx_ignore(c, reason, id, m);
        return;
    }
    if (cls == C_UNKNOWN) {
        char name[80];
        ic_wa_sanitise(type, name, sizeof name);
        IC_WARN("wa_unknown_message_type", "type=%s", name);
    }

    /* "voice" is courier's name for a voice note: it becomes an audio message. */
    const char *key = strcmp(type, "voice") == 0 ? "audio" : type;
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("message"));
    if (key == type)
        json_object_set(o, "type", jtype);
    else
        json_object_set_new(o, "type", json_string(key));
    const char *ids = ic_wa_put(o, "id", id);
    const char *froms = ic_wa_put(o, "from", from);
    json_object_set_new(o, "timestamp", json_integer(ts));
    if (c->phone_number_id)
        json_object_set(o, "phone_number_id", c->phone_number_id);
    const char *name = ic_wa_put(
        o, "contact_name", contact_name(c, froms, extra_uid ? json_string_value(extra_uid) : NULL));
    ic_wa_put(o, "from_user_id", extra_uid);
    const char *group = ic_wa_put(o, "group_id", ic_wa_hook_str(m, "group_id"));
    const char *text = ic_wa_put(o, "text", n.text);
    const char *media = ic_wa_put(o, "media_id", n.media_id);
    const char *mime = ic_wa_put(o, "mime_type", n.mime_type);
    if (n.voice)
        json_object_set_new(o, "voice", json_true());
    ic_wa_put(o, "payload", n.payload);
    if (n.removed)
        json_object_set_new(o, "removed", json_true());
    if (n.response)
        json_object_set_new(o, "response", n.response);
    if (n.response_error)
        json_object_set_new(o, "response_error", json_string(n.response_error));
    ic_wa_put(o, "new_wa_id", n.new_wa_id);
    if (n.obj)
        json_object_set(o, key, n.obj);
    const char *ctx_id = NULL;
    json_t *ctx = json_object_get(m, "context");
    if (json_is_object(ctx)) {
        json_object_set(o, "context", ctx);
        ctx_id = json_string_value(ic_wa_hook_str(ctx, "id"));
    }
    json_t *referral = json_object_get(m, "referral");
    if (json_is_object(referral))
        json_object_set(o, "referral", referral);
    int code = 0;
    const char *title = NULL;
    json_t *errs = ic_wa_errors_normalise(json_object_get(m, "errors"), &code, &title);
    if (errs)
        json_object_set_new(o, "errors", errs);

    ic_wa_event *ev = ic_wa_ctx_push(c, IC_WA_MESSAGE, o);
    if (!ev)
        return;
    ev->id = ids;
    ev->phone_number_id = json_string_value(c->phone_number_id);
    ev->from = froms;
    ev->contact_name = name;
    ev->text = text;
    ev->media_id = media;
    ev->mime_type = mime;
    ev->context_id = ctx_id;
    ev->group_id = group;
    ev->timestamp = ts;
    ev->error_code = code;
    ev->error_title = title;
}
