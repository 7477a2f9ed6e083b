/* util.c - ids, Meta's error texts and small JSON helpers for wa-sim. */
#include "sim.h"

#include "base/alloc.h"

#include <stdio.h>
#include <string.h>

void ic_sim_new_wamid(ic_sim *s, char *out, size_t size)
{
    uint64_t n = atomic_fetch_add(&s->id_seq, 1) + 1;
    /* Meta's ids look like "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI...": keep the
     * prefix, then a per-process random part and a sequence number. */
    snprintf(out, size, "wamid.HBgL%s%012llX", s->id_prefix, (unsigned long long)n);
}

void ic_sim_new_numeric_id(ic_sim *s, char *out, size_t size)
{
    uint64_t n = atomic_fetch_add(&s->id_seq, 1) + 1;
    /* Meta's media ids are 15-16 digit numbers. */
    unsigned long long base = 0;
    for (const char *p = s->id_prefix; *p && p < s->id_prefix + 5; p++)
        base = base * 16 + (unsigned long long)(*p <= '9' ? *p - '0' : *p - 'A' + 10);
    snprintf(out, size, "1%06llu%09llu", base % 1000000ull,
             (unsigned long long)(n % 1000000000ull));
}

const char *ic_sim_meta_title(int code)
{
    switch (code) {
    case 1:
        return "An unknown error occurred";
    case 2:
        return "Service temporarily unavailable";
    case 100:
        return "Invalid parameter";
    case 131008:
        return "Required parameter is missing";
    case 131009:
        return "Parameter value is not valid";
    case 130429:
        return "Rate limit hit";
    case 131056:
        return "(Business Account, Consumer Account) pair rate limit hit";
    case 131047:
        return "Re-engagement message";
    case 131053:
        return "Media upload error";
    case 132000:
        return "Number of parameters does not match the expected number of params";
    case 132001:
        return "Template name does not exist in the translation";
    case 190:
        return "Invalid OAuth access token.";
    default:
        return "Error";
    }
}

static const char *meta_details(int code)
{
    switch (code) {
    case 130429:
        return "Message failed to send because there were too many messages sent from this phone "
               "number in a short period of time";
    case 131056:
        return "Message failed to send because there were too many messages sent from this phone "
               "number to the same phone number in a short period of time";
    case 131047:
        return "Message failed to send because more than 24 hours have passed since the customer "
               "last replied to this number.";
    default:
        return ic_sim_meta_title(code);
    }
}

json_t *ic_sim_meta_error_item(int code, const char *details)
{
    const char *title = ic_sim_meta_title(code);
    return json_pack("{s:i, s:s, s:s, s:{s:s}, s:s}", "code", code, "title", title, "message",
                     title, "error_data", "details", details ? details : meta_details(code), "href",
                     "/documentation/business-messaging/whatsapp/support/error-codes");
}

uint64_t ic_sim_hash64(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    /* A final mix so that similar strings spread over the table. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

char *ic_sim_dumps(const json_t *j, size_t *len)
{
    if (!j)
        return NULL;
    char *t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!t)
        return NULL;
    size_t n = strlen(t);
    char *copy = ic_strndup(t, n);
    ic_free(t);
    if (len)
        *len = n;
    return copy;
}
