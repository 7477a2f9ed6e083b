/* test_urgency.c - urgency words: folding (case, accents, UTF-8), whole-word
 * matching, languages, the per-workspace cache and its invalidation, and
 * ingest marking a conversation urgent in the message's own transaction. */
#include "routing_fixture.h"

static void fold_is(const char *in, const char *want)
{
    char out[512];
    ic_urgency_fold(in, strlen(in), out);
    assert_string_equal(out, want);
}

static void test_fold(void **state)
{
    (void)state;
    fold_is("Kill, MYSELF!!", "kill myself");
    fold_is("  Ñandú  ÉCOLE straße ", "nandu ecole strasse");
    fold_is("Ærøskøbing Łódź Œuvre Þór", "aeroskobing lodz oeuvre thor");
    fold_is("ПОМОГИТЕ мне", "помогите мне");
    fold_is("e\xcc\x81te\xcc\x81", "ete"); /* combining acute accents */
    fold_is("help\xf0\x9f\x99\x8fme", "help me");
    fold_is("bad\xff\xfe utf8\xc3", "bad utf8");
    fold_is("don't", "don t");
    fold_is("", "");
    fold_is("?!...", "");
    fold_is("\xe2\x80\x9cquoted\xe2\x80\x9d 123", "quoted 123");
}

static ic_urgency_set *sample_set(void)
{
    ic_urgency_set *s = ic_urgency_set_new();
    ic_urgency_set_add(s, 1, "", "Suicide");
    ic_urgency_set_add(s, 2, NULL, "kill myself");
    ic_urgency_set_add(s, 3, "zu", "ngiyafuna usizo");
    ic_urgency_set_add(s, 4, "ES", "ayuda");
    ic_urgency_set_add(s, 5, "", "?!"); /* folds to nothing: skipped */
    return s;
}

static int64_t find(const ic_urgency_set *s, const char *text, const char *lang)
{
    char folded[1024];
    int64_t id = 0;
    const char *plang = NULL;
    ic_urgency_fold(text, strlen(text), folded);
    return ic_urgency_find(s, folded, lang, &id, &plang) ? id : 0;
}

static void test_match_rules(void **state)
{
    (void)state;
    ic_urgency_set *s = sample_set();
    assert_int_equal(ic_urgency_set_count(s), 4);
    assert_int_equal(find(s, "I keep thinking about SUICIDE.", NULL), 1);
    assert_int_equal(find(s, "suïcide", NULL), 1);
    assert_int_equal(find(s, "suicidal thoughts", NULL), 0);
    assert_int_equal(find(s, "I want to kill   myself", NULL), 2);
    assert_int_equal(find(s, "kill, myself", NULL), 2);
    assert_int_equal(find(s, "skill myself", NULL), 0);
    assert_int_equal(find(s, "kill myselfish", NULL), 0);
    assert_int_equal(find(s, "kill", NULL), 0);
    assert_int_equal(find(s, "kill myself or suicide", NULL), 2); /* the earliest */
    assert_int_equal(find(s, "hello", NULL), 0);
    assert_int_equal(find(NULL, "suicide", NULL), 0);
    ic_urgency_set_release(s);
}

static void test_languages(void **state)
{
    (void)state;
    ic_urgency_set *s = sample_set();
    /* Unknown language: every phrase applies. */
    assert_int_equal(find(s, "Ngiyafuna USIZO manje", NULL), 3);
    assert_int_equal(find(s, "Ngiyafuna usizo", ""), 3);
    assert_int_equal(find(s, "ngiyafuna usizo", "zu_ZA"), 3);
    assert_int_equal(find(s, "ngiyafuna usizo", "ZU-za"), 3);
    assert_int_equal(find(s, "ngiyafuna usizo", "en"), 0);
    assert_int_equal(find(s, "necesito ÁYUDA", "es-MX"), 4);
    assert_int_equal(find(s, "necesito ayuda", "en"), 0);
    /* A phrase of any language applies to everyone. */
    assert_int_equal(find(s, "suicide", "zu"), 1);
    ic_urgency_set_release(s);
}

/* The compiled set seen by ic_urgency_get on the test's connection: its
 * count, 0 when the workspace has none. */
static size_t cached_count(fx *f)
{
    ic_urgency_set *s = NULL;
    assert_int_equal(ic_urgency_get(ic_db_thread_conn(f->db), f->ws, &s), IC_OK);
    size_t n = ic_urgency_set_count(s);
    ic_urgency_set_release(s);
    return n;
}

static void add_word(fx *f, const char *lang, const char *phrase)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO urgency_words (workspace_id, language, phrase, created_us)"
             " VALUES (%lld, '%s', '%s', 1)",
             (long long)f->ws, lang, phrase);
    fx_exec(f, sql);
}

static void test_cache_invalidation(void **state)
{
    fx *f = *state;
    assert_int_equal(cached_count(f), 0); /* remembered as "none" */
    add_word(f, "", "suicide");
    assert_int_equal(cached_count(f), 0); /* still cached */
    ic_urgency_invalidate(f->ws);
    assert_int_equal(cached_count(f), 1);
    add_word(f, "zu", "ngiyafuna usizo");
    assert_int_equal(cached_count(f), 1);
    ic_urgency_invalidate(f->ws);
    assert_int_equal(cached_count(f), 2);
    /* Another workspace is not affected. */
    ic_urgency_set *other = NULL;
    assert_int_equal(ic_urgency_get(ic_db_thread_conn(f->db), f->ws + 1000, &other), IC_OK);
    assert_null(other);
    fx_exec(f, "DELETE FROM urgency_words");
    ic_urgency_cache_clear();
    assert_int_equal(cached_count(f), 0);
}

static void test_ingest_marks_urgent(void **state)
{
    fx *f = *state;
    add_word(f, "", "kill myself");
    int64_t phrase = fx_i64(f, "SELECT id FROM urgency_words");
    assert_int_equal(fx_ingest1(f, "a", "27820000001", "Hello, I need to talk"), IC_OK);
    assert_int_equal(fx_i64(f, "SELECT count(*) FROM conversations WHERE urgent = 1"), 0);
    /* The second message of a known contact (PostgreSQL's optimistic pass). */
    assert_int_equal(fx_ingest1(f, "b", "27820000001", "I want to KILL myself."), IC_OK);
    int64_t conv = fx_i64(f, "SELECT conversation_id FROM messages WHERE wa_id = 'wamid.b.0'");
    assert_true(conv > 0);
    assert_int_equal(fx_i64(f, "SELECT urgent FROM conversations WHERE id = %lld", (long long)conv),
                     1);
    char data[128], want[128];
    test_view_text(&f->view, "SELECT kind || ' ' || data FROM conversation_events", data,
                   sizeof data);
    snprintf(want, sizeof want, "urgent {\"phrase_id\":%lld}", (long long)phrase);
    assert_string_equal(data, want);
    /* A new contact's first message, and a batch mixing both. */
    const char *froms[] = {"27820000002", "27820000003"};
    const char *texts[] = {"fine thanks", "kill myself"};
    assert_int_equal(fx_ingest(f, "c", froms, texts, 2), IC_OK);
    assert_int_equal(fx_i64(f, "SELECT count(*) FROM conversations WHERE urgent = 1"), 2);
    assert_int_equal(fx_i64(f, "SELECT v.urgent FROM conversations v JOIN contacts k"
                               " ON k.id = v.contact_id WHERE k.wa_id = '27820000002'"),
                     0);
    assert_int_equal(fx_i64(f, "SELECT count(*) FROM conversation_events WHERE kind = 'urgent'"),
                     2);
}

static ic_err read_urgent_then_fail(ic_conn *tx, fx_ingest_job *j)
{
    ic_err e = ic_sql_one_i64(tx, "SELECT count(*) FROM conversations WHERE urgent = 1", NULL, 0,
                              &j->seen);
    return e == IC_OK ? IC_ERR_INVALID : e;
}

static void test_same_transaction(void **state)
{
    fx *f = *state;
    add_word(f, "", "suicide");
    int64_t seen = -1;
    const char *from = "27820000009", *text = "suicide";
    /* Inside the job the conversation is urgent already; the job then
     * fails and everything goes, the mark with the message. */
    assert_int_equal(fx_ingest_then(f, "t", &from, &text, 1, read_urgent_then_fail, &seen),
                     IC_ERR_INVALID);
    assert_int_equal(seen, 1);
    assert_int_equal(fx_i64(f, "SELECT count(*) FROM messages"), 0);
    assert_int_equal(fx_i64(f, "SELECT count(*) FROM conversations WHERE urgent = 1"), 0);
    assert_int_equal(fx_i64(f, "SELECT count(*) FROM conversation_events"), 0);
}

static void test_contact_language(void **state)
{
    fx *f = *state;
    add_word(f, "zu", "ngiyafuna usizo");
    assert_int_equal(fx_ingest1(f, "a", "27820000001", "sawubona"), IC_OK);
    assert_int_equal(fx_ingest1(f, "b", "27820000002", "hello"), IC_OK);
    fx_exec(f, "UPDATE contacts SET language = 'en' WHERE wa_id = '27820000001';"
               "UPDATE contacts SET language = 'zu_ZA' WHERE wa_id = '27820000002'");
    assert_int_equal(fx_ingest1(f, "c", "27820000001", "ngiyafuna usizo"), IC_OK);
    assert_int_equal(fx_ingest1(f, "d", "27820000002", "Ngiyafuna usizo!"), IC_OK);
    assert_int_equal(fx_i64(f,
                            "SELECT count(*) FROM conversations v JOIN contacts k"
                            " ON k.id = v.contact_id WHERE v.urgent = 1 AND k.language = 'zu_ZA'"),
                     1);
    assert_int_equal(fx_i64(f, "SELECT count(*) FROM conversations WHERE urgent = 1"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_match_rules),
        cmocka_unit_test(test_languages),
        cmocka_unit_test_setup_teardown(test_cache_invalidation, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_ingest_marks_urgent, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_same_transaction, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_contact_language, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests_name("urgency", tests, NULL, NULL);
}
