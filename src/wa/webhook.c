/* webhook.c - the WhatsApp webhook: handshake, signature, and the walk over
 * entry[].changes[] that turns a body into events. Messages are normalised in
 * webhook_message.c; statuses and errors here.
 */
#include "wa/webhook.h"

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/str.h"
#include "wa/webhook_internal.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define SIG_PREFIX "sha256="
#define MAX_CHALLENGE 256

bool ic_wa_signature_ok(const char *app_secret, const char *header_value, const void *body,
                        size_t len)
{
    if (!app_secret || !*app_secret || !header_value)
        return false;
    if (!body && len > 0)
        return false;
    size_t plen = sizeof SIG_PREFIX - 1;
    if (strncmp(header_value, SIG_PREFIX, plen) != 0)
        return false;
    const char *hex = header_value + plen;
    if (strlen(hex) != 64)
        return false;
    char given[65];
    for (size_t i = 0; i < 64; i++) {
        char ch = hex[i];
        if (ch >= 'A' && ch <= 'F')
            ch = (char)(ch - 'A' + 'a');
        else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return false;
        given[i] = ch;
    }
    given[64] = '\0';
    char want[65];
    ic_hmac_sha256_hex(app_secret, strlen(app_secret), body ? body : "", len, want);
    return ic_ct_equal(given, 64, want, 64);
}

ic_err ic_wa_verify_get(const char *mode, const char *token, const char *challenge,
                        const char *expected_token)
{
    if (!mode || strcmp(mode, "subscribe") != 0)
        return IC_ERR_INVALID;
    if (!token || !expected_token || !*expected_token ||
        !ic_ct_equal(token, strlen(token), expected_token, strlen(expected_token)))
        return IC_ERR_AUTH;
    if (!challenge)
        return IC_ERR_INVALID;
    size_t n = strnlen(challenge, MAX_CHALLENGE + 1);
    if (n == 0 || n > MAX_CHALLENGE)
        return IC_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)challenge[i] < 0x20 || (unsigned char)challenge[i] > 0x7e)
            return IC_ERR_INVALID;
    return IC_OK;
}

/* Nesting depth of arrays and objects, counted outside strings, stopping as
 * soon as it passes the bound. Malformed input is left for jansson. */
static bool depth_ok(const char *s, size_t len)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '{' || ch == '[') {
            if (++depth > IC_WA_MAX_DEPTH)
                return false;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return true;
}

ic_err ic_wa_json_load(const char *s, size_t len, json_t **out, ic_errmsg *em)
{
    *out = NULL;
    if (!s)
        return ic_errf(em, IC_ERR_PARSE, "unable to parse request JSON: no body");
    if (!depth_ok(s, len))
        return ic_errf(em, IC_ERR_PARSE,
                       "unable to parse request JSON: nested deeper than %d levels",
                       IC_WA_MAX_DEPTH);
    json_error_t jerr;
    json_t *root = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        /* jansson quotes the offending token after " near "; a token may be a
         * piece of a message, so only the explanation and position are kept. */
        char *near = strstr(jerr.text, " near ");
        if (near)
            *near = '\0';
        return ic_errf(em, IC_ERR_PARSE, "unable to parse request JSON: %s at line %d column %d",
                       jerr.text, jerr.line, jerr.column);
    }
    *out = root;
    return IC_OK;
}

void ic_wa_sanitise(const char *s, char *out, size_t size)
{
    if (size == 0)
        return;
    size_t n = 0;
    for (; s && s[n] && n < 64 && n + 1 < size; n++) {
        unsigned char ch = (unsigned char)s[n];
        out[n] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    out[n] = '\0';
}

const char *ic_wa_put(json_t *obj, const char *key, json_t *val)
{
    if (!val)
        return NULL;
    json_object_set(obj, key, val);
    return json_string_value(val);
}

json_t *ic_wa_hook_str(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v) || json_string_length(v) == 0)
        return NULL;
    return v;
}

bool ic_wa_timestamp(const json_t *v, int64_t *out)
{
    int64_t ts = 0;
    if (json_is_integer(v)) {
        ts = json_integer_value(v);
        if (ts < 0)
            return false;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n == 0 || n > 18)
            return false;
        for (size_t i = 0; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return false;
            ts = ts * 10 + (s[i] - '0');
        }
    } else {
        return false;
    }
    if (ts >= 1000000000000LL)
        ts /= 1000;
    if (ts >= 1000000000000LL)
        return false;
    *out = ts;
    return true;
}

bool ic_wa_id_ok(const char *s)
{
    if (!s || !*s)
        return false;
    size_t n = strnlen(s, 80);
    if (s[0] >= '0' && s[0] <= '9') {
        if (n > 32)
            return false;
        for (size_t i = 0; i < n; i++)
            if (s[i] < '0' || s[i] > '9')
                return false;
        return true;
    }
    if (n < 4 || n > 67 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' || s[2] != '.')
        return false;
    for (size_t i = 3; i < n; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
            return false;
    }
    return true;
}

/* FNV-1a over the bytes of a JSON string. */
static size_t id_hash(const json_t *s)
{
    const unsigned char *p = (const unsigned char *)json_string_value(s);
    size_t n = json_string_length(s);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

static bool id_equal(const json_t *a, const json_t *b)
{
    size_t n = json_string_length(a);
    return n == json_string_length(b) && memcmp(json_string_value(a), json_string_value(b), n) == 0;
}

static void idset_place(json_t **slots, size_t cap, json_t *id)
{
    size_t i = id_hash(id) & (cap - 1);
    while (slots[i])
        i = (i + 1) & (cap - 1);
    slots[i] = id;
}

bool ic_wa_idset_add(ic_wa_idset *s, json_t *id)
{
    if (s->cap) {
        size_t i = id_hash(id) & (s->cap - 1);
        for (; s->slots[i]; i = (i + 1) & (s->cap - 1))
            if (id_equal(s->slots[i], id))
                return false;
    }
    if ((s->count + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        json_t **nslots = ic_calloc(ncap, sizeof *nslots);
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i])
                idset_place(nslots, ncap, s->slots[i]);
        ic_free(s->slots);
        s->slots = nslots;
        s->cap = ncap;
    }
    idset_place(s->slots, s->cap, id);
    s->count++;
    return true;
}

void ic_wa_idset_free(ic_wa_idset *s)
{
    ic_free(s->slots);
    s->slots = NULL;
    s->cap = s->count = 0;
}

ic_wa_event *ic_wa_ctx_push(ic_wa_ctx *c, ic_wa_kind kind, json_t *content)
{
    ic_wa_batch *b = c->out;
    if (c->too_big || b->count >= IC_WA_MAX_EVENTS) {
        c->too_big = true;
        json_decref(content);
        return NULL;
    }
    if (b->count == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 4;
        b->events = ic_realloc(b->events, ncap * sizeof *b->events);
        b->cap = ncap;
    }
    ic_wa_event *ev = &b->events[b->count++];
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->content = content;
    ev->type = json_string_value(json_object_get(content, "type"));
    return ev;
}

/* A new content object with kind and type. */
static json_t *content_new(const char *kind, json_t *type)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set(o, "type", type);
    return o;
}

/* A new IGNORED content object: kind, type and reason (copied). */
static json_t *ignored_new(const char *reason)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("ignored"));
    json_object_set_new(o, "type", json_string("ignored"));
    json_object_set_new(o, "reason", json_string(reason));
    return o;
}

static ic_wa_event *push_ignored(ic_wa_ctx *c, json_t *o)
{
    ic_wa_event *ev = ic_wa_ctx_push(c, IC_WA_IGNORED, o);
    if (!ev)
        return NULL;
    ev->reason = json_string_value(json_object_get(o, "reason"));
    ev->phone_number_id = json_string_value(c->phone_number_id);
    return ev;
}

void ic_wa_ctx_ignore(ic_wa_ctx *c, const char *reason, json_t *id, json_t *raw)
{
    json_t *o = ignored_new(reason);
    const char *ids = NULL;
    if (json_is_string(id))
        ids = ic_wa_put(o, "id", id);
    ic_wa_put(o, "phone_number_id", c->phone_number_id);
    if (raw)
        json_object_set(o, "raw", raw);
    ic_wa_event *ev = push_ignored(c, o);
    if (ev)
        ev->id = ids;
}

/* One error object of Meta's errors[] in our shape, or NULL when e is not an
 * object. */
static json_t *error_normalise(const json_t *e)
{
    if (!json_is_object(e))
        return NULL;
    json_t *o = json_object();
    json_t *code = json_object_get(e, "code");
    if (json_is_integer(code))
        json_object_set(o, "code", code);
    ic_wa_put(o, "title", ic_wa_hook_str(e, "title"));
    ic_wa_put(o, "message", ic_wa_hook_str(e, "message"));
    json_t *details = ic_wa_hook_str(e, "details");
    if (!details)
        details = ic_wa_hook_str(json_object_get(e, "error_data"), "details");
    ic_wa_put(o, "details", details);
    ic_wa_put(o, "href", ic_wa_hook_str(e, "href"));
    return o;
}

/* The first error's code (clamped to int) and title, or message. */
static void error_first(const json_t *norm, int *code, const char **title)
{
    json_int_t v = json_integer_value(json_object_get(norm, "code"));
    if (code)
        *code = v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
    if (title) {
        *title = json_string_value(json_object_get(norm, "title"));
        if (!*title)
            *title = json_string_value(json_object_get(norm, "message"));
    }
}

json_t *ic_wa_errors_normalise(const json_t *errors, int *code, const char **title)
{
    if (!json_is_array(errors))
        return NULL;
    json_t *arr = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        json_t *o = error_normalise(e);
        if (o)
            json_array_append_new(arr, o);
    }
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return NULL;
    }
    error_first(json_array_get(arr, 0), code, title);
    return arr;
}

static bool status_known(const char *s)
{
    static const char *const known[] = {"sent", "delivered", "read", "played", "failed"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(s, known[i]) == 0)
            return true;
    return false;
}

static void parse_status(ic_wa_ctx *c, json_t *st)
{
    if (!json_is_object(st)) {
        ic_wa_ctx_ignore(c, "invalid status: not an object", NULL, st);
        return;
    }
    json_t *id = ic_wa_hook_str(st, "id");
    if (!id || json_string_length(id) > IC_WA_MAX_ID) {
        ic_wa_ctx_ignore(c, "invalid status: missing message id", NULL, st);
        return;
    }
    json_t *status = ic_wa_hook_str(st, "status");
    if (!status) {
        ic_wa_ctx_ignore(c, "invalid status: missing status", id, st);
        return;
    }
    const char *s = json_string_value(status);
    if (!status_known(s)) {
        char name[80], reason[128];
        ic_wa_sanitise(s, name, sizeof name);
        if (strcmp(s, "deleted") == 0)
            snprintf(reason, sizeof reason, "ignoring status: %s", name);
        else
            snprintf(reason, sizeof reason, "unknown status: %s", name);
        ic_wa_ctx_ignore(c, reason, id, st);
        return;
    }
    int64_t ts;
    if (!ic_wa_timestamp(json_object_get(st, "timestamp"), &ts)) {
        ic_wa_ctx_ignore(c, "invalid timestamp", id, st);
        return;
    }
    json_t *o = content_new("status", status);
    const char *ids = ic_wa_put(o, "id", id);
    json_t *recipient = ic_wa_hook_str(st, "recipient_id");
    if (!recipient)
        recipient = ic_wa_hook_str(st, "recipient_user_id");
    const char *rcpt = ic_wa_put(o, "recipient", recipient);
    json_object_set_new(o, "timestamp", json_integer(ts));
    json_object_set(o, "status", status);
    ic_wa_put(o, "phone_number_id", c->phone_number_id);
    const char *opaque =
        ic_wa_put(o, "biz_opaque_callback_data", ic_wa_hook_str(st, "biz_opaque_callback_data"));
    ic_wa_put(o, "recipient_type", ic_wa_hook_str(st, "recipient_type"));
    ic_wa_put(o, "recipient_participant_id", ic_wa_hook_str(st, "recipient_participant_id"));
    json_t *conv = json_object_get(st, "conversation");
    if (json_is_object(conv))
        json_object_set(o, "conversation", conv);
    json_t *pricing = json_object_get(st, "pricing");
    if (json_is_object(pricing))
        json_object_set(o, "pricing", pricing);
    int code = 0;
    const char *title = NULL;
    json_t *errs = ic_wa_errors_normalise(json_object_get(st, "errors"), &code, &title);
    if (errs)
        json_object_set_new(o, "errors", errs);
    ic_wa_event *ev = ic_wa_ctx_push(c, IC_WA_STATUS, o);
    if (!ev)
        return;
    ev->id = ids;
    ev->recipient = rcpt;
    ev->biz_opaque = opaque;
    ev->phone_number_id = json_string_value(c->phone_number_id);
    ev->timestamp = ts;
    ev->error_code = code;
    ev->error_title = title;
}

static void parse_error(ic_wa_ctx *c, json_t *e)
{
    json_t *norm = error_normalise(e);
    if (!norm) {
        ic_wa_ctx_ignore(c, "invalid error: not an object", NULL, e);
        return;
    }
    int code = 0;
    const char *title = NULL;
    error_first(norm, &code, &title);
    json_t *type = json_string("error");
    json_t *o = content_new("error", type);
    json_decref(type);
    ic_wa_put(o, "phone_number_id", c->phone_number_id);
    json_t *arr = json_array();
    json_array_append_new(arr, norm);
    json_object_set_new(o, "errors", arr);
    ic_wa_event *ev = ic_wa_ctx_push(c, IC_WA_ERROR, o);
    if (!ev)
        return;
    ev->phone_number_id = json_string_value(c->phone_number_id);
    ev->error_code = code;
    ev->error_title = title;
}

/* Calls fn on every item of value[key]; a present key that is not an array
 * becomes one IGNORED event. */
static void each_item(ic_wa_ctx *c, json_t *value, const char *key,
                      void (*fn)(ic_wa_ctx *, json_t *))
{
    json_t *arr = json_object_get(value, key);
    if (!arr)
        return;
    if (!json_is_array(arr)) {
        char reason[64];
        snprintf(reason, sizeof reason, "invalid %s: not an array", key);
        ic_wa_ctx_ignore(c, reason, NULL, arr);
        return;
    }
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item)
    {
        if (c->too_big)
            return;
        fn(c, item);
    }
}

static void parse_unhandled(ic_wa_ctx *c, json_t *entry_id, json_t *field, json_t *value)
{
    char name[80], reason[128];
    ic_wa_sanitise(json_string_value(field), name, sizeof name);
    snprintf(reason, sizeof reason, "unhandled field %s", name);
    json_t *o = ignored_new(reason);
    json_object_set(o, "field", field);
    if (json_is_string(entry_id))
        json_object_set(o, "entry_id", entry_id);
    if (value)
        json_object_set(o, "value", value);
    push_ignored(c, o);
}

static void parse_change(ic_wa_ctx *c, json_t *entry_id, json_t *change)
{
    c->phone_number_id = NULL;
    c->contacts = NULL;
    c->contact_hint = 0;
    if (!json_is_object(change)) {
        ic_wa_ctx_ignore(c, "invalid change: not an object", NULL, change);
        return;
    }
    json_t *field = ic_wa_hook_str(change, "field");
    if (!field) {
        ic_wa_ctx_ignore(c, "invalid change: missing field", NULL, change);
        return;
    }
    json_t *value = json_object_get(change, "value");
    if (strcmp(json_string_value(field), "messages") != 0) {
        parse_unhandled(c, entry_id, field, value);
        return;
    }
    if (!json_is_object(value)) {
        ic_wa_ctx_ignore(c, "invalid change: value is not an object", NULL, change);
        return;
    }
    c->phone_number_id = ic_wa_hook_str(json_object_get(value, "metadata"), "phone_number_id");
    json_t *contacts = json_object_get(value, "contacts");
    c->contacts = json_is_array(contacts) ? contacts : NULL;
    each_item(c, value, "messages", ic_wa_parse_message);
    each_item(c, value, "statuses", parse_status);
    each_item(c, value, "errors", parse_error);
}

static void parse_root(ic_wa_ctx *c, json_t *root)
{
    json_t *object = json_object_get(root, "object");
    if (!json_is_string(object) ||
        strcmp(json_string_value(object), "whatsapp_business_account") != 0) {
        char name[80], reason[128];
        if (json_is_string(object))
            ic_wa_sanitise(json_string_value(object), name, sizeof name);
        else
            ic_strlcpy(name, "(missing)", sizeof name);
        snprintf(reason, sizeof reason, "unknown object %s", name);
        ic_wa_ctx_ignore(c, reason, NULL, NULL);
        return;
    }
    json_t *entries = json_object_get(root, "entry");
    if (!entries)
        return;
    if (!json_is_array(entries)) {
        ic_wa_ctx_ignore(c, "invalid entry: not an array", NULL, entries);
        return;
    }
    size_t i, j;
    json_t *entry, *change;
    json_array_foreach(entries, i, entry)
    {
        if (!json_is_object(entry)) {
            ic_wa_ctx_ignore(c, "invalid entry: not an object", NULL, entry);
            continue;
        }
        json_t *changes = json_object_get(entry, "changes");
        if (!changes)
            continue;
        if (!json_is_array(changes)) {
            ic_wa_ctx_ignore(c, "invalid changes: not an array", NULL, changes);
            continue;
        }
        json_t *entry_id = json_object_get(entry, "id");
        json_array_foreach(changes, j, change)
        {
            if (c->too_big)
                return;
            parse_change(c, entry_id, change);
        }
    }
}

ic_err ic_wa_webhook_parse(const char *body, size_t len, ic_wa_batch *out, ic_errmsg *em)
{
    ic_err rc = IC_OK;
    json_t *root = NULL;
    ic_wa_ctx c = {.out = out};
    rc = ic_wa_json_load(body, len, &root, em);
    if (rc != IC_OK)
        goto out;
    if (!json_is_object(root)) {
        rc = ic_errf(em, IC_ERR_PARSE, "unable to parse request JSON: the body is not an object");
        goto out;
    }
    parse_root(&c, root);
    if (c.too_big) {
        ic_wa_batch_free(out);
        rc = ic_errf(em, IC_ERR_TOO_BIG, "the webhook holds more than %d events", IC_WA_MAX_EVENTS);
        IC_WARN("wa_webhook_too_big", "max_events=%d", IC_WA_MAX_EVENTS);
        goto out;
    }
out:
    ic_wa_idset_free(&c.seen);
    json_decref(root);
    return rc;
}
