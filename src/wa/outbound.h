/* outbound.h - Graph API request bodies for the messages we send.
 *
 * Pure functions: no I/O, thread-safe. The sender calls them just before a
 * request; the REST API calls ic_wa_outbound_build() when a message is
 * submitted, so that a message over one of Meta's limits is refused with a
 * clear reason and never queued.
 */
#ifndef IC_WA_OUTBOUND_H
#define IC_WA_OUTBOUND_H

#include "base/err.h"

#include <jansson.h>
#include <stdbool.h>

/* The request bodies for one message: usually one, two when an attachment
 * cannot carry the text or the buttons (it goes first). */
typedef struct ic_wa_outbound {
    json_t *bodies[2]; /* owned */
    size_t count;
    json_t *warnings; /* owned array of strings (e.g. "too many quick replies ..."); may be
                         empty, never NULL after a successful build */
} ic_wa_outbound;

/* Builds the bodies of msg for recipient `to` (a phone wa_id or a BSUID such
 * as "US.1234", which goes in "recipient" instead of "to").
 *
 * msg is the message as our API accepts it (docs/api.md, "Sending"), either
 *  - native: {"type":"text","text":{"body","preview_url"?}}, "image"/"audio"/
 *    "video"/"document"/"sticker" ({"id"|"link","caption"?,"filename"?}),
 *    "location", "contacts", "reaction", "interactive" (button, list, cta_url,
 *    flow, location_request_message), "template" ({"name","language",
 *    "components"}); each is checked against Meta's limits; or
 *  - simple (RapidPro style): {"text", "attachments":["mime:url"],
 *    "quick_replies":[{"type","text","extra"}], "locale", "templating"},
 *    turned into bodies by the same rules as courier's WhatsApp handler.
 * biz_opaque (may be NULL) becomes "biz_opaque_callback_data" of the last body;
 * context_wamid (may be NULL) becomes {"context":{"message_id"}}.
 *
 * Errors: IC_ERR_LIMIT when a Meta limit would be broken, with em naming it
 * ("button title \"...\" is 21 characters; WhatsApp allows 20");
 * IC_ERR_INVALID for a malformed message. out is empty on error. */
ic_err ic_wa_outbound_build(const json_t *msg, const char *to, const char *biz_opaque,
                            const char *context_wamid, ic_wa_outbound *out, ic_errmsg *em);

/* Frees the bodies and warnings; NULL ok. */
void ic_wa_outbound_clear(ic_wa_outbound *o);

/* True when msg is a template message (allowed outside the 24-hour window). */
bool ic_wa_outbound_is_template(const json_t *msg);

/* The message type we store for msg ("text", "image", "template", ...). */
const char *ic_wa_outbound_type(const json_t *msg);

/* The readable text of msg for the inbox (body, caption or template name);
 * borrowed from msg, may be NULL. */
const char *ic_wa_outbound_text(const json_t *msg);

/* The body that marks inbound message wamid as read (owned). With
 * typing true it also shows the typing indicator. */
json_t *ic_wa_mark_read_body(const char *wamid, bool typing);

/* ---- answers from the Graph API ------------------------------------------ */

typedef enum ic_wa_verdict {
    IC_WA_SENT = 0,   /* accepted: wa_id holds Meta's message id */
    IC_WA_RETRY = 1,  /* retry later with backoff (130429, 131056, 5xx, ...) */
    IC_WA_FAILED = 2, /* failed for good: code and reason say why */
} ic_wa_verdict;

typedef struct ic_wa_result {
    ic_wa_verdict verdict;
    int code;          /* Meta's error code, or the HTTP status when none */
    bool throttled;    /* a rate limit (130429, 131056, 80007, 4, 131048, HTTP 429) */
    bool pair_limited; /* 131056: only this recipient must wait */
    char wa_id[160];   /* messages[0].id when sent */
    char reason[256];  /* human reason when not sent */
} ic_wa_result;

/* Classifies a Graph API answer to a send (HTTP status and body) as Meta's
 * error-code table says: retry (1, 2, 4, 80007, 130429, 131000, 131016,
 * 131048, 131056, 133004, 5xx, 429, unreadable 5xx bodies) or fail for good
 * (100, 190, 131026, 131047, 131050, 131051, 132xxx, 368, other 4xx, ...). */
void ic_wa_classify(long http_status, const char *body, size_t len, ic_wa_result *out);

#endif
