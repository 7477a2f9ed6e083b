/* wa_outbound_test.h - helpers shared by the outbound unit tests. Include
 * after <cmocka.h>. */
#ifndef IC_WA_OUTBOUND_TEST_H
#define IC_WA_OUTBOUND_TEST_H

#include "wa/outbound.h"

#include "base/buf.h"

#include <stdio.h>
#include <string.h>

#define TO "250788123123"

static inline json_t *J(const char *s)
{
    json_error_t je;
    json_t *v = json_loads(s, 0, &je);
    if (!v)
        fail_msg("bad test JSON (%s): %s", je.text, s);
    return v;
}

/* n copies of unit, as a new string (free it). */
static inline char *rep(const char *unit, size_t n)
{
    ic_buf b = IC_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        ic_buf_puts(&b, unit);
    return ic_buf_steal(&b);
}

/* Builds the message in JSON text s for TO. */
static inline ic_err build(const char *s, ic_wa_outbound *o, ic_errmsg *em)
{
    json_t *msg = J(s);
    memset(em, 0, sizeof *em);
    ic_err e = ic_wa_outbound_build(msg, TO, NULL, NULL, o, em);
    json_decref(msg);
    if (e) {
        assert_int_equal(o->count, 0);
        assert_null(o->bodies[0]);
        assert_null(o->warnings);
    }
    return e;
}

/* Expects build(s) to give code with a message containing want. */
static inline void expect_err(const char *s, ic_err code, const char *want)
{
    ic_wa_outbound o;
    ic_errmsg em;
    ic_err e = build(s, &o, &em);
    if (e != code || !strstr(em.msg, want))
        fail_msg("%s\n  gave %d \"%s\"; wanted %d with \"%s\"", s, e, em.msg, code, want);
}

static inline void expect_ok(const char *s)
{
    ic_wa_outbound o;
    ic_errmsg em;
    if (build(s, &o, &em) != IC_OK)
        fail_msg("%s\n  refused: %s", s, em.msg);
    ic_wa_outbound_clear(&o);
}

/* Builds s and compares the one body with want (key order irrelevant). */
static inline void expect_body(const char *s, const char *want)
{
    ic_wa_outbound o;
    ic_errmsg em;
    if (build(s, &o, &em) != IC_OK)
        fail_msg("%s\n  refused: %s", s, em.msg);
    json_t *w = J(want);
    assert_int_equal(o.count, 1);
    if (!json_equal(o.bodies[0], w)) {
        char *got = json_dumps(o.bodies[0], JSON_SORT_KEYS);
        fail_msg("%s\n  got  %s\n  want %s", s, got, want);
    }
    json_decref(w);
    ic_wa_outbound_clear(&o);
}

/* fmt with every "@@" replaced by value, as a new string. */
static inline char *subst(const char *fmt, const char *value)
{
    ic_buf b = IC_BUF_INIT;
    for (const char *p = fmt; *p;) {
        const char *at = strstr(p, "@@");
        if (!at) {
            ic_buf_puts(&b, p);
            break;
        }
        ic_buf_append(&b, p, (size_t)(at - p));
        ic_buf_puts(&b, value);
        p = at + 2;
    }
    return ic_buf_steal(&b);
}

#endif
