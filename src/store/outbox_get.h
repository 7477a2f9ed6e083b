/* outbox_get.h - one outbound message by id, for the sender.
 *
 * The sender keeps only ids in memory (jobs/outbox.h) and reads a message's
 * content, recipient and state just before sending it. This is that read:
 * one primary-key lookup through the store's own SQL layer, so it runs on
 * every backend. (Kept apart from store.h, whose owner may fold it in.)
 */
#ifndef IC_STORE_OUTBOX_GET_H
#define IC_STORE_OUTBOX_GET_H

#include "store/store.h"

/* Calls cb once with outbound message msg_id of channel_id (borrowed
 * strings, valid during the call; status says its state). Errors:
 * IC_ERR_NOT_FOUND when there is no such outbound message on that channel;
 * IC_ERR_DB; or cb's own error. Reads only: any thread's own connection. */
ic_err ic_store_outbox_get(ic_conn *c, int64_t channel_id, int64_t msg_id, ic_outbox_cb cb,
                           void *arg);

#endif
