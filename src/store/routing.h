/* routing.h - the store's side of routing in the operator inbox: urgency
 * words, automatic assignment, canned replies and workspace settings
 * (migration 4's tables). Every function is confined to workspace ws.
 * Functions that write take the writer's transaction (writer only); the
 * others take any thread's own connection.
 */
#ifndef IC_STORE_ROUTING_H
#define IC_STORE_ROUTING_H

#include "base/err.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- urgency words --------------------------------------------------------- */

/* Calls fn(id, language, phrase, arg) for each of ws's urgency words, by id
 * (strings borrowed for the call). Errors: the store's. */
ic_err ic_store_urgency_words_each(ic_conn *c, int64_t ws,
                                   void (*fn)(int64_t id, const char *language, const char *phrase,
                                              void *arg),
                                   void *arg);

/* ws's urgency words as a new array of {id, language, phrase, created_at}
 * in *out, by id. */
ic_err ic_store_urgency_words_json(ic_conn *c, int64_t ws, json_t **out);

/* Adds a word; *out (may be NULL) gets the new row as JSON. Errors:
 * IC_ERR_EXISTS when ws already has (language, phrase). Writer only. */
ic_err ic_store_urgency_word_insert(ic_conn *tx, int64_t ws, const char *language,
                                    const char *phrase, json_t **out);

/* Deletes word id of ws: IC_ERR_NOT_FOUND when there is none. Writer only. */
ic_err ic_store_urgency_word_delete(ic_conn *tx, int64_t ws, int64_t id);

/* The language of ws's contact with WhatsApp id wa_id into out (size bytes,
 * "" when unknown or no such contact). */
ic_err ic_store_contact_language(ic_conn *c, int64_t ws, const char *wa_id, char *out, size_t size);

/* Marks urgent the conversation of ws's message (channel_id, wa_id), whose
 * id goes to *conv, and records the conversation event 'urgent' with
 * data_json. IC_ERR_NOT_FOUND when there is no such message. Writer only;
 * works in the optimistic pass (found through the message, no ids needed). */
ic_err ic_store_conversation_mark_urgent(ic_conn *tx, int64_t ws, int64_t channel_id,
                                         const char *wa_id, const char *data_json, int64_t *conv);

/* ---- automatic assignment ---------------------------------------------------- */

/* The first team of ws by id with auto_assign = 1 into *team_id (0 when
 * none). */
ic_err ic_store_auto_team(ic_conn *c, int64_t ws, int64_t *team_id);

/* Whether conversation conv of ws was opened by its message msg_id: msg_id
 * is its first message and it has neither assignee nor team. */
ic_err ic_store_conversation_fresh(ic_conn *c, int64_t ws, int64_t conv, int64_t msg_id,
                                   bool *fresh);

/* The next member of team to assign to, round-robin: the first by user id
 * after the team's last_assigned_user_id (wrapping), who is not disabled and
 * has fewer open assigned conversations than their capacity; *user_id 0
 * when none is free. */
ic_err ic_store_auto_pick(ic_conn *c, int64_t ws, int64_t team, int64_t *user_id);

/* Gives conversation conv to team and user (0: the team only), moves the
 * team's last_assigned_user_id when user is set, and records the event
 * 'assign' {"auto":true,"from_user_id":null,"to_user_id":U|null,
 * "from_team_id":null,"to_team_id":T} (the inbox's assign shape). Writer
 * only. */
ic_err ic_store_conversation_auto_assign(ic_conn *tx, int64_t ws, int64_t conv, int64_t team,
                                         int64_t user, int64_t now_us);

/* ---- canned replies -------------------------------------------------------- */

/* A canned reply's fields; NULL members of an update are left as they are. */
typedef struct ic_canned {
    const char *shortcut;
    const char *title;
    const char *body;
} ic_canned;

/* ws's canned replies as a new array of {id, shortcut, title, body,
 * created_at, updated_at}, by shortcut. */
ic_err ic_store_canned_list_json(ic_conn *c, int64_t ws, json_t **out);

/* Canned reply id of ws as JSON: IC_ERR_NOT_FOUND when none. */
ic_err ic_store_canned_get_json(ic_conn *c, int64_t ws, int64_t id, json_t **out);

/* Inserts (all fields set) and reads it back into *out. Errors:
 * IC_ERR_EXISTS when the shortcut is taken. Writer only. */
ic_err ic_store_canned_insert(ic_conn *tx, int64_t ws, const ic_canned *v, json_t **out);

/* Updates the set fields of id and reads it back into *out. Errors:
 * IC_ERR_NOT_FOUND, IC_ERR_EXISTS. Writer only. */
ic_err ic_store_canned_update(ic_conn *tx, int64_t ws, int64_t id, const ic_canned *v,
                              json_t **out);

/* Deletes id: IC_ERR_NOT_FOUND when ws has none. Writer only. */
ic_err ic_store_canned_delete(ic_conn *tx, int64_t ws, int64_t id);

/* What a canned reply's variables need for conversation conv and operator
 * user (0: none), as a new object {contact_name, workspace_name,
 * operator_name} (members null when unknown). IC_ERR_NOT_FOUND when ws has
 * no conversation conv. */
ic_err ic_store_render_context(ic_conn *c, int64_t ws, int64_t conv, int64_t user, json_t **out);

/* ---- settings ---------------------------------------------------------------- */

/* ws's settings JSON as a new object in *out ({} when unreadable). */
ic_err ic_store_settings_get(ic_conn *c, int64_t ws, json_t **out);

/* Replaces ws's settings with the object v. Writer only. */
ic_err ic_store_settings_set(ic_conn *tx, int64_t ws, const json_t *v);

#endif
