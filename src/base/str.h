/* str.h - checked string helpers that replace the banned libc ones.
 * All functions are pure and thread-safe.
 */
#ifndef IC_BASE_STR_H
#define IC_BASE_STR_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copies src into dst (size bytes, always NUL-terminated when size > 0).
 * Returns strlen(src); a result >= size means the copy was truncated. */
size_t ic_strlcpy(char *dst, const char *src, size_t size);

/* Parses the whole of s as a base-10 signed integer. Leading/trailing
 * characters, overflow or an empty string give IC_ERR_INVALID. */
ic_err ic_parse_i64(const char *s, int64_t *out);

/* Parses the whole of s as a finite double (IC_ERR_INVALID otherwise). */
ic_err ic_parse_double(const char *s, double *out);

/* True when s starts with prefix. NULL s is false. */
bool ic_str_starts(const char *s, const char *prefix);

/* True when a and b are both NULL or equal strings. */
bool ic_str_eq(const char *a, const char *b);

/* Copies in into out (size bytes, NUL-terminated, truncated when short)
 * with its ASCII letters lowercased: how email addresses are compared. */
void ic_str_lower_ascii(const char *in, char *out, size_t size);

/* Writes the lowercase hex of n bytes into out (2n+1 bytes). */
void ic_hex_encode(const unsigned char *in, size_t n, char *out);

/* Counts Unicode code points of a valid UTF-8 string (what WhatsApp counts
 * as characters for its limits). Invalid bytes count one each. */
size_t ic_utf8_len(const char *s);

#endif
