/* urgency.h - urgency words: phrases that mark a conversation urgent when
 * an inbound message contains them ("suicide", "kill myself", "ngiyafuna
 * usizo").
 *
 * Matching is on whole words, case-insensitive, and accent-insensitive for
 * Latin letters: both the phrase and the text are folded (ic_urgency_fold)
 * into words of lower-case letters and digits separated by one space, and a
 * phrase matches where its folded words occur as consecutive words of the
 * text ("Kill, myself!" contains "kill myself"; "skill myself" does not).
 *
 * A phrase has a language ("" = any). A phrase in language L applies to a
 * contact whose language is unknown or has L's primary subtag ("zu" matches
 * "zu", "zu_ZA", "zu-ZA"); "" applies to everyone.
 *
 * Each workspace's phrases are compiled into a set and cached in memory for
 * IC_URGENCY_TTL_US (other nodes' changes show within that time); the node
 * that changes them calls ic_urgency_invalidate after its commit. A
 * workspace without phrases costs one hash lookup per message.
 */
#ifndef IC_CORE_URGENCY_H
#define IC_CORE_URGENCY_H

#include "base/err.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IC_URGENCY_TTL_US ((int64_t)5 * 1000000)
/* Only the first this many bytes of a message are searched. */
#define IC_URGENCY_TEXT_MAX 16384

typedef struct ic_urgency_set ic_urgency_set;

/* Folds UTF-8 text s (len bytes) into out: words of lower-case letters and
 * digits (Latin letters lose their accents: "Ñandú" -> "nandu", "ß" ->
 * "ss"; Greek and Cyrillic are lower-cased; other scripts are kept as they
 * are) separated by single spaces, without leading or trailing space.
 * Punctuation, symbols, emoji, spaces and invalid UTF-8 separate words;
 * combining accents are dropped. out must hold 2 * len + 1 bytes; returns
 * the folded length (out is NUL-terminated). */
size_t ic_urgency_fold(const char *s, size_t len, char *out);

/* A new empty set. Never NULL. */
ic_urgency_set *ic_urgency_set_new(void);

/* Adds phrase id (its language, "" or NULL for any) to set. A phrase that
 * folds to nothing (only punctuation) is skipped. */
void ic_urgency_set_add(ic_urgency_set *set, int64_t id, const char *language, const char *phrase);

/* The number of phrases in set. */
size_t ic_urgency_set_count(const ic_urgency_set *set);

/* Takes one more reference to set / drops one (freeing it at zero). Thread
 * safe. NULL ok. A new set has one reference. */
void ic_urgency_set_retain(ic_urgency_set *set);
void ic_urgency_set_release(ic_urgency_set *set);

/* Searches folded text (from ic_urgency_fold) for the earliest phrase of set
 * that applies to a contact of language lang (NULL: unknown, every phrase
 * applies). On a match returns true with *id and *phrase_lang (borrowed from
 * set; "" for any), else false. */
bool ic_urgency_find(const ic_urgency_set *set, const char *folded, const char *lang, int64_t *id,
                     const char **phrase_lang);

/* The compiled set of workspace ws: from the cache, or loaded on c and
 * cached. *out is NULL when ws has no phrases, else a reference the caller
 * drops with ic_urgency_set_release. Errors: the store's. Any connection. */
ic_err ic_urgency_get(ic_conn *c, int64_t ws, ic_urgency_set **out);

/* Drops ws's cached set (call after committing a change to its words). */
void ic_urgency_invalidate(int64_t ws);

/* Drops every cached set (tests that reuse workspace ids). */
void ic_urgency_cache_clear(void);

/* The ingest hook: when m (an inbound message just stored on tx, from
 * WhatsApp id from) has text containing one of its workspace's phrases that
 * applies to the contact's language, marks its conversation urgent and
 * records a conversation event 'urgent' {"phrase_id": N}, in tx, and
 * publishes the live event conversation.updated {"conversation_id": N,
 * "urgent": true} (core/live.h: sent at commit). *urgent
 * (may be NULL) tells whether it did. Works in the writer's optimistic pass
 * too (the conversation is found through the message). Errors: the store's.
 * Writer only. */
ic_err ic_urgency_on_inbound(ic_conn *tx, const ic_message *m, const char *from, bool *urgent);

#endif
