/* outbound_internal.h - shared by the files behind wa/outbound.h.
 *
 * outbound.c wraps checked message objects into Graph request bodies;
 * outbound_native.c and outbound_interactive.c check native messages against
 * Meta's limits; outbound_simple.c turns the RapidPro-style form into native
 * messages. Nothing here is for other modules: use wa/outbound.h.
 * Every function is pure and thread-safe.
 */
#ifndef IC_WA_OUTBOUND_INTERNAL_H
#define IC_WA_OUTBOUND_INTERNAL_H

#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Reads obj[key] as a string into *out (borrowed from obj; NULL when the key
 * is absent or null). Errors: IC_ERR_INVALID "<path> is required" when
 * required and absent, "<path> must be a string" for any other JSON type. */
ic_err ic_wa_get_str(const json_t *obj, const char *key, const char *path, bool required,
                     const char **out, ic_errmsg *em);

/* Reads obj[key] as an object (or, with ic_wa_get_arr, an array) into *out,
 * borrowed; NULL when absent. Errors as ic_wa_get_str. */
ic_err ic_wa_get_obj(const json_t *obj, const char *key, const char *path, bool required,
                     const json_t **out, ic_errmsg *em);
ic_err ic_wa_get_arr(const json_t *obj, const char *key, const char *path, bool required,
                     const json_t **out, ic_errmsg *em);

/* Checks that value (NULL is skipped) holds min..max Unicode code points.
 * Errors: IC_ERR_LIMIT naming `name`, the length and the limit; the value is
 * quoted in the message when quote is true (use it for short labels only,
 * never for message bodies). */
ic_err ic_wa_check_len(const char *value, const char *name, size_t min, size_t max, bool quote,
                       ic_errmsg *em);

/* True when s is an absolute http:// or https:// URL with a host and no
 * spaces or control characters. */
bool ic_wa_is_http_url(const char *s);

/* Checks a media object ({"id"} or {"link"}, plus "caption" when
 * allow_caption and "filename" when allow_filename) found at `path`.
 * Errors: IC_ERR_INVALID for a malformed object, IC_ERR_LIMIT for a caption
 * over 1024 characters. */
ic_err ic_wa_check_media(const json_t *media, const char *path, bool allow_caption,
                         bool allow_filename, ic_errmsg *em);

/* Checks the "interactive" object of a native message against Meta's
 * limits. Errors as ic_wa_native_check. */
ic_err ic_wa_check_interactive(const json_t *inter, ic_errmsg *em);

/* Checks a native message ({"type":t, t:{...}}) against Meta's limits.
 * group is true for group recipients, which take no interactive messages.
 * Errors: IC_ERR_INVALID for a malformed message (unknown type, wrong JSON
 * types, missing fields), IC_ERR_LIMIT when a limit would be broken. */
ic_err ic_wa_native_check(const json_t *msg, bool group, ic_errmsg *em);

/* Turns a simple (RapidPro-style) message into one or two native messages,
 * by courier's rules. natives[0..*count-1] are new references owned by the
 * caller; warnings (a JSON array, borrowed) receives the notes about what
 * was dropped. The natives are not yet checked against Meta's limits.
 * Errors: IC_ERR_INVALID for a malformed message, IC_ERR_LIMIT for more than
 * one attachment. On error nothing is returned in natives. */
ic_err ic_wa_simple_to_native(const json_t *msg, json_t *natives[2], size_t *count,
                              json_t *warnings, ic_errmsg *em);

/* The list button label for a locale ("eng", "spa-MX", "fr"): "Menu" in the
 * languages we know, "Menu" otherwise. Static storage. */
const char *ic_wa_menu_label(const char *locale);

#endif
