/* fuzz_webhook.c - libFuzzer target for the WhatsApp webhook: parses any
 * bytes, checks the batch's invariants, frees it, and runs the signature
 * check on the same bytes. Build with `make build-fuzz`; run a short session
 * with scripts/fuzz-short.sh.
 */
#include "base/crypto.h"
#include "base/log.h"
#include "wa/webhook.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What every successful parse promises its callers. */
static void check_event(const ic_wa_event *ev)
{
    if (!ev->content || !ev->type || ev->kind < IC_WA_MESSAGE || ev->kind > IC_WA_IGNORED)
        abort();
    if (ev->kind == IC_WA_IGNORED && !ev->reason)
        abort();
    if (ev->kind == IC_WA_MESSAGE && (!ev->id || !ev->from))
        abort();
    if (ev->kind == IC_WA_STATUS && !ev->id)
        abort();
    if (ev->text && strcmp(ev->text, json_string_value(json_object_get(ev->content, "text"))) != 0)
        abort();
    char *dump = json_dumps(ev->content, JSON_COMPACT);
    if (!dump)
        abort();
    free(dump);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (ic_crypto_init() != IC_OK)
            abort();
        ic_log_set_level(IC_LOG_ERROR);
        ready = 1;
    }
    ic_wa_batch b = IC_WA_BATCH_INIT;
    ic_errmsg em = {{0}};
    ic_err rc = ic_wa_webhook_parse((const char *)data, size, &b, &em);
    if (rc != IC_OK && (b.count != 0 || b.events != NULL || em.msg[0] == '\0'))
        abort();
    if (b.count > IC_WA_MAX_EVENTS)
        abort();
    for (size_t i = 0; i < b.count; i++)
        check_event(&b.events[i]);
    ic_wa_batch_free(&b);

    /* The input's first bytes as a header must not verify by accident; the
     * real signature must. */
    char header[80];
    size_t n = size < sizeof header - 1 ? size : sizeof header - 1;
    memcpy(header, data, n);
    header[n] = '\0';
    if (ic_wa_signature_ok("fuzz-secret", header, data, size))
        abort();
    char hex[65], good[80];
    ic_hmac_sha256_hex("fuzz-secret", 11, data, size, hex);
    snprintf(good, sizeof good, "sha256=%s", hex);
    if (!ic_wa_signature_ok("fuzz-secret", good, data, size))
        abort();
    return 0;
}
