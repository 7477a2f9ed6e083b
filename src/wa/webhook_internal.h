/* webhook_internal.h - what webhook.c and webhook_message.c share while one
 * body is parsed. Not for use outside src/wa/webhook*.c.
 *
 * A parse context lives on the parser's stack for one call of
 * ic_wa_webhook_parse(); nothing here is shared between threads.
 */
#ifndef IC_WA_WEBHOOK_INTERNAL_H
#define IC_WA_WEBHOOK_INTERNAL_H

#include "base/err.h"
#include "wa/event.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The deepest nesting of arrays and objects a webhook body may have. */
#define IC_WA_MAX_DEPTH 64

/* Longest message id, status id or WhatsApp id we accept, in bytes. */
#define IC_WA_MAX_ID 256

typedef struct ic_wa_idset {
    json_t **slots; /* borrowed id strings; open addressing */
    size_t cap;     /* a power of two, or 0 before the first insert */
    size_t count;
} ic_wa_idset;

typedef struct ic_wa_ctx {
    ic_wa_batch *out;
    json_t *phone_number_id; /* borrowed metadata.phone_number_id string, or NULL */
    json_t *contacts;        /* borrowed value.contacts when an array, or NULL */
    ic_wa_idset seen;        /* message ids met so far in this body */
    size_t contact_hint;     /* where the next contacts[] lookup starts */
    bool too_big;            /* set once an event would exceed IC_WA_MAX_EVENTS */
} ic_wa_ctx;

/* Parses len bytes of JSON into *out (owned by the caller) with duplicate keys
 * rejected and nesting bounded by IC_WA_MAX_DEPTH. On failure returns
 * IC_ERR_PARSE and writes a reason into em without quoting the input. */
ic_err ic_wa_json_load(const char *s, size_t len, json_t **out, ic_errmsg *em);

/* Appends an event of kind with content (stolen) to the batch and returns it
 * so that the caller can fill the typed fields, or returns NULL, with content
 * released and c->too_big set, when the batch is full. The typed fields of
 * the returned event are zeroed, except kind, content and type (borrowed from
 * content's "type"). */
ic_wa_event *ic_wa_ctx_push(ic_wa_ctx *c, ic_wa_kind kind, json_t *content);

/* Appends an IGNORED event with reason (copied), the item's id when id is a
 * string, and the raw item (borrowed, may be NULL) under "raw". */
void ic_wa_ctx_ignore(ic_wa_ctx *c, const char *reason, json_t *id, json_t *raw);

/* Sets key in obj to val (borrowed: a reference is taken) and returns val's
 * string value when it is a string, else NULL. val NULL sets nothing. */
const char *ic_wa_put(json_t *obj, const char *key, json_t *val);

/* Returns obj[key] when it is a non-empty string, else NULL (borrowed). */
json_t *ic_wa_hook_str(const json_t *obj, const char *key);

/* Reads a Meta timestamp: a string of decimal digits or a non-negative JSON
 * integer. Values of 1e12 and more are milliseconds and are divided by 1000.
 * Returns false when v is anything else or the result is not below 1e12
 * seconds. */
bool ic_wa_timestamp(const json_t *v, int64_t *out);

/* True when s is a WhatsApp id we accept as a sender: 1 to 32 decimal digits,
 * or a business-scoped user id (BSUID) such as "US.1234": two upper-case
 * letters, a dot, then 1 to 64 letters or digits. */
bool ic_wa_id_ok(const char *s);

/* Builds the normalised form of a Meta errors[] array: a new array of
 * {"code","title","message","details","href"} objects (members absent when
 * Meta's value is missing or has the wrong type), skipping items that are not
 * objects. Returns NULL when errors is not an array or nothing is left. The
 * first error's code and title (or message when there is no title) are
 * written to *code and *title (borrowed from the result); both may be NULL. */
json_t *ic_wa_errors_normalise(const json_t *errors, int *code, const char **title);

/* Writes at most 64 characters of s into out (size bytes), replacing bytes
 * outside printable ASCII by '?', so that Meta-supplied names can be quoted in
 * reasons and logs. NULL s gives "". */
void ic_wa_sanitise(const char *s, char *out, size_t size);

/* True when id was not in the set yet; it is then added. id is borrowed and
 * must outlive the set. */
bool ic_wa_idset_add(ic_wa_idset *s, json_t *id);

/* Releases the set's memory. */
void ic_wa_idset_free(ic_wa_idset *s);

/* Normalises one item of value.messages[] into a MESSAGE or an IGNORED event
 * (or nothing, for a repeated id). Defined in webhook_message.c. */
void ic_wa_parse_message(ic_wa_ctx *c, json_t *msg);

#endif
