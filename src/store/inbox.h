/* inbox.h - the operator inbox in the store: conversation lists with
 * filters, the actions operators take on a conversation (assign, transfer,
 * close, reopen, labels, notes) with their history (conversation_events),
 * and the workspace's teams and labels.
 *
 * Every function is confined to one workspace: an id of another workspace
 * is IC_ERR_NOT_FOUND, never IC_ERR_FORBIDDEN. Actions take the actor (its
 * role and user) and apply the per-user rules themselves, inside the
 * caller's transaction, so that the check and the change see the same row:
 * call them from a writer job (ic_write_job.apply). Reads take any
 * connection of the calling thread.
 */
#ifndef IC_STORE_INBOX_H
#define IC_STORE_INBOX_H

#include "base/err.h"
#include "core/roles.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Who acts: user_id 0 is an API token (it acts as the workspace's admin;
 * conversation_events.actor_id is then NULL). */
typedef struct ic_inbox_actor {
    int64_t ws;
    ic_role role;
    int64_t user_id;
} ic_inbox_actor;

/* ---- lists ---------------------------------------------------------------- */

typedef enum ic_inbox_view {
    IC_VIEW_NONE = 0,   /* no view: every status, or status_filter */
    IC_VIEW_UNASSIGNED, /* open, no assignee; urgent first */
    IC_VIEW_MINE,       /* open, assigned to user_id */
    IC_VIEW_MY_TEAMS,   /* open, of a team user_id belongs to */
    IC_VIEW_ALL,        /* open, anyone's; urgent first */
    IC_VIEW_URGENT,     /* open and urgent */
    IC_VIEW_CLOSED,     /* closed */
} ic_inbox_view;

/* The view named s ("unassigned", "mine", "my_teams", "all", "urgent",
 * "closed"); IC_ERR_INVALID for anything else. */
ic_err ic_inbox_view_parse(const char *s, ic_inbox_view *out);

/* The longest cursor string ic_inbox_list gives (with its NUL). */
#define IC_INBOX_CURSOR_MAX 64
/* The longest q accepted, in bytes. */
#define IC_INBOX_Q_MAX 200
/* How many of the workspace's newest messages q searches (written into
 * the list's SQL text). */
#define IC_INBOX_Q_MESSAGES 10000
/* The preview's length in characters. */
#define IC_INBOX_PREVIEW_CHARS 120

typedef struct ic_inbox_query {
    int64_t ws;
    ic_inbox_view view;
    const char *status; /* NULL, "open" or "closed"; only with IC_VIEW_NONE */
    int64_t user_id;    /* the caller; required by MINE and MY_TEAMS */
    int64_t label_id;   /* 0: any */
    int64_t team_id;    /* 0: any */
    const char *q;      /* NULL or "": no search; else contact name, number or message text */
    const char *cursor; /* NULL or "": first page; else an earlier next cursor */
    int limit;          /* 1..IC_SQL_PAGE_MAX (others are clamped) */
} ic_inbox_query;

/* Lists conversations newest activity first (last_message_us, then id, both
 * descending), urgent open ones first in the ALL and UNASSIGNED views. Each
 * item: id, status, urgent, channel_id, opened_at, closed_at,
 * last_message_at, last_inbound_at, window {open, expires_at},
 * contact {id, name, wa_id} (wa_id unmasked: the API masks), assignee
 * {id, name} | null, team {id, name} | null, labels [{id, name, color}],
 * last_message {type, text (at most IC_INBOX_PREVIEW_CHARS), direction,
 * at} | null. *items is owned; next (IC_INBOX_CURSOR_MAX bytes) gets the
 * next page's cursor or "" at the end. The cursor names the last row's sort
 * key, so a page never repeats or skips a row that did not move meanwhile.
 * Errors: IC_ERR_INVALID for a bad cursor or q, or MINE/MY_TEAMS without
 * user_id. */
ic_err ic_inbox_list(ic_conn *c, const ic_inbox_query *q, json_t **items, char *next);

/* One conversation of ws as a list item (above). IC_ERR_NOT_FOUND. */
ic_err ic_inbox_conversation_get(ic_conn *c, int64_t ws, int64_t id, json_t **out);

/* ---- actions (in a writer job) -------------------------------------------- */

/* Assigns conversation conv to user_id (0: nobody, < 0: keep) and team_id
 * (0: none, < 0: keep),
 * and writes a conversation_events row of kind "assign" or, with transfer,
 * "transfer" (data: from/to user and team, and note when given, at most
 * 4000 characters). Rules: an operator may only take a conversation for
 * themself (user_id == actor) or release one assigned to them (user_id 0),
 * keeping or clearing the team; supervisors and admins anyone. The user
 * must be in ws and not disabled, the team in ws. Errors: IC_ERR_NOT_FOUND
 * (conversation, user or team not in ws), IC_ERR_FORBIDDEN (the rules),
 * IC_ERR_INVALID (a disabled user), IC_ERR_EXISTS when the assignment
 * changed between its read and the update (another node): read again. */
ic_err ic_inbox_assign(ic_conn *tx, const ic_inbox_actor *a, int64_t conv, int64_t user_id,
                       int64_t team_id, bool transfer, const char *note);

/* Closes (open false) or reopens (open true) conv with an event "close" or
 * "reopen". Operators: only a conversation that is unassigned or theirs.
 * IC_ERR_EXISTS when reopening while the person has another open
 * conversation on that channel; closing a closed one (or reopening an open
 * one) changes nothing and writes no event. */
ic_err ic_inbox_set_open(ic_conn *tx, const ic_inbox_actor *a, int64_t conv, bool open);

/* Adds (add true) or removes label to/from conv, event "label_added" or
 * "label_removed" (data: label_id, name). Adding one already there, or
 * removing one that is not, changes nothing and writes no event.
 * IC_ERR_NOT_FOUND for a conversation or label not in ws. */
ic_err ic_inbox_label_set(ic_conn *tx, const ic_inbox_actor *a, int64_t conv, int64_t label,
                          bool add);

/* The longest note body, in characters. */
#define IC_INBOX_NOTE_MAX 4000
/* The most users a note may mention. */
#define IC_INBOX_MENTIONS_MAX 50

/* Adds a note by the actor (who must be a signed-in user: IC_ERR_INVALID
 * for an API token, as notes.author_id is a user; operator or above) to conv, and an event
 * "note" (data: note_id, mentions). mentions: the user ids named in
 * explicit_ids (a JSON array of integers, or NULL; each must be a user of ws:
 * IC_ERR_NOT_FOUND otherwise) and every user of ws whose name follows an '@'
 * in body (case-insensitive, ended by a non-letter). *id gets the note's id
 * (may be NULL). */
ic_err ic_inbox_note_add(ic_conn *tx, const ic_inbox_actor *a, int64_t conv, const char *body,
                         const json_t *explicit_ids, int64_t *id);

/* Notes of conv, newest first: {id, author {id, name}, body, mentions [ids],
 * created_at}. Events of conv, newest first: {id, kind, actor {id, name} |
 * null, data, created_at}. Paged by id like the other lists (ic_sql_page).
 * IC_ERR_NOT_FOUND when conv is not in ws. */
ic_err ic_inbox_notes_list(ic_conn *c, int64_t ws, int64_t conv, int64_t cursor, int limit,
                           json_t **items, int64_t *next);
ic_err ic_inbox_events_list(ic_conn *c, int64_t ws, int64_t conv, int64_t cursor, int limit,
                            json_t **items, int64_t *next);

/* ---- teams and labels (in a writer job for the writes) -------------------- */

/* Every team of ws by name: {id, name, auto_assign, members [{id, name}]}. */
ic_err ic_inbox_teams_list(ic_conn *c, int64_t ws, json_t **out);
/* One team as above. IC_ERR_NOT_FOUND. */
ic_err ic_inbox_team_get(ic_conn *c, int64_t ws, int64_t id, json_t **out);
/* IC_ERR_EXISTS when the name is taken in ws. */
ic_err ic_inbox_team_insert(ic_conn *tx, int64_t ws, const char *name, int64_t *id);
/* name NULL keeps it; auto_assign < 0 keeps it. IC_ERR_NOT_FOUND,
 * IC_ERR_EXISTS. */
ic_err ic_inbox_team_update(ic_conn *tx, int64_t ws, int64_t id, const char *name, int auto_assign);
/* Deletes the team, its memberships, and clears it from conversations. */
ic_err ic_inbox_team_delete(ic_conn *tx, int64_t ws, int64_t id);
/* Replaces the members with user_ids (an array of integers, each a user of
 * ws: IC_ERR_NOT_FOUND otherwise). */
ic_err ic_inbox_team_set_members(ic_conn *tx, int64_t ws, int64_t id, const json_t *user_ids);

/* Every label of ws by name: {id, name, color}. */
ic_err ic_inbox_labels_list(ic_conn *c, int64_t ws, json_t **out);
ic_err ic_inbox_label_get(ic_conn *c, int64_t ws, int64_t id, json_t **out);
/* color NULL gives the default ("#6b7280"). IC_ERR_EXISTS for a taken name. */
ic_err ic_inbox_label_insert(ic_conn *tx, int64_t ws, const char *name, const char *color,
                             int64_t *id);
/* NULL keeps a field. IC_ERR_NOT_FOUND, IC_ERR_EXISTS. */
ic_err ic_inbox_label_update(ic_conn *tx, int64_t ws, int64_t id, const char *name,
                             const char *color);
/* Deletes the label and takes it off every conversation. */
ic_err ic_inbox_label_delete(ic_conn *tx, int64_t ws, int64_t id);

#endif
