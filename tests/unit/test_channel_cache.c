/* test_channel_cache.c - channels by webhook UUID (store/channel_cache.h):
 * a remembered channel is served without the database until its ttl ends or
 * the cache is forgotten, unknown UUIDs are never remembered, a full cache
 * starts again, and many threads may look up at once. */
#include "store/channel_cache.h"
#include "store_fixture.h"

/* The UUID of channel id in ws. */
static void uuid_of(fx *f, int64_t ws, int64_t id, char *out, size_t size)
{
    ic_channel ch;
    assert_int_equal(ic_store_channel_get(f->c, ws, id, &ch), IC_OK);
    snprintf(out, size, "%s", ch.uuid);
    ic_channel_clear(&ch);
}

/* The app secret the cache gives for uuid. */
static void expect_secret(ic_channel_cache *cc, ic_conn *c, const char *uuid, const char *secret)
{
    ic_channel ch;
    assert_int_equal(ic_channel_cache_get(cc, c, uuid, &ch), IC_OK);
    assert_string_equal(ch.uuid, uuid);
    assert_string_equal(ch.app_secret, secret);
    ic_channel_clear(&ch);
}

static void rotate_secret(fx *f)
{
    assert_int_equal(ic_sql_exec(f->c, "UPDATE channels SET app_secret = 'rotated'"), IC_OK);
}

static void test_remembered_until_forgotten(void **state)
{
    fx *f = *state;
    char uuid[40];
    uuid_of(f, f->ws, f->ch, uuid, sizeof uuid);
    ic_channel_cache *cc = ic_channel_cache_new(3600LL * 1000000, 16);
    expect_secret(cc, f->c, uuid, "app-secret");
    rotate_secret(f);
    expect_secret(cc, f->c, uuid, "app-secret"); /* remembered, not read */
    ic_channel_cache_forget(cc);
    expect_secret(cc, f->c, uuid, "rotated");
    ic_channel_cache_free(cc);
}

static void test_ttl_ends(void **state)
{
    fx *f = *state;
    char uuid[40];
    uuid_of(f, f->ws, f->ch, uuid, sizeof uuid);
    ic_channel_cache *cc = ic_channel_cache_new(20 * 1000, 16);
    expect_secret(cc, f->c, uuid, "app-secret");
    rotate_secret(f);
    ic_sleep_us(30 * 1000);
    expect_secret(cc, f->c, uuid, "rotated");
    ic_channel_cache_free(cc);
}

static void test_unknown_not_remembered(void **state)
{
    fx *f = *state;
    ic_channel_cache *cc = ic_channel_cache_new(3600LL * 1000000, 16);
    ic_channel ch;
    assert_int_equal(ic_channel_cache_get(cc, f->c, "no-such-channel", &ch), IC_ERR_NOT_FOUND);
    assert_null(ch.app_secret);
    assert_int_equal(ic_channel_cache_get(cc, f->c, NULL, &ch), IC_ERR_NOT_FOUND);
    /* A channel created after a miss is found at once. */
    int64_t id = add_channel(f->c, f->ws, "3003");
    char uuid[40];
    uuid_of(f, f->ws, id, uuid, sizeof uuid);
    expect_secret(cc, f->c, uuid, "app-secret");
    ic_channel_cache_free(cc);
}

static void test_full_cache_starts_again(void **state)
{
    fx *f = *state;
    char a[40], b[40];
    uuid_of(f, f->ws, f->ch, a, sizeof a);
    uuid_of(f, f->ws2, f->ch2, b, sizeof b);
    ic_channel_cache *cc = ic_channel_cache_new(3600LL * 1000000, 1);
    expect_secret(cc, f->c, a, "app-secret");
    expect_secret(cc, f->c, b, "app-secret"); /* a is dropped to make room */
    rotate_secret(f);
    expect_secret(cc, f->c, b, "app-secret");
    expect_secret(cc, f->c, a, "rotated");
    ic_channel_cache_free(cc);
}

static void test_without_cache_reads_every_time(void **state)
{
    fx *f = *state;
    char uuid[40];
    uuid_of(f, f->ws, f->ch, uuid, sizeof uuid);
    expect_secret(NULL, f->c, uuid, "app-secret");
    rotate_secret(f);
    expect_secret(NULL, f->c, uuid, "rotated");
    ic_channel_cache_forget(NULL);
    ic_channel_cache_free(NULL);
}

typedef struct lookers {
    fx *f;
    ic_channel_cache *cc;
    char uuids[2][40];
    int failures;
} lookers;

static void *look_many(void *arg)
{
    lookers *l = arg;
    ic_conn *c = ic_db_thread_conn(l->f->db);
    for (int i = 0; i < 2000; i++) {
        ic_channel ch;
        const char *uuid = l->uuids[i % 2];
        if (ic_channel_cache_get(l->cc, c, uuid, &ch) != IC_OK || strcmp(ch.uuid, uuid) != 0)
            __atomic_add_fetch(&l->failures, 1, __ATOMIC_RELAXED);
        ic_channel_clear(&ch);
        if (i % 97 == 0)
            ic_channel_cache_forget(l->cc);
    }
    return NULL;
}

static void test_threads(void **state)
{
    fx *f = *state;
    lookers l = {.f = f, .cc = ic_channel_cache_new(3600LL * 1000000, 1)};
    uuid_of(f, f->ws, f->ch, l.uuids[0], sizeof l.uuids[0]);
    uuid_of(f, f->ws2, f->ch2, l.uuids[1], sizeof l.uuids[1]);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, look_many, &l), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(l.failures, 0);
    ic_channel_cache_free(l.cc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_remembered_until_forgotten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl_ends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_not_remembered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_cache_starts_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_cache_reads_every_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
