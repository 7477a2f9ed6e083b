/* test_inbox_store.c - the inbox's store functions (store/inbox.h) on
 * SQLite, or PostgreSQL with IC_TEST_PG_URL: list views, filters, search and
 * the cursor; the per-user rules of assign, close and reopen for each role;
 * labels, notes and mentions; the events each action writes (and a refused
 * one does not); teams and labels; and the tenant line (another
 * workspace's ids are IC_ERR_NOT_FOUND). */
#include "store/inbox.h"
#include "store_fixture.h"

/* The people of the fixture's workspaces and their conversations. */
static struct {
    int64_t admin, sup, op1, op2, viewer, disabled, other; /* other: a user of ws2 */
    int64_t conv[6];                                       /* conv[4] is in ws2 */
    int64_t contact[6];
    int64_t team, team2; /* team2 is in ws2 */
    int64_t label, label2;
} P;

static int64_t add_user(ic_conn *c, int64_t ws, const char *email, const char *name,
                        const char *role)
{
    int64_t id = 0;
    assert_int_equal(ic_store_user_insert(c, ws, email, name, role, "x", &id), IC_OK);
    return id;
}

/* A person writes in at base + i hours with text. */
static void write_in(fx *f, int64_t ws, int64_t ch, int i, const char *name, const char *text,
                     int64_t base)
{
    char wa[32], wamid[32];
    snprintf(wa, sizeof wa, "2782000010%d", i);
    snprintf(wamid, sizeof wamid, "wamid.s%d", i);
    int64_t wa_us = base + i * HOUR_US;
    assert_int_equal(ic_store_contact_upsert(f->c, ws, wa, name, &P.contact[i]), IC_OK);
    assert_int_equal(
        ic_store_conversation_touch_inbound(f->c, ws, ch, P.contact[i], wa_us, &P.conv[i]), IC_OK);
    ic_message m = {.workspace_id = ws,
                    .channel_id = ch,
                    .contact_id = P.contact[i],
                    .conversation_id = P.conv[i],
                    .direction = IC_DIR_IN,
                    .wa_id = wamid,
                    .type = "text",
                    .text = text,
                    .content_json = "{}",
                    .status = "received",
                    .wa_us = wa_us};
    bool dup = false;
    assert_int_equal(ic_store_message_insert_inbound(f->c, &m, &dup), IC_OK);
}

static int setup_inbox(void **state)
{
    setup(state);
    fx *f = *state;
    memset(&P, 0, sizeof P);
    P.admin = add_user(f->c, f->ws, "a@x", "Ada", "admin");
    P.sup = add_user(f->c, f->ws, "s@x", "Sam Super", "supervisor");
    P.op1 = add_user(f->c, f->ws, "o1@x", "Olga", "operator");
    P.op2 = add_user(f->c, f->ws, "o2@x", "Otto", "operator");
    P.viewer = add_user(f->c, f->ws, "v@x", "Vera", "viewer");
    P.disabled = add_user(f->c, f->ws, "d@x", "Dora", "operator");
    P.other = add_user(f->c, f->ws2, "x@x", "Xena", "admin");
    assert_int_equal(ic_sql_exec(f->c, "UPDATE users SET disabled_us = 1 WHERE email = 'd@x'"),
                     IC_OK);
    int64_t base = ic_now_us() - 10 * HOUR_US;
    write_in(f, f->ws, f->ch, 0, "Zola", "my parcel is late", base);
    write_in(f, f->ws, f->ch, 1, "Yusuf", "100% refund please", base);
    write_in(f, f->ws, f->ch, 2, "Xolani", "hello", base);
    write_in(f, f->ws, f->ch, 3, "Wanda", "thanks", base);
    write_in(f, f->ws2, f->ch2, 4, "Zola", "my parcel is late", base);
    assert_int_equal(ic_inbox_team_insert(f->c, f->ws, "Billing", &P.team), IC_OK);
    assert_int_equal(ic_inbox_team_insert(f->c, f->ws2, "Billing", &P.team2), IC_OK);
    assert_int_equal(ic_inbox_label_insert(f->c, f->ws, "vip", "#ff0000", &P.label), IC_OK);
    assert_int_equal(ic_inbox_label_insert(f->c, f->ws2, "vip", NULL, &P.label2), IC_OK);
    return 0;
}

static ic_inbox_actor as(fx *f, ic_role role, int64_t user)
{
    return (ic_inbox_actor){.ws = f->ws, .role = role, .user_id = user};
}

/* The ids of a list (at most 16) into ids; returns how many. */
static size_t list_ids(fx *f, ic_inbox_query q, int64_t *ids)
{
    json_t *items = NULL;
    char next[IC_INBOX_CURSOR_MAX];
    if (!q.ws)
        q.ws = f->ws;
    assert_int_equal(ic_inbox_list(f->c, &q, &items, next), IC_OK);
    size_t n = (size_t)page_ids(items, ids, 16);
    json_decref(items);
    return n;
}

static int64_t count_events(fx *f, const char *kind)
{
    int64_t n = -1;
    assert_int_equal(ic_sql_one_i64(f->c,
                                    "SELECT count(*) FROM conversation_events WHERE kind = $1",
                                    IC_ARGS(IC_TXT(kind)), &n),
                     IC_OK);
    return n;
}

#define EXPECT_IDS(n, ids, ...)                                                                    \
    do {                                                                                           \
        const int64_t want_[] = {__VA_ARGS__};                                                     \
        assert_int_equal((n), sizeof want_ / sizeof want_[0]);                                     \
        for (size_t k_ = 0; k_ < (n); k_++)                                                        \
            assert_int_equal((ids)[k_], want_[k_]);                                                \
    } while (0)

static void test_list_views_filters_and_search(void **state)
{
    fx *f = *state;
    int64_t ids[16];
    ic_inbox_actor sup = as(f, IC_ROLE_SUPERVISOR, P.sup);
    /* Newest activity first; ws2's conversation never shows. */
    size_t n = list_ids(f, (ic_inbox_query){0}, ids);
    EXPECT_IDS(n, ids, P.conv[3], P.conv[2], P.conv[1], P.conv[0]);
    /* Urgent open ones come first in "all" and "unassigned" only. */
    assert_int_equal(ic_sql_run(f->c, "UPDATE conversations SET urgent = 1 WHERE id = $1",
                                IC_ARGS(IC_I64(P.conv[1])), NULL),
                     IC_OK);
    n = list_ids(f, (ic_inbox_query){.view = IC_VIEW_ALL}, ids);
    EXPECT_IDS(n, ids, P.conv[1], P.conv[3], P.conv[2], P.conv[0]);
    n = list_ids(f, (ic_inbox_query){0}, ids);
    EXPECT_IDS(n, ids, P.conv[3], P.conv[2], P.conv[1], P.conv[0]);
    n = list_ids(f, (ic_inbox_query){.view = IC_VIEW_URGENT}, ids);
    EXPECT_IDS(n, ids, P.conv[1]);
    /* Assignment, teams, closing. */
    assert_int_equal(ic_inbox_assign(f->c, &sup, P.conv[2], P.op1, -1, false, NULL), IC_OK);
    assert_int_equal(ic_inbox_assign(f->c, &sup, P.conv[0], -1, P.team, false, NULL), IC_OK);
    json_t *members = json_pack("[I]", (json_int_t)P.op2);
    assert_int_equal(ic_inbox_team_set_members(f->c, f->ws, P.team, members), IC_OK);
    json_decref(members);
    assert_int_equal(ic_inbox_set_open(f->c, &sup, P.conv[3], false), IC_OK);
    n = list_ids(f, (ic_inbox_query){.view = IC_VIEW_MINE, .user_id = P.op1}, ids);
    EXPECT_IDS(n, ids, P.conv[2]);
    n = list_ids(f, (ic_inbox_query){.view = IC_VIEW_MY_TEAMS, .user_id = P.op2}, ids);
    EXPECT_IDS(n, ids, P.conv[0]);
    n = list_ids(f, (ic_inbox_query){.view = IC_VIEW_MY_TEAMS, .user_id = P.op1}, ids);
    assert_int_equal(n, 0);
    n = list_ids(f, (ic_inbox_query){.view = IC_VIEW_UNASSIGNED}, ids);
    EXPECT_IDS(n, ids, P.conv[1], P.conv[0]);
    n = list_ids(f, (ic_inbox_query){.view = IC_VIEW_CLOSED}, ids);
    EXPECT_IDS(n, ids, P.conv[3]);
    n = list_ids(f, (ic_inbox_query){.team_id = P.team}, ids);
    EXPECT_IDS(n, ids, P.conv[0]);
    /* Labels. */
    assert_int_equal(ic_inbox_label_set(f->c, &sup, P.conv[1], P.label, true), IC_OK);
    n = list_ids(f, (ic_inbox_query){.label_id = P.label}, ids);
    EXPECT_IDS(n, ids, P.conv[1]);
    n = list_ids(f, (ic_inbox_query){.label_id = P.label2}, ids);
    assert_int_equal(n, 0);
    /* Search: name (any case), number, message text; '%' is literal. */
    n = list_ids(f, (ic_inbox_query){.q = "zOLa"}, ids);
    EXPECT_IDS(n, ids, P.conv[0]);
    n = list_ids(f, (ic_inbox_query){.q = "27820000102"}, ids);
    EXPECT_IDS(n, ids, P.conv[2]);
    n = list_ids(f, (ic_inbox_query){.q = "PARCEL"}, ids);
    EXPECT_IDS(n, ids, P.conv[0]);
    n = list_ids(f, (ic_inbox_query){.q = "100%"}, ids);
    EXPECT_IDS(n, ids, P.conv[1]);
    n = list_ids(f, (ic_inbox_query){.q = "0%r"}, ids);
    assert_int_equal(n, 0);
    /* Bad input. */
    json_t *items = NULL;
    char next[IC_INBOX_CURSOR_MAX];
    ic_inbox_query bad = {.ws = f->ws, .view = IC_VIEW_MINE};
    assert_int_equal(ic_inbox_list(f->c, &bad, &items, next), IC_ERR_INVALID);
    bad = (ic_inbox_query){.ws = f->ws, .cursor = "1.2"};
    assert_int_equal(ic_inbox_list(f->c, &bad, &items, next), IC_ERR_INVALID);
    bad = (ic_inbox_query){.ws = f->ws, .cursor = "2.1.1"};
    assert_int_equal(ic_inbox_list(f->c, &bad, &items, next), IC_ERR_INVALID);
    bad = (ic_inbox_query){.ws = f->ws, .status = "pending"};
    assert_int_equal(ic_inbox_list(f->c, &bad, &items, next), IC_ERR_INVALID);
    assert_null(items);
}

static void test_list_items_carry_the_inbox_fields(void **state)
{
    fx *f = *state;
    ic_inbox_actor sup = as(f, IC_ROLE_SUPERVISOR, P.sup);
    assert_int_equal(ic_inbox_assign(f->c, &sup, P.conv[0], P.op1, P.team, false, NULL), IC_OK);
    assert_int_equal(ic_inbox_label_set(f->c, &sup, P.conv[0], P.label, true), IC_OK);
    json_t *o = NULL;
    assert_int_equal(ic_inbox_conversation_get(f->c, f->ws, P.conv[0], &o), IC_OK);
    json_t *contact = json_object_get(o, "contact");
    assert_string_equal(json_string_value(json_object_get(contact, "wa_id")), "27820000100");
    assert_string_equal(json_string_value(json_object_get(contact, "name")), "Zola");
    json_t *assignee = json_object_get(o, "assignee");
    assert_int_equal(json_integer_value(json_object_get(assignee, "id")), P.op1);
    assert_string_equal(json_string_value(json_object_get(assignee, "name")), "Olga");
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "team"), "name")),
                        "Billing");
    json_t *label = json_array_get(json_object_get(o, "labels"), 0);
    assert_string_equal(json_string_value(json_object_get(label, "color")), "#ff0000");
    json_t *last = json_object_get(o, "last_message");
    assert_string_equal(json_string_value(json_object_get(last, "text")), "my parcel is late");
    assert_true(json_is_true(json_object_get(json_object_get(o, "window"), "open")));
    assert_true(json_is_false(json_object_get(o, "urgent")));
    json_decref(o);
    assert_int_equal(ic_inbox_conversation_get(f->c, f->ws, P.conv[4], &o), IC_ERR_NOT_FOUND);
    /* An unassigned conversation says null, not an empty object. */
    assert_int_equal(ic_inbox_conversation_get(f->c, f->ws, P.conv[1], &o), IC_OK);
    assert_true(json_is_null(json_object_get(o, "assignee")));
    assert_true(json_is_null(json_object_get(o, "team")));
    json_decref(o);
}

static void test_preview_is_cut_to_120_characters(void **state)
{
    fx *f = *state;
    char text[400] = "";
    for (int i = 0; i < 130; i++)
        memcpy(text + 2 * i, "\xc3\xa9", 2); /* 130 x 'é' */
    text[260] = '\0';
    write_in(f, f->ws, f->ch, 5, "Long", text, ic_now_us());
    json_t *o = NULL;
    assert_int_equal(ic_inbox_conversation_get(f->c, f->ws, P.conv[5], &o), IC_OK);
    const char *cut =
        json_string_value(json_object_get(json_object_get(o, "last_message"), "text"));
    assert_non_null(cut);
    assert_int_equal(strlen(cut), 240);
    json_decref(o);
}

static void test_cursor_walks_every_row_once_in_order(void **state)
{
    fx *f = *state;
    /* Ties on last_message_us, and an urgent one, so the key has to use
     * all three parts. */
    assert_int_equal(ic_sql_exec(f->c, "UPDATE conversations SET last_message_us = 5"), IC_OK);
    assert_int_equal(ic_sql_run(f->c, "UPDATE conversations SET urgent = 1 WHERE id = $1",
                                IC_ARGS(IC_I64(P.conv[0])), NULL),
                     IC_OK);
    int64_t whole[16], walked[16];
    size_t n = list_ids(f, (ic_inbox_query){.view = IC_VIEW_ALL}, whole);
    EXPECT_IDS(n, whole, P.conv[0], P.conv[3], P.conv[2], P.conv[1]);
    size_t got = 0, pages = 0;
    char cursor[IC_INBOX_CURSOR_MAX] = "";
    for (;;) {
        json_t *items = NULL;
        char next[IC_INBOX_CURSOR_MAX];
        ic_inbox_query q = {.ws = f->ws, .view = IC_VIEW_ALL, .limit = 1, .cursor = cursor};
        assert_int_equal(ic_inbox_list(f->c, &q, &items, next), IC_OK);
        got += (size_t)page_ids(items, walked + got, 16 - got);
        json_decref(items);
        pages++;
        if (!next[0])
            break;
        snprintf(cursor, sizeof cursor, "%s", next);
        assert_true(pages < 10);
    }
    assert_int_equal(got, n);
    assert_memory_equal(walked, whole, n * sizeof whole[0]);
    /* Open and closed ones together (no view) are merged in one order. */
    ic_inbox_actor sup = as(f, IC_ROLE_SUPERVISOR, P.sup);
    assert_int_equal(ic_inbox_set_open(f->c, &sup, P.conv[2], false), IC_OK);
    assert_int_equal(ic_sql_run(f->c, "UPDATE conversations SET last_message_us = 9 WHERE id = $1",
                                IC_ARGS(IC_I64(P.conv[0])), NULL),
                     IC_OK);
    n = list_ids(f, (ic_inbox_query){0}, whole);
    EXPECT_IDS(n, whole, P.conv[0], P.conv[3], P.conv[2], P.conv[1]);
    got = 0;
    cursor[0] = '\0';
    for (pages = 0; pages < 10; pages++) {
        json_t *items = NULL;
        char next[IC_INBOX_CURSOR_MAX];
        ic_inbox_query q = {.ws = f->ws, .limit = 3, .cursor = cursor};
        assert_int_equal(ic_inbox_list(f->c, &q, &items, next), IC_OK);
        got += (size_t)page_ids(items, walked + got, 16 - got);
        json_decref(items);
        if (!next[0])
            break;
        snprintf(cursor, sizeof cursor, "%s", next);
    }
    assert_int_equal(got, n);
    assert_memory_equal(walked, whole, n * sizeof whole[0]);
}

static void test_assign_rules_per_role(void **state)
{
    fx *f = *state;
    ic_inbox_actor viewer = as(f, IC_ROLE_VIEWER, P.viewer), op1 = as(f, IC_ROLE_OPERATOR, P.op1),
                   op2 = as(f, IC_ROLE_OPERATOR, P.op2), sup = as(f, IC_ROLE_SUPERVISOR, P.sup),
                   admin = as(f, IC_ROLE_ADMIN, P.admin), token = as(f, IC_ROLE_ADMIN, 0);
    int64_t c = P.conv[0];
    assert_int_equal(ic_inbox_assign(f->c, &viewer, c, P.viewer, -1, false, NULL),
                     IC_ERR_FORBIDDEN);
    /* An operator takes an unassigned one for themself, not for others. */
    assert_int_equal(ic_inbox_assign(f->c, &op1, c, P.op2, -1, false, NULL), IC_ERR_FORBIDDEN);
    assert_int_equal(ic_inbox_assign(f->c, &op1, c, P.op1, -1, false, NULL), IC_OK);
    /* ... and cannot take or release someone else's. */
    assert_int_equal(ic_inbox_assign(f->c, &op2, c, P.op2, -1, false, NULL), IC_ERR_FORBIDDEN);
    assert_int_equal(ic_inbox_assign(f->c, &op2, c, 0, -1, false, NULL), IC_ERR_FORBIDDEN);
    assert_int_equal(ic_inbox_assign(f->c, &op1, c, -1, P.team, false, NULL), IC_ERR_FORBIDDEN);
    assert_int_equal(ic_inbox_assign(f->c, &op1, c, 0, -1, false, NULL), IC_OK);
    assert_int_equal(count_events(f, "assign"), 2);
    /* Supervisors and admins assign anyone, API tokens too (actor NULL). */
    assert_int_equal(ic_inbox_assign(f->c, &sup, c, P.op2, P.team, true, "over to you"), IC_OK);
    assert_int_equal(ic_inbox_assign(f->c, &admin, c, P.op1, -1, false, NULL), IC_OK);
    assert_int_equal(ic_inbox_assign(f->c, &token, c, P.op2, -1, false, NULL), IC_OK);
    assert_int_equal(count_events(f, "transfer"), 1);
    assert_int_equal(count_events(f, "assign"), 4);
    /* Bad targets. */
    assert_int_equal(ic_inbox_assign(f->c, &sup, c, P.disabled, -1, false, NULL), IC_ERR_INVALID);
    assert_int_equal(ic_inbox_assign(f->c, &sup, c, P.other, -1, false, NULL), IC_ERR_NOT_FOUND);
    assert_int_equal(ic_inbox_assign(f->c, &sup, c, -1, P.team2, false, NULL), IC_ERR_NOT_FOUND);
    assert_int_equal(ic_inbox_assign(f->c, &sup, P.conv[4], P.op1, -1, false, NULL),
                     IC_ERR_NOT_FOUND);
    assert_int_equal(ic_inbox_assign(f->c, &sup, 999999, P.op1, -1, false, NULL), IC_ERR_NOT_FOUND);
    assert_int_equal(count_events(f, "assign"), 4);
    /* The history, newest first, with who did it. */
    json_t *items = NULL;
    int64_t next = 0;
    assert_int_equal(ic_inbox_events_list(f->c, f->ws, c, 0, 10, &items, &next), IC_OK);
    assert_int_equal(json_array_size(items), 5);
    json_t *newest = json_array_get(items, 0), *tr = json_array_get(items, 2);
    assert_true(json_is_null(json_object_get(newest, "actor")));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(newest, "data"), "to_user_id")), P.op2);
    assert_string_equal(json_string_value(json_object_get(tr, "kind")), "transfer");
    assert_string_equal(json_string_value(json_object_get(json_object_get(tr, "data"), "note")),
                        "over to you");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(tr, "actor"), "id")),
                     P.sup);
    json_decref(items);
    assert_int_equal(ic_inbox_events_list(f->c, f->ws2, c, 0, 10, &items, &next), IC_ERR_NOT_FOUND);
}

static void test_close_and_reopen_rules(void **state)
{
    fx *f = *state;
    ic_inbox_actor viewer = as(f, IC_ROLE_VIEWER, P.viewer), op1 = as(f, IC_ROLE_OPERATOR, P.op1),
                   op2 = as(f, IC_ROLE_OPERATOR, P.op2), sup = as(f, IC_ROLE_SUPERVISOR, P.sup);
    int64_t c = P.conv[0];
    assert_int_equal(ic_inbox_assign(f->c, &op1, c, P.op1, -1, false, NULL), IC_OK);
    assert_int_equal(ic_inbox_set_open(f->c, &viewer, c, false), IC_ERR_FORBIDDEN);
    assert_int_equal(ic_inbox_set_open(f->c, &op2, c, false), IC_ERR_FORBIDDEN);
    assert_int_equal(ic_inbox_set_open(f->c, &op1, c, false), IC_OK);
    assert_int_equal(ic_inbox_set_open(f->c, &op1, c, false), IC_OK); /* no change, no event */
    assert_int_equal(count_events(f, "close"), 1);
    assert_int_equal(ic_inbox_set_open(f->c, &op2, c, true), IC_ERR_FORBIDDEN);
    assert_int_equal(ic_inbox_set_open(f->c, &sup, c, true), IC_OK);
    assert_int_equal(count_events(f, "reopen"), 1);
    /* An operator may close and reopen an unassigned one. */
    assert_int_equal(ic_inbox_set_open(f->c, &op2, P.conv[1], false), IC_OK);
    assert_int_equal(ic_inbox_set_open(f->c, &op2, P.conv[1], true), IC_OK);
    /* Reopening while the person has a newer open conversation is a conflict. */
    assert_int_equal(ic_inbox_set_open(f->c, &sup, P.conv[2], false), IC_OK);
    int64_t fresh = 0;
    assert_int_equal(
        ic_store_conversation_touch_inbound(f->c, f->ws, f->ch, P.contact[2], ic_now_us(), &fresh),
        IC_OK);
    assert_true(fresh != P.conv[2]);
    assert_int_equal(ic_inbox_set_open(f->c, &sup, P.conv[2], true), IC_ERR_EXISTS);
    assert_int_equal(ic_inbox_set_open(f->c, &sup, P.conv[4], false), IC_ERR_NOT_FOUND);
}

static void test_labels_and_notes(void **state)
{
    fx *f = *state;
    ic_inbox_actor viewer = as(f, IC_ROLE_VIEWER, P.viewer), op1 = as(f, IC_ROLE_OPERATOR, P.op1),
                   token = as(f, IC_ROLE_ADMIN, 0);
    int64_t c = P.conv[0], note = 0;
    assert_int_equal(ic_inbox_label_set(f->c, &viewer, c, P.label, true), IC_ERR_FORBIDDEN);
    assert_int_equal(ic_inbox_label_set(f->c, &op1, c, P.label, true), IC_OK);
    assert_int_equal(ic_inbox_label_set(f->c, &op1, c, P.label, true), IC_OK);
    assert_int_equal(count_events(f, "label_added"), 1);
    assert_int_equal(ic_inbox_label_set(f->c, &op1, c, P.label2, true), IC_ERR_NOT_FOUND);
    assert_int_equal(ic_inbox_label_set(f->c, &op1, P.conv[4], P.label, true), IC_ERR_NOT_FOUND);
    assert_int_equal(ic_inbox_label_set(f->c, &op1, c, P.label, false), IC_OK);
    assert_int_equal(ic_inbox_label_set(f->c, &op1, c, P.label, false), IC_OK);
    assert_int_equal(count_events(f, "label_removed"), 1);
    /* Notes: @names (any case, whole names only) and explicit ids. */
    json_t *ids = json_pack("[I]", (json_int_t)P.viewer);
    assert_int_equal(
        ic_inbox_note_add(f->c, &op1, c, "@otto please call; cc @Sam Super and @Olgaa", ids, &note),
        IC_OK);
    json_decref(ids);
    json_t *items = NULL;
    int64_t next = 0;
    assert_int_equal(ic_inbox_notes_list(f->c, f->ws, c, 0, 10, &items, &next), IC_OK);
    assert_int_equal(json_array_size(items), 1);
    json_t *n0 = json_array_get(items, 0);
    assert_int_equal(json_integer_value(json_object_get(n0, "id")), note);
    json_t *mentions = json_object_get(n0, "mentions");
    assert_int_equal(json_array_size(mentions), 3);
    assert_int_equal(json_integer_value(json_array_get(mentions, 0)), P.viewer);
    assert_int_equal(json_integer_value(json_array_get(mentions, 1)), P.sup);
    assert_int_equal(json_integer_value(json_array_get(mentions, 2)), P.op2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(n0, "author"), "id")),
                     P.op1);
    json_decref(items);
    assert_int_equal(count_events(f, "note"), 1);
    /* Refused: API tokens (no author), viewers, another workspace's user or
     * conversation. */
    assert_int_equal(ic_inbox_note_add(f->c, &token, c, "hi", NULL, NULL), IC_ERR_INVALID);
    assert_int_equal(ic_inbox_note_add(f->c, &viewer, c, "hi", NULL, NULL), IC_ERR_FORBIDDEN);
    ids = json_pack("[I]", (json_int_t)P.other);
    assert_int_equal(ic_inbox_note_add(f->c, &op1, c, "hi", ids, NULL), IC_ERR_NOT_FOUND);
    json_decref(ids);
    assert_int_equal(ic_inbox_note_add(f->c, &op1, P.conv[4], "hi", NULL, NULL), IC_ERR_NOT_FOUND);
    assert_int_equal(count_events(f, "note"), 1);
    assert_int_equal(ic_inbox_notes_list(f->c, f->ws2, c, 0, 10, &items, &next), IC_ERR_NOT_FOUND);
}

static void test_teams_and_labels(void **state)
{
    fx *f = *state;
    int64_t id = 0;
    ic_inbox_actor sup = as(f, IC_ROLE_SUPERVISOR, P.sup);
    assert_int_equal(ic_inbox_team_insert(f->c, f->ws, "Billing", &id), IC_ERR_EXISTS);
    assert_int_equal(ic_inbox_team_update(f->c, f->ws, P.team, "Money", 1), IC_OK);
    assert_int_equal(ic_inbox_team_update(f->c, f->ws, P.team2, "Money", 1), IC_ERR_NOT_FOUND);
    json_t *members = json_pack("[I,I]", (json_int_t)P.op1, (json_int_t)P.op2);
    assert_int_equal(ic_inbox_team_set_members(f->c, f->ws, P.team, members), IC_OK);
    json_decref(members);
    members = json_pack("[I]", (json_int_t)P.other);
    assert_int_equal(ic_inbox_team_set_members(f->c, f->ws, P.team, members), IC_ERR_NOT_FOUND);
    json_decref(members);
    json_t *t = NULL;
    assert_int_equal(ic_inbox_team_get(f->c, f->ws, P.team, &t), IC_OK);
    assert_string_equal(json_string_value(json_object_get(t, "name")), "Money");
    assert_true(json_is_true(json_object_get(t, "auto_assign")));
    assert_int_equal(json_array_size(json_object_get(t, "members")), 2);
    json_decref(t);
    json_t *all = NULL;
    assert_int_equal(ic_inbox_teams_list(f->c, f->ws, &all), IC_OK);
    assert_int_equal(json_array_size(all), 1);
    json_decref(all);
    /* Deleting a team takes it off its conversations. */
    assert_int_equal(ic_inbox_assign(f->c, &sup, P.conv[0], -1, P.team, false, NULL), IC_OK);
    assert_int_equal(ic_inbox_team_delete(f->c, f->ws2, P.team), IC_ERR_NOT_FOUND);
    assert_int_equal(ic_inbox_team_delete(f->c, f->ws, P.team), IC_OK);
    json_t *o = NULL;
    assert_int_equal(ic_inbox_conversation_get(f->c, f->ws, P.conv[0], &o), IC_OK);
    assert_true(json_is_null(json_object_get(o, "team")));
    json_decref(o);
    /* Labels. */
    assert_int_equal(ic_inbox_label_insert(f->c, f->ws, "vip", NULL, &id), IC_ERR_EXISTS);
    assert_int_equal(ic_inbox_label_update(f->c, f->ws, P.label, NULL, "#00ff00"), IC_OK);
    assert_int_equal(ic_inbox_label_update(f->c, f->ws2, P.label, "x", NULL), IC_ERR_NOT_FOUND);
    assert_int_equal(ic_inbox_label_set(f->c, &sup, P.conv[0], P.label, true), IC_OK);
    assert_int_equal(ic_inbox_label_delete(f->c, f->ws, P.label), IC_OK);
    assert_int_equal(ic_inbox_conversation_get(f->c, f->ws, P.conv[0], &o), IC_OK);
    assert_int_equal(json_array_size(json_object_get(o, "labels")), 0);
    json_decref(o);
    assert_int_equal(ic_inbox_labels_list(f->c, f->ws2, &all), IC_OK);
    assert_int_equal(json_array_size(all), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(all, 0), "color")),
                        "#6b7280");
    json_decref(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_views_filters_and_search, setup_inbox, teardown),
        cmocka_unit_test_setup_teardown(test_list_items_carry_the_inbox_fields, setup_inbox,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_preview_is_cut_to_120_characters, setup_inbox,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cursor_walks_every_row_once_in_order, setup_inbox,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_assign_rules_per_role, setup_inbox, teardown),
        cmocka_unit_test_setup_teardown(test_close_and_reopen_rules, setup_inbox, teardown),
        cmocka_unit_test_setup_teardown(test_labels_and_notes, setup_inbox, teardown),
        cmocka_unit_test_setup_teardown(test_teams_and_labels, setup_inbox, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
