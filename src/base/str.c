#include "base/str.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t ic_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);
    if (size) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

ic_err ic_parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return IC_ERR_INVALID;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || !end || *end != '\0' || end == s)
        return IC_ERR_INVALID;
    *out = (int64_t)v;
    return IC_OK;
}

ic_err ic_parse_double(const char *s, double *out)
{
    if (!s || !*s)
        return IC_ERR_INVALID;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || !end || *end != '\0' || end == s || !isfinite(v))
        return IC_ERR_INVALID;
    *out = v;
    return IC_OK;
}

bool ic_str_starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool ic_str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

void ic_hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

size_t ic_utf8_len(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
}

void ic_str_lower_ascii(const char *in, char *out, size_t size)
{
    if (!out || size == 0)
        return;
    size_t i = 0;
    for (; in && in[i] && i + 1 < size; i++)
        out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] - 'A' + 'a') : in[i];
    out[i] = '\0';
}
