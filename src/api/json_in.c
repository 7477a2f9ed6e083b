#include "api/json_in.h"

#include "base/buf.h"
#include "base/log.h"
#include "base/str.h"

#include <string.h>

/* Nesting depth of the raw text, counted outside strings, so that a deeply
 * nested body is refused before any tree is built. */
static ic_err check_depth(const char *s, size_t len, ic_errmsg *em)
{
    int depth = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > IC_API_MAX_DEPTH)
                return ic_errf(em, IC_ERR_INVALID, "the body is nested more than %d levels deep",
                               IC_API_MAX_DEPTH);
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return IC_OK;
}

ic_err ic_api_parse_object(const char *body, size_t len, json_t **out, ic_errmsg *em)
{
    *out = NULL;
    if (!body || len == 0)
        return ic_errf(em, IC_ERR_INVALID, "the body must be a JSON object");
    ic_err e = check_depth(body, len, em);
    if (e != IC_OK)
        return e;
    json_error_t jerr;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v)
        return ic_errf(em, IC_ERR_INVALID, "the body is not valid JSON: %s (line %d, column %d)",
                       jerr.text, jerr.line, jerr.column);
    if (!json_is_object(v)) {
        json_decref(v);
        return ic_errf(em, IC_ERR_INVALID, "the body must be a JSON object");
    }
    *out = v;
    return IC_OK;
}

ic_err ic_api_read_object(const ic_req *r, const char *const *allowed, bool empty_ok, json_t **out,
                          ic_errmsg *em)
{
    size_t len = 0;
    const char *raw = ic_req_body(r, &len);
    *out = NULL;
    if (empty_ok && len == 0) {
        *out = json_object();
        return IC_OK;
    }
    ic_err e = ic_api_parse_object(raw, len, out, em);
    if (e == IC_OK && (e = ic_api_only_keys(*out, allowed, em)) != IC_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return e;
}

ic_err ic_api_only_keys(const json_t *obj, const char *const *allowed, ic_errmsg *em)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        (void)val;
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(key, allowed[i]) == 0) {
                ok = true;
                break;
            }
        if (!ok)
            return ic_errf(em, IC_ERR_INVALID, "unknown field \"%.64s\"", key);
    }
    return IC_OK;
}

ic_err ic_api_get_string(const json_t *obj, const char *key, bool required, size_t max_chars,
                         const char **out, ic_errmsg *em)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = NULL;
        if (required)
            return ic_errf(em, IC_ERR_INVALID, "%s is required", key);
        return IC_OK;
    }
    if (!json_is_string(v) || ic_utf8_len(json_string_value(v)) > max_chars)
        return ic_errf(em, IC_ERR_INVALID, "%s must be a string of at most %zu characters", key,
                       max_chars);
    if (json_string_length(v) == 0)
        return ic_errf(em, IC_ERR_INVALID, "%s must not be empty", key);
    *out = json_string_value(v);
    return IC_OK;
}

ic_err ic_api_get_int(const json_t *obj, const char *key, bool required, int64_t lo, int64_t hi,
                      int64_t *out, ic_errmsg *em)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            return ic_errf(em, IC_ERR_INVALID, "%s is required", key);
        return IC_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return ic_errf(em, IC_ERR_INVALID, "%s must be an integer from %lld to %lld", key,
                       (long long)lo, (long long)hi);
    *out = (int64_t)json_integer_value(v);
    return IC_OK;
}

bool ic_api_is_digits(const char *s, size_t max_len)
{
    if (!s || !*s)
        return false;
    size_t n = 0;
    for (; *s; s++, n++)
        if (*s < '0' || *s > '9' || n >= max_len)
            return false;
    return true;
}

ic_err ic_api_parse_id(const char *s, int64_t *out)
{
    int64_t v = 0;
    if (!ic_api_is_digits(s, 19) || s[0] == '0' || ic_parse_i64(s, &v) != IC_OK || v <= 0)
        return IC_ERR_INVALID;
    *out = v;
    return IC_OK;
}

ic_err ic_api_page(const ic_req *r, int *limit, int64_t *cursor, ic_errmsg *em)
{
    *limit = IC_API_LIMIT_DEFAULT;
    *cursor = 0;
    const char *l = ic_req_query(r, "limit");
    if (l) {
        int64_t v = 0;
        if (!ic_api_is_digits(l, 3) || ic_parse_i64(l, &v) != IC_OK || v < 1 ||
            v > IC_API_LIMIT_MAX)
            return ic_errf(em, IC_ERR_INVALID, "limit must be an integer from 1 to %d",
                           IC_API_LIMIT_MAX);
        *limit = (int)v;
    }
    const char *c = ic_req_query(r, "cursor");
    if (c && ic_api_parse_id(c, cursor) != IC_OK)
        return ic_errf(em, IC_ERR_INVALID,
                       "cursor must be the next_cursor value of an earlier page");
    return IC_OK;
}

json_t *ic_api_list_json(json_t *items, int64_t next)
{
    json_t *o = json_object();
    json_object_set_new(o, "items", items ? items : json_array());
    if (next > 0) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)next);
        json_object_set_new(o, "next_cursor", json_string(buf));
    } else {
        json_object_set_new(o, "next_cursor", json_null());
    }
    return o;
}

static int dump_to_buf(const char *data, size_t size, void *arg)
{
    ic_buf_append(arg, data, size);
    return 0;
}

char *ic_api_json_dumps(const json_t *v)
{
    ic_buf b = IC_BUF_INIT;
    if (v)
        json_dump_callback(v, dump_to_buf, &b, JSON_COMPACT | JSON_ENCODE_ANY);
    return ic_buf_steal(&b);
}

const char *ic_api_error_code(ic_err e)
{
    switch (e) {
    case IC_ERR_INVALID:
    case IC_ERR_PARSE:
        return "bad_request";
    case IC_ERR_AUTH:
        return "unauthorized";
    case IC_ERR_FORBIDDEN:
        return "forbidden";
    case IC_ERR_NOT_FOUND:
        return "not_found";
    case IC_ERR_EXISTS:
        return "conflict";
    case IC_ERR_TOO_BIG:
        return "too_large";
    case IC_ERR_LIMIT:
        return "limit";
    case IC_ERR_WINDOW_CLOSED:
        return "window_closed";
    case IC_ERR_BUSY:
        return "busy";
    case IC_ERR_DB:
        return "unavailable";
    default:
        return "internal";
    }
}

static const char *generic_message(ic_err e)
{
    switch (e) {
    case IC_ERR_AUTH:
        return "a valid API token is required (Authorization: Bearer TOKEN)";
    case IC_ERR_NOT_FOUND:
        return "not found";
    case IC_ERR_BUSY:
        return "the server is busy; try again in a moment";
    default:
        return ic_strerror(e);
    }
}

void ic_api_fail(ic_req *r, ic_err e, const ic_errmsg *em)
{
    int status = ic_http_status_for(e);
    const char *msg = generic_message(e);
    if (status < 500 && em && em->msg[0])
        msg = em->msg;
    if (status >= 500 && e != IC_ERR_BUSY) {
        IC_ERROR("api_error", "rid=%s path=%s err=\"%s\"", ic_req_id(r), ic_req_path(r),
                 ic_strerror(e));
        msg = e == IC_ERR_DB ? "the database is unavailable; retry later"
                             : "internal error; the server log has the details";
    }
    if (status == 401)
        ic_req_add_header(r, "WWW-Authenticate", "Bearer realm=\"impactchat\"");
    if (status == 503)
        ic_req_add_header(r, "Retry-After", "1");
    ic_req_error(r, status, ic_api_error_code(e), "%s", msg);
}
