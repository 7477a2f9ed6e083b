/* event.h - the normalised WhatsApp webhook event.
 *
 * ic_wa_webhook_parse() turns one webhook body into a batch of these. Every
 * event owns one jansson object, `content`, which is exactly what
 * `impactchat wa-parse` prints for it; the typed fields below are borrowed
 * views into `content` (valid while the event lives), so that the store and
 * the engine need no JSON lookups on the hot path.
 *
 * content always has "kind" and "type"; messages add "id", "from",
 * "timestamp" (unix seconds, integer), "phone_number_id" and the type's own
 * object (a text message's "text" is flattened to the body string); statuses add "id", "recipient",
 * "timestamp", "status"; errors add "errors": [{"code","title","details"}]. See
 * docs/internals/webhook-events.md.
 */
#ifndef IC_WA_EVENT_H
#define IC_WA_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ic_wa_kind {
    IC_WA_MESSAGE = 1, /* a person (or a group member) wrote to us */
    IC_WA_STATUS = 2,  /* sent/delivered/read/played/failed for a message we sent */
    IC_WA_ERROR = 3,   /* an error not tied to a message: value.errors[] (an unsupported
                          message with errors[] is one MESSAGE event carrying
                          error_code and error_title) */
    IC_WA_IGNORED = 4, /* an item we could not use (no sender, bad timestamp, unknown
                          status, unhandled field...): `reason` says why; it is kept
                          as a channel error and logged, never dropped silently */
} ic_wa_kind;

typedef struct ic_wa_event {
    ic_wa_kind kind;
    json_t *content; /* owned: the normalised object */

    /* Borrowed from content; NULL when absent. */
    const char *type;            /* message type ("text", "image", "audio", "voice"?, "video",
                                    "document", "sticker", "location", "contacts",
                                    "interactive", "button", "reaction", "order", "system",
                                    "unsupported", or Meta's own unknown name), or the
                                    status ("sent", "delivered", "read", "played",
                                    "failed"), or "error" / "ignored" */
    const char *id;              /* message: wamid; status: the wamid of our message */
    const char *phone_number_id; /* metadata.phone_number_id of the change */
    const char *from;            /* message: sender wa_id (or BSUID when no phone) */
    const char *contact_name;    /* message: contacts[].profile.name for the sender */
    const char *recipient;       /* status: recipient_id */
    const char *text;            /* message: what a person reads: body, caption, button
                                    or row title, reaction emoji, nfm body; may be NULL */
    const char *media_id;        /* message: Meta media id of image/audio/video/... */
    const char *mime_type;       /* message: media mime type */
    const char *context_id;      /* message: context.id (the message replied to) */
    const char *group_id;        /* message: group_id for group messages */
    const char *biz_opaque;      /* status: biz_opaque_callback_data (our message id) */
    const char *reason;          /* ignored: why, e.g. "invalid whatsapp id" */
    const char *error_title;     /* status/error: first error's title */
    int64_t timestamp;           /* unix seconds from Meta (milliseconds normalised) */
    int error_code;              /* status/error: first error's code, 0 when none */
} ic_wa_event;

/* Upper bound of events in one batch; Meta batches at most 1000 updates. */
#define IC_WA_MAX_EVENTS 4000

typedef struct ic_wa_batch {
    ic_wa_event *events; /* owned array */
    size_t count;
    size_t cap;
} ic_wa_batch;

#define IC_WA_BATCH_INIT                                                                           \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Frees every event's content and the array; b is left empty. NULL is fine. */
void ic_wa_batch_free(ic_wa_batch *b);

#endif
