/* graph_result.c - what the Graph API's answer to a send means.
 *
 * Meta says to key error handling on error.code and error_data.details, not
 * on the HTTP status (error-codes page). The code table below follows it;
 * the HTTP status decides only when the body has no readable error: 429 and
 * 5xx are worth another try, anything else is not.
 */
#include "wa/outbound.h"

#include "base/str.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define UNREADABLE "unreadable answer from the Graph API"

/* Transient errors: the same request may well succeed later. */
static const int retry_codes[] = {
    1,      /* API unknown */
    2,      /* API service (temporary) */
    4,      /* application call limit */
    80007,  /* WABA rate limit */
    130429, /* throughput reached */
    131000, /* something went wrong */
    131016, /* service unavailable */
    131048, /* spam rate limit (quality-based) */
    131053, /* media upload error: courier retries it */
    131056, /* pair rate limit: this recipient only */
    131057, /* account in maintenance mode (e.g. throughput upgrade) */
    133004, /* server temporarily unavailable */
    133016, /* account register/deregister rate limit */
};

/* Rate limits: back off the whole channel (or, for 131056, the recipient). */
static const int throttle_codes[] = {4, 80007, 130429, 131048, 131056, 133016};

static bool in(const int *list, size_t n, long long code)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == code)
            return true;
    return false;
}

/* Copies s into dst, cut at a code point boundary when it does not fit. */
static void copy_utf8(char *dst, size_t size, const char *s)
{
    size_t n = strlen(s);
    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static void classify_error(long http_status, json_t *err, ic_wa_result *out)
{
    json_t *code = json_object_get(err, "code");
    const char *details =
        json_string_value(json_object_get(json_object_get(err, "error_data"), "details"));
    const char *message = json_string_value(json_object_get(err, "message"));
    long long c = json_is_integer(code) ? json_integer_value(code) : http_status;

    out->code = c >= INT32_MIN && c <= INT32_MAX ? (int)c : (int)http_status;
    if (details && *details)
        copy_utf8(out->reason, sizeof out->reason, details);
    else if (message && *message)
        copy_utf8(out->reason, sizeof out->reason, message);
    else
        snprintf(out->reason, sizeof out->reason, "Graph API error %lld (HTTP %ld)", c,
                 http_status);

    out->throttled = in(throttle_codes, sizeof throttle_codes / sizeof throttle_codes[0], c) ||
                     http_status == 429;
    out->pair_limited = c == 131056;
    if (out->throttled || http_status >= 500 ||
        in(retry_codes, sizeof retry_codes / sizeof retry_codes[0], c))
        out->verdict = IC_WA_RETRY;
    else
        out->verdict = IC_WA_FAILED;
}

void ic_wa_classify(long http_status, const char *body, size_t len, ic_wa_result *out)
{
    json_t *root = NULL;

    memset(out, 0, sizeof *out);
    out->code = (int)(http_status > 0 && http_status < 1000 ? http_status : 0);
    if (body && len)
        root = json_loadb(body, len, 0, NULL);
    json_t *err = json_object_get(root, "error");

    if (http_status >= 200 && http_status < 300 && !json_is_object(err)) {
        const char *id = json_string_value(
            json_object_get(json_array_get(json_object_get(root, "messages"), 0), "id"));
        if (id && *id && strlen(id) < sizeof out->wa_id) {
            out->verdict = IC_WA_SENT;
            out->code = 0;
            ic_strlcpy(out->wa_id, id, sizeof out->wa_id);
        } else {
            out->verdict = IC_WA_FAILED;
            ic_strlcpy(out->reason, UNREADABLE, sizeof out->reason);
        }
        goto out;
    }

    if (json_is_object(err)) {
        classify_error(http_status, err, out);
        goto out;
    }

    /* No readable error: only the HTTP status is left to go by. */
    if (http_status < 100) {
        out->verdict = IC_WA_RETRY;
        ic_strlcpy(out->reason, "no HTTP answer from the Graph API", sizeof out->reason);
    } else if (http_status == 429) {
        out->verdict = IC_WA_RETRY;
        out->throttled = true;
        ic_strlcpy(out->reason, "the Graph API asked us to slow down (HTTP 429)",
                   sizeof out->reason);
    } else if (http_status >= 500) {
        out->verdict = IC_WA_RETRY;
        snprintf(out->reason, sizeof out->reason, "the Graph API failed (HTTP %ld)", http_status);
    } else {
        out->verdict = IC_WA_FAILED;
        snprintf(out->reason, sizeof out->reason, UNREADABLE " (HTTP %ld)", http_status);
    }

out:
    json_decref(root);
}
