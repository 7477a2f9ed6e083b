/* webhook.h - the WhatsApp Cloud API webhook: verification handshake,
 * request signature, and the parser that turns one POST body into normalised
 * events (src/wa/event.h).
 *
 * The shapes of the events are described in docs/internals/webhook-events.md,
 * together with the places where we deliberately differ from courier.
 */
#ifndef IC_WA_WEBHOOK_H
#define IC_WA_WEBHOOK_H

#include "base/err.h"
#include "wa/event.h"

#include <stdbool.h>
#include <stddef.h>

/* Checks an X-Hub-Signature-256 header value ("sha256=<64 hex>") against the
 * HMAC-SHA256 of the raw body keyed with app_secret. The hex may be upper- or
 * lower-case; the comparison runs in constant time. A NULL or malformed
 * header, or a NULL or empty app_secret, gives false. body may be NULL when
 * len is 0. Everything is borrowed. Thread-safe once ic_crypto_init() has
 * run. */
bool ic_wa_signature_ok(const char *app_secret, const char *header_value, const void *body,
                        size_t len);

/* Checks the GET verification handshake: mode must be "subscribe", token must
 * equal expected_token (compared in constant time; an empty or NULL expected
 * token never matches) and challenge must be 1 to 256 printable ASCII
 * characters, which the caller then echoes back as the 200 body. Returns
 * IC_OK, IC_ERR_AUTH for a wrong token, or IC_ERR_INVALID for a wrong mode or
 * challenge. Everything is borrowed; thread-safe. */
ic_err ic_wa_verify_get(const char *mode, const char *token, const char *challenge,
                        const char *expected_token);

/* Parses one webhook body of len bytes (not necessarily NUL-terminated) into
 * out, which must be empty (IC_WA_BATCH_INIT) on entry. On success out holds
 * one event per message, status and error found, plus one IGNORED event per
 * item that could not be used (each with its reason); the caller owns them and
 * releases them with ic_wa_batch_free(). Messages repeated with the same id in
 * one body are kept once.
 *
 * Errors (out is left empty): IC_ERR_PARSE when the body is not a JSON object
 * or nests deeper than 64 levels, with em starting "unable to parse request
 * JSON: "; IC_ERR_TOO_BIG when it holds more than IC_WA_MAX_EVENTS events.
 * em may be NULL. The body is borrowed. Thread-safe: no shared state. */
ic_err ic_wa_webhook_parse(const char *body, size_t len, ic_wa_batch *out, ic_errmsg *em);

#endif
