/* api.h - the REST API's resources, shared between its files (not used
 * outside src/api). Each *_routes function registers one resource's
 * handlers; ic_api_v1_routes (routes.h) calls them all. Handlers borrow app
 * for the life of the server. Register from one thread before
 * ic_http_start.
 */
#ifndef IC_API_API_H
#define IC_API_API_H

#include "app.h"
#include "core/roles.h"
#include "http/http.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

/* The bound of JSON request bodies: the configured API body cap, or 1 MB. */
size_t ic_api_json_max_body(const ic_app *app);

void ic_api_contacts_routes(ic_http *h, ic_app *app);
void ic_api_conversations_routes(ic_http *h, ic_app *app);
void ic_api_messages_routes(ic_http *h, ic_app *app);
void ic_api_channels_routes(ic_http *h, ic_app *app);
void ic_api_media_routes(ic_http *h, ic_app *app);
void ic_api_sandbox_routes(ic_http *h, ic_app *app);
void ic_api_tokens_routes(ic_http *h, ic_app *app);

/* One outbound message to queue. */
typedef struct ic_api_send {
    int64_t ws;
    int64_t channel_id;
    int64_t contact_id; /* 0: find or create the contact whose WhatsApp id is `to` */
    int64_t conv_id;    /* 0: the contact's conversation on the channel (created when
                           there is none) */
    const char *to;     /* the recipient's WhatsApp id; borrowed */
    const json_t *msg;  /* the message as the API accepted it; borrowed */
    ic_lane lane;
    json_t *warnings; /* array of strings to show in the answer, or NULL; stolen */
} ic_api_send;

/* Queues s through a write job (conversation, then the outbound message in
 * state "queued") and answers r later from the writer thread: 202 with the
 * message JSON (plus "warnings" when there are any) once it is durable, then
 * tells the sender (ic_sender_notify) when app->sender is set. The caller
 * has validated the message and the window. Answers 503 at once when the
 * writer is full, 404 when the conversation or contact is gone. The
 * borrowed members of s are copied. Call on a poll thread, then return
 * without answering. */
void ic_api_send_submit(ic_req *r, ic_app *app, ic_api_send *s);

/* A workspace-scoped read of one row as JSON (ic_store_contact_get,
 * ic_store_conversation_get, ...). */
typedef ic_err (*ic_api_getter)(ic_conn *c, int64_t ws, int64_t id, json_t **out);

/* Handles GET .../{id}: authenticates r (viewer or above), reads row {id}
 * of the caller's workspace with get on the thread's connection, lets shape
 * (when not NULL) fit it to the caller's role (masking numbers), and
 * answers 200 with it, or the API error (a malformed id, or a row of
 * another workspace, is 404). app is borrowed. Call on a poll thread. */
void ic_api_get_by_id_shaped(ic_req *r, ic_app *app, ic_api_getter get,
                             void (*shape)(json_t *row, ic_role role));
/* ic_api_get_by_id_shaped without shaping. */
void ic_api_get_by_id(ic_req *r, ic_app *app, ic_api_getter get);

/* Reads the WhatsApp id of contact id in ws into an owned string *wa_id.
 * IC_ERR_NOT_FOUND when the contact is not in ws. Any thread with its own
 * connection c. */
ic_err ic_api_contact_wa_id(ic_conn *c, int64_t ws, int64_t id, char **wa_id);

#endif
