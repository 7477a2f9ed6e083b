/* autoassign.h - automatic assignment of new conversations.
 *
 * When an inbound message opens a conversation and its workspace has a team
 * with auto_assign = 1 (the first such team by id: one team receives every
 * new conversation of the workspace; a per-channel team can come later),
 * the conversation goes to that team and, round-robin, to the next member
 * (by user id, after the team's last_assigned_user_id, wrapping) who is not
 * disabled and has fewer open assigned conversations than their capacity.
 * When nobody is free it stays unassigned with the team set. Whether a
 * workspace has such a team is cached (the urgency cache's ttl): a
 * workspace without one costs one hash lookup per new conversation.
 */
#ifndef IC_CORE_AUTOASSIGN_H
#define IC_CORE_AUTOASSIGN_H

#include "base/err.h"
#include "store/store.h"

#include <stdint.h>

/* The ingest hook, after m (an inbound message from ic_store_inbound_message)
 * was stored on tx: when m opened its conversation (m->conversation_id is
 * known and m is its first message) and the workspace has an auto-assigning
 * team, assigns it as above in tx and records the conversation event
 * 'assign' {"auto":true,...}, and publishes the live event
 * conversation.assigned {"conversation_id", "assignee_id" (null when
 * nobody was free), "team_id", "auto": true}. *assignee (may be NULL) gets the user (0:
 * none). The optimistic pass (ids 0) never opens a conversation: nothing to
 * do. Errors: the store's. Writer only. */
ic_err ic_autoassign_on_inbound(ic_conn *tx, const ic_message *m, int64_t *assignee);

/* Drops ws's cached team (call after committing a change to its teams). */
void ic_autoassign_invalidate(int64_t ws);

/* Drops every cached team (tests). */
void ic_autoassign_cache_clear(void);

#endif
