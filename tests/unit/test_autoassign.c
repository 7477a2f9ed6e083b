/* test_autoassign.c - automatic assignment of conversations opened by
 * inbound messages: round robin, capacity, disabled members, nobody free,
 * which team, and the cache of "no auto-assigning team". */
#include "routing_fixture.h"

/* Adds a user (capacity, disabled) to the workspace; returns its id. */
static int64_t add_user(fx *f, const char *name, int capacity, bool disabled)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO users (workspace_id, email, name, role, password_hash, created_us,"
             " capacity, disabled_us) VALUES (%lld, '%s@example.org', '%s', 'operator', 'x', 1,"
             " %d, %d)",
             (long long)f->ws, name, name, capacity, disabled ? 5 : 0);
    fx_exec(f, sql);
    return fx_i64(f, "SELECT id FROM users WHERE name = '%s'", name);
}

static int64_t add_team(fx *f, const char *name, bool auto_assign)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO teams (workspace_id, name, auto_assign, created_us)"
             " VALUES (%lld, '%s', %d, 1)",
             (long long)f->ws, name, auto_assign ? 1 : 0);
    fx_exec(f, sql);
    ic_autoassign_invalidate(f->ws);
    return fx_i64(f, "SELECT id FROM teams WHERE name = '%s'", name);
}

static void add_member(fx *f, int64_t team, int64_t user)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO team_members (team_id, user_id, workspace_id) VALUES (%lld, %lld, %lld)",
             (long long)team, (long long)user, (long long)f->ws);
    fx_exec(f, sql);
}

/* A new person writes in; returns the assignee of their conversation (0:
 * none; -1: no conversation). */
static int64_t new_person(fx *f, int n)
{
    char from[32], tag[32];
    snprintf(from, sizeof from, "2782%07d", n);
    snprintf(tag, sizeof tag, "p%d", n);
    assert_int_equal(fx_ingest1(f, tag, from, "hello"), IC_OK);
    return fx_i64(f,
                  "SELECT COALESCE(v.assignee_id, 0) FROM conversations v JOIN contacts k"
                  " ON k.id = v.contact_id WHERE k.wa_id = '%s'",
                  from);
}

static int64_t conv_team(fx *f, int n)
{
    return fx_i64(f,
                  "SELECT COALESCE(v.team_id, 0) FROM conversations v JOIN contacts k"
                  " ON k.id = v.contact_id WHERE k.wa_id = '2782%07d'",
                  n);
}

static void test_round_robin(void **state)
{
    fx *f = *state;
    int64_t a = add_user(f, "ayanda", 10, false), b = add_user(f, "bongani", 10, false),
            c = add_user(f, "chipo", 10, false);
    int64_t t = add_team(f, "helpers", true);
    add_member(f, t, a);
    add_member(f, t, b);
    add_member(f, t, c);
    assert_int_equal(new_person(f, 1), a);
    assert_int_equal(new_person(f, 2), b);
    assert_int_equal(new_person(f, 3), c);
    assert_int_equal(new_person(f, 4), a);
    assert_int_equal(conv_team(f, 4), t);
    assert_int_equal(fx_i64(f, "SELECT last_assigned_user_id FROM teams"), a);
    assert_true(fx_i64(f, "SELECT min(assigned_us) FROM conversations") > 0);
    /* One event per conversation; a second message changes nothing. */
    assert_int_equal(fx_ingest1(f, "again", "27820000001", "still there?"), IC_OK);
    assert_int_equal(fx_i64(f, "SELECT count(*) FROM conversation_events WHERE kind = 'assign'"),
                     4);
    char data[200], want[200];
    test_view_text(&f->view, "SELECT data FROM conversation_events ORDER BY id LIMIT 1", data,
                   sizeof data);
    snprintf(want, sizeof want,
             "{\"auto\":true,\"from_user_id\":null,\"to_user_id\":%lld,\"from_team_id\":null,"
             "\"to_team_id\":%lld}",
             (long long)a, (long long)t);
    assert_string_equal(data, want);
    /* The second message of conversation 1 went in (no new conversation). */
    assert_int_equal(fx_i64(f, "SELECT count(*) FROM conversations"), 4);
}

static void test_capacity_and_disabled(void **state)
{
    fx *f = *state;
    int64_t off = add_user(f, "off", 10, true), one = add_user(f, "one", 1, false),
            zero = add_user(f, "zero", 0, false);
    int64_t t = add_team(f, "night", true);
    add_member(f, t, off);
    add_member(f, t, one);
    add_member(f, t, zero);
    assert_int_equal(new_person(f, 1), one);
    /* one is full, zero takes nothing, off is disabled: nobody is free. */
    assert_int_equal(new_person(f, 2), 0);
    assert_int_equal(conv_team(f, 2), t);
    assert_int_equal(fx_i64(f, "SELECT count(*) FROM conversation_events WHERE kind = 'assign'"),
                     2);
    /* A closed conversation frees its assignee. */
    fx_exec(f, "UPDATE conversations SET status = 'closed'");
    assert_int_equal(new_person(f, 3), one);
}

static void test_which_team(void **state)
{
    fx *f = *state;
    int64_t a = add_user(f, "ayanda", 10, false), b = add_user(f, "bongani", 10, false);
    /* No auto-assigning team: nothing happens (and "none" is cached). */
    int64_t manual = add_team(f, "manual", false);
    add_member(f, manual, a);
    assert_int_equal(new_person(f, 1), 0);
    assert_int_equal(conv_team(f, 1), 0);
    fx_exec(f, "UPDATE teams SET auto_assign = 1");
    assert_int_equal(new_person(f, 2), 0); /* cached */
    ic_autoassign_invalidate(f->ws);
    assert_int_equal(new_person(f, 3), a);
    /* The first auto-assigning team by id wins. */
    int64_t second = add_team(f, "second", true);
    add_member(f, second, b);
    assert_int_equal(new_person(f, 4), a);
    assert_int_equal(conv_team(f, 4), manual);
}

static void test_members_of_other_workspaces(void **state)
{
    fx *f = *state;
    int64_t t = add_team(f, "helpers", true);
    fx_exec(f, "INSERT INTO workspaces (name, created_us) VALUES ('Other', 1)");
    int64_t other_ws = fx_i64(f, "SELECT max(id) FROM workspaces");
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO users (workspace_id, email, name, role, password_hash, created_us)"
             " VALUES (%lld, 'x@example.org', 'stranger', 'operator', 'x', 1)",
             (long long)other_ws);
    fx_exec(f, sql);
    int64_t stranger = fx_i64(f, "SELECT id FROM users WHERE name = 'stranger'");
    add_member(f, t, stranger);
    assert_int_equal(new_person(f, 1), 0);
    assert_int_equal(conv_team(f, 1), t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_robin, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_capacity_and_disabled, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_which_team, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_members_of_other_workspaces, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests_name("autoassign", tests, NULL, NULL);
}
