/* urgency.c - folding, compiled phrase sets, their cache and the ingest
 * hook; see urgency.h. */
#include "core/urgency.h"

#include "base/alloc.h"
#include "base/buf.h"
#include "base/log.h"
#include "core/live.h"
#include "core/ws_cache.h"
#include "store/routing.h"

#include <stdatomic.h>
#include <string.h>

#define LANG_MAX 16

/* ---- folding ------------------------------------------------------------------- */

/* U+00C0..U+00FF and U+0100..U+017F to ASCII: a letter, '1' for "ij", '2'
 * for "oe", '3' for "ae", '4' for "th", '5' for "ss", '.' for a symbol. */
static const char LATIN1[] = "aaaaaa3ceeeeiiiidnooooo.ouuuuy45"
                             "aaaaaa3ceeeeiiiidnooooo.ouuuuy4y";
static const char LATIN_EXT_A[] = "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii11jjkkk"
                                  "llllllllllnnnnnnnnnoooooo22rrrrrrssssssssttttttuuuuuuuuuuuu"
                                  "wwyyyzzzzzzs";

/* Decodes one UTF-8 code point at s (n bytes left): its value and length,
 * or -1 and length 1 for an invalid sequence. */
static int32_t utf8_next(const unsigned char *s, size_t n, size_t *used)
{
    *used = 1;
    if (s[0] < 0x80)
        return s[0];
    int len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (!len || s[0] > 0xF4 || (size_t)len > n)
        return -1;
    int32_t cp = s[0] & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *used = (size_t)len;
    return cp;
}

static size_t utf8_put(int32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* What cp becomes: 0 separates words, -2 is dropped (combining marks,
 * variation selectors, zero-width joiners), -10..-14 are the two-letter
 * folds of LATIN1's '1'..'5', else the folded code point. */
static int32_t fold_cp(int32_t cp)
{
    if (cp < 0)
        return 0;
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z')
            return cp + 32;
        return ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) ? cp : 0;
    }
    if (cp < 0xC0)
        return 0;
    if (cp < 0x180) {
        char t = cp < 0x100 ? LATIN1[cp - 0xC0] : LATIN_EXT_A[cp - 0x100];
        if (t == '.')
            return 0;
        return (t >= '1' && t <= '5') ? -(10 + (t - '1')) : t;
    }
    if ((cp >= 0x300 && cp <= 0x36F) || (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0x200D ||
        cp == 0x200C || cp == 0x200B)
        return -2;
    if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2)
        return cp + 32; /* Greek capitals */
    if (cp >= 0x410 && cp <= 0x42F)
        return cp + 32; /* Cyrillic capitals */
    if (cp >= 0x400 && cp <= 0x40F)
        return cp + 80;
    if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
        (cp >= 0xFF00 && cp <= 0xFF0F) || cp >= 0x1F000 || (cp >= 0xD800 && cp <= 0xF8FF))
        return 0; /* punctuation, symbols, emoji, private use */
    return cp;
}

size_t ic_urgency_fold(const char *s, size_t len, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0, used = 0;
    bool gap = false;
    for (size_t i = 0; i < len; i += used) {
        int32_t f = fold_cp(utf8_next(p + i, len - i, &used));
        if (f == -2)
            continue;
        if (f == 0) {
            gap = n > 0;
            continue;
        }
        if (gap)
            out[n++] = ' ';
        gap = false;
        static const char *const pairs[] = {"ij", "oe", "ae", "th", "ss"};
        if (f <= -10) {
            memcpy(out + n, pairs[-f - 10], 2);
            n += 2;
        } else {
            n += utf8_put(f, out + n);
        }
    }
    out[n] = '\0';
    return n;
}

/* ---- sets ----------------------------------------------------------------------- */

typedef struct phrase {
    int64_t id;
    char lang[LANG_MAX]; /* primary subtag, lower case; "" = any */
    char *folded;
    size_t len;
    int next; /* the next phrase in the same bucket, or -1 */
} phrase;

struct ic_urgency_set {
    atomic_int refs;
    phrase *items;
    size_t count, cap;
    int *heads; /* bucket -> first phrase, or -1; built lazily */
    size_t mask;
};

/* FNV-1a of the word at s (up to a space or the end). */
static uint64_t word_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s && *s != ' '; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The primary subtag of a language tag, lower case ("zu_ZA" -> "zu"). */
static void primary_tag(const char *lang, char *out)
{
    size_t n = 0;
    for (; lang && *lang && *lang != '-' && *lang != '_' && n + 1 < LANG_MAX; lang++)
        out[n++] = (*lang >= 'A' && *lang <= 'Z') ? (char)(*lang + 32) : *lang;
    out[n] = '\0';
}

static void set_index(ic_urgency_set *set)
{
    size_t size = 16;
    while (size < set->count * 2)
        size *= 2;
    ic_free(set->heads);
    set->heads = ic_malloc(size * sizeof *set->heads);
    set->mask = size - 1;
    for (size_t i = 0; i < size; i++)
        set->heads[i] = -1;
    /* Backwards, so that each chain lists phrases in the order added. */
    for (size_t i = set->count; i-- > 0;) {
        size_t b = word_hash(set->items[i].folded) & set->mask;
        set->items[i].next = set->heads[b];
        set->heads[b] = (int)i;
    }
}

ic_urgency_set *ic_urgency_set_new(void)
{
    ic_urgency_set *set = ic_calloc(1, sizeof *set);
    atomic_init(&set->refs, 1);
    set_index(set);
    return set;
}

void ic_urgency_set_add(ic_urgency_set *set, int64_t id, const char *language, const char *phrase_)
{
    size_t len = phrase_ ? strlen(phrase_) : 0;
    char *folded = ic_malloc(2 * len + 1);
    size_t n = ic_urgency_fold(phrase_ ? phrase_ : "", len, folded);
    if (n == 0) {
        ic_free(folded);
        return;
    }
    if (set->count == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 16;
        set->items = ic_realloc(set->items, set->cap * sizeof *set->items);
    }
    phrase *p = &set->items[set->count++];
    p->id = id;
    primary_tag(language, p->lang);
    p->folded = folded;
    p->len = n;
    set_index(set);
}

size_t ic_urgency_set_count(const ic_urgency_set *set)
{
    return set ? set->count : 0;
}

void ic_urgency_set_retain(ic_urgency_set *set)
{
    if (set)
        atomic_fetch_add(&set->refs, 1);
}

void ic_urgency_set_release(ic_urgency_set *set)
{
    if (!set || atomic_fetch_sub(&set->refs, 1) != 1)
        return;
    for (size_t i = 0; i < set->count; i++)
        ic_free(set->items[i].folded);
    ic_free(set->items);
    ic_free(set->heads);
    ic_free(set);
}

static bool applies(const phrase *p, const char *lang)
{
    if (!p->lang[0] || !lang || !*lang)
        return true;
    char want[LANG_MAX];
    primary_tag(lang, want);
    return strcmp(p->lang, want) == 0;
}

bool ic_urgency_find(const ic_urgency_set *set, const char *folded, const char *lang, int64_t *id,
                     const char **phrase_lang)
{
    if (!set || !set->count || !folded)
        return false;
    size_t left = strlen(folded);
    for (const char *w = folded; *w;) {
        for (int i = set->heads[word_hash(w) & set->mask]; i >= 0; i = set->items[i].next) {
            const phrase *p = &set->items[i];
            if (p->len <= left && memcmp(w, p->folded, p->len) == 0 &&
                (w[p->len] == ' ' || w[p->len] == '\0') && applies(p, lang)) {
                *id = p->id;
                *phrase_lang = p->lang;
                return true;
            }
        }
        const char *sp = strchr(w, ' ');
        if (!sp)
            break;
        left -= (size_t)(sp + 1 - w);
        w = sp + 1;
    }
    return false;
}

/* ---- the cache ---------------------------------------------------------------------- */

static void retain_cb(void *p)
{
    ic_urgency_set_retain(p);
}

static void release_cb(void *p)
{
    ic_urgency_set_release(p);
}

static ic_ws_cache cache = IC_WS_CACHE_INIT(IC_URGENCY_TTL_US, retain_cb, release_cb);

static void add_cb(int64_t id, const char *language, const char *phrase_, void *arg)
{
    ic_urgency_set_add(arg, id, language, phrase_);
}

ic_err ic_urgency_get(ic_conn *c, int64_t ws, ic_urgency_set **out)
{
    void *p = NULL;
    *out = NULL;
    if (ic_ws_cache_get(&cache, ws, &p, NULL)) {
        *out = p;
        return IC_OK;
    }
    ic_urgency_set *set = ic_urgency_set_new();
    ic_err e = ic_store_urgency_words_each(c, ws, add_cb, set);
    if (e != IC_OK) {
        ic_urgency_set_release(set);
        return e;
    }
    if (!set->count) {
        ic_urgency_set_release(set);
        set = NULL;
    }
    ic_urgency_set_retain(set); /* one for the cache, one for the caller */
    ic_ws_cache_put(&cache, ws, set, 0);
    *out = set;
    return IC_OK;
}

void ic_urgency_invalidate(int64_t ws)
{
    ic_ws_cache_invalidate(&cache, ws);
}

void ic_urgency_cache_clear(void)
{
    ic_ws_cache_clear(&cache);
}

/* ---- the ingest hook ------------------------------------------------------------------ */

/* Searches m's text; on a match that needs the contact's language, reads it
 * and searches again for that language. */
static ic_err match(ic_conn *tx, const ic_urgency_set *set, const ic_message *m, const char *from,
                    int64_t *id, bool *found)
{
    size_t len = strnlen(m->text, IC_URGENCY_TEXT_MAX);
    char stack[1024];
    char *folded = 2 * len + 1 <= sizeof stack ? stack : ic_malloc(2 * len + 1);
    ic_urgency_fold(m->text, len, folded);
    const char *plang = NULL;
    ic_err e = IC_OK;
    *found = ic_urgency_find(set, folded, NULL, id, &plang);
    if (*found && plang[0]) {
        char lang[LANG_MAX * 2];
        e = ic_store_contact_language(tx, m->workspace_id, from, lang, sizeof lang);
        if (e == IC_OK && lang[0])
            *found = ic_urgency_find(set, folded, lang, id, &plang);
    }
    if (folded != stack)
        ic_free(folded);
    return e;
}

ic_err ic_urgency_on_inbound(ic_conn *tx, const ic_message *m, const char *from, bool *urgent)
{
    ic_urgency_set *set = NULL;
    int64_t id = 0;
    bool found = false;
    if (urgent)
        *urgent = false;
    if (!m->text || !*m->text)
        return IC_OK;
    ic_err e = ic_urgency_get(tx, m->workspace_id, &set);
    if (e != IC_OK || !set)
        return e;
    e = match(tx, set, m, from, &id, &found);
    ic_urgency_set_release(set);
    if (e != IC_OK || !found)
        return e;
    char data[64];
    snprintf(data, sizeof data, "{\"phrase_id\":%lld}", (long long)id);
    int64_t conv = 0;
    e = ic_store_conversation_mark_urgent(tx, m->workspace_id, m->channel_id, m->wa_id, data,
                                          &conv);
    if (e == IC_OK) {
        IC_INFO("conversation_urgent", "ws=%lld conversation=%lld phrase=%lld",
                (long long)m->workspace_id, (long long)conv, (long long)id);
        json_t *ev = json_pack("{s:I, s:b}", "conversation_id", (json_int_t)conv, "urgent", 1);
        e = ic_live_publish(tx, m->workspace_id, IC_LIVE_CONVERSATION_UPDATED, ev);
        json_decref(ev);
        if (urgent)
            *urgent = true;
    }
    return e;
}
