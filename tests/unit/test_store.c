/* test_store.c - the SQLite store: opening, migrations, and every function of
 * store.h as its callers see it (writes here run on the thread's own
 * connection; test_writer.c covers the writer). */
#include "store_fixture.h"

/* ---- opening and migrations ---------------------------------------------- */

static void test_open_errors(void **state)
{
    (void)state;
    char dir[512], path[700];
    ic_errmsg em = {{0}};
    ic_db *db = (ic_db *)1;
    make_tmp_dir(dir, sizeof dir);

    snprintf(path, sizeof path, "%s/plain", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("this is not a database, just some text that is long enough to look like a header\n", fp);
    fclose(fp);
    assert_int_equal(ic_db_open(path, &db, &em), IC_ERR_DB);
    assert_null(db);
    assert_non_null(strstr(em.msg, "cannot open database"));
    assert_non_null(strstr(em.msg, "not a database"));

    snprintf(path, sizeof path, "sqlite:%s/plain/sub/x.db", dir);
    assert_int_not_equal(ic_db_open(path, &db, &em), IC_OK);
    assert_null(db);
    assert_non_null(strstr(em.msg, "cannot create folder"));

    /* A folder where the file should be. */
    assert_int_equal(ic_db_open(dir, &db, &em), IC_ERR_DB);
    assert_null(db);
    char want[700];
    snprintf(want, sizeof want, "cannot open database %s: unable to open database file", dir);
    assert_string_equal(em.msg, want);

    assert_int_equal(ic_db_open("", &db, &em), IC_ERR_INVALID);

    /* PostgreSQL: an unreachable server names where, never the password. */
    assert_int_equal(ic_db_open("postgres://ic:hunter2@127.0.0.1:1/ic", &db, &em), IC_ERR_DB);
    assert_null(db);
    assert_non_null(strstr(em.msg, "cannot connect to PostgreSQL at 127.0.0.1:1/ic: "));
    assert_null(strstr(em.msg, "hunter2"));
    assert_null(strchr(em.msg, '\n'));
    assert_int_equal(ic_db_open("postgresql://ic@127.0.0.1:1/ic?nonsense=1", &db, &em),
                     IC_ERR_INVALID);
    assert_null(db);
    assert_non_null(strstr(em.msg, "invalid PostgreSQL URL: "));
}

static void test_open_prefix_creates_folders(void **state)
{
    (void)state;
    char dir[512], url[700], file[700];
    ic_errmsg em = {{0}};
    ic_db *db = NULL;
    make_tmp_dir(dir, sizeof dir);
    snprintf(url, sizeof url, "sqlite:%s/a/b/c/ic.db", dir);
    snprintf(file, sizeof file, "%s/a/b/c/ic.db", dir);
    assert_int_equal(ic_db_open(url, &db, &em), IC_OK);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    ic_conn *c = ic_db_thread_conn(db);
    ic_stmt *s = NULL;
    bool row = false;
    assert_int_equal(ic_sql_prepare(c, "PRAGMA journal_mode", &s), IC_OK);
    assert_int_equal(ic_sql_step(s, &row), IC_OK);
    assert_true(row);
    assert_string_equal(ic_sql_col_text(s, 0), "wal");
    ic_sql_done(s);
    assert_int_equal(sql_i64(c, "PRAGMA foreign_keys"), 1);
    assert_int_equal(sql_i64(c, "PRAGMA synchronous"), 2); /* FULL */
    ic_db_close(db);
}

static void test_migrate_idempotent(void **state)
{
    fx *f = *state;
    ic_errmsg em = {{0}};
    int applied = -1;
    assert_int_equal(ic_db_migrate(f->db, &applied, &em), IC_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(sql_i64(f->c, "SELECT count(*) FROM schema_migrations"),
                     (int64_t)migrations_count());

    /* A fresh database gets every migration exactly once. */
    char dir[512], path[700];
    ic_db *db = NULL;
    make_tmp_dir(dir, sizeof dir);
    test_db_make(dir, "fresh.db", path, sizeof path);
    assert_int_equal(ic_db_open(path, &db, &em), IC_OK);
    assert_int_equal(ic_db_migrate(db, &applied, &em), IC_OK);
    assert_int_equal(applied, (int)migrations_count());
    assert_int_equal(ic_db_migrate(db, &applied, &em), IC_OK);
    assert_int_equal(applied, 0);
    ic_db_close(db);
    test_db_drop(path);

    /* The data survive reopening. */
    ic_db_close(f->db);
    assert_int_equal(ic_db_open(f->path, &f->db, &em), IC_OK);
    f->c = ic_db_thread_conn(f->db);
    char *name = NULL;
    assert_int_equal(ic_store_workspace_get(f->c, f->ws, &name), IC_OK);
    assert_string_equal(name, "Alpha");
    free(name);
}

static void test_sql_executor(void **state)
{
    fx *f = *state;
    ic_stmt *a = NULL, *b = NULL;
    bool row = false;
    /* Placeholders must be $1..$n in order. */
    assert_int_equal(ic_sql_prepare(f->c, "SELECT $2, $1", &a), IC_ERR_INTERNAL);
    assert_int_equal(ic_sql_prepare(f->c, "SELEC nonsense", &a), IC_ERR_DB);
    /* The same query run inside a scan of itself gets its own statement. */
    static const char q[] = "SELECT id FROM workspaces WHERE id >= $1 ORDER BY id";
    assert_int_equal(ic_sql_query(f->c, q, IC_ARGS(IC_I64(0)), &a), IC_OK);
    assert_int_equal(ic_sql_step(a, &row), IC_OK);
    assert_true(row);
    assert_int_equal(ic_sql_query(f->c, q, IC_ARGS(IC_I64(f->ws2)), &b), IC_OK);
    assert_ptr_not_equal(a, b);
    assert_int_equal(ic_sql_step(b, &row), IC_OK);
    assert_true(row);
    assert_int_equal(ic_sql_col_i64(b, 0), f->ws2);
    ic_sql_done(b);
    assert_int_equal(ic_sql_col_i64(a, 0), f->ws);
    assert_int_equal(ic_sql_step(a, &row), IC_OK);
    assert_true(row);
    assert_int_equal(ic_sql_col_i64(a, 0), f->ws2);
    ic_sql_done(a);
    /* Text binds: '$1' used twice is one parameter. */
    int64_t v = 0;
    assert_int_equal(
        ic_sql_one_i64(f->c, "SELECT length($1) + length($1)", IC_ARGS(IC_TXT("abc")), &v), IC_OK);
    assert_int_equal(v, 6);
}

/* ---- workspaces, users, tokens ------------------------------------------- */

static void test_workspace_user_token(void **state)
{
    fx *f = *state;
    char *name = NULL;
    assert_int_equal(ic_store_workspace_get(f->c, 424242, &name), IC_ERR_NOT_FOUND);
    assert_null(name);

    int64_t u1 = 0, u2 = 0, u3 = 0;
    assert_int_equal(
        ic_store_user_insert(f->c, f->ws, "ana@example.org", "Ana", "admin", "$argon", &u1), IC_OK);
    assert_true(u1 > 0);
    assert_int_equal(
        ic_store_user_insert(f->c, f->ws, "ana@example.org", "Ana 2", "viewer", "$argon", &u2),
        IC_ERR_EXISTS);
    assert_int_equal(
        ic_store_user_insert(f->c, f->ws2, "ana@example.org", "Ana", "operator", "$argon", &u3),
        IC_OK);
    assert_int_equal(
        ic_store_user_insert(f->c, f->ws, "bo@example.org", "Bo", "owner", "$argon", &u2),
        IC_ERR_INVALID);

    char hex[65], other[65];
    ic_sha256_hex("ic_token_one", 12, hex);
    ic_sha256_hex("ic_token_two", 12, other);
    int64_t tid = 0, ws = 0, found_tid = 0;
    assert_int_equal(ic_store_token_insert(f->c, f->ws2, "ci", hex, &tid), IC_OK);
    assert_int_equal(ic_store_token_lookup(f->c, hex, &ws, &found_tid), IC_OK);
    assert_int_equal(ws, f->ws2);
    assert_int_equal(found_tid, tid);
    assert_int_equal(ic_store_token_lookup(f->c, other, &ws, &found_tid), IC_ERR_AUTH);
    assert_int_equal(ic_store_token_insert(f->c, f->ws, "again", hex, &tid), IC_ERR_EXISTS);
    assert_int_equal(ic_store_token_insert(f->c, f->ws, "bad", "not-hex", &tid), IC_ERR_INVALID);
    assert_int_equal(ic_sql_run(f->c, "UPDATE api_tokens SET revoked_us = $1 WHERE sha256 = $2",
                                IC_ARGS(IC_I64(ic_now_us()), IC_TXT(hex)), NULL),
                     IC_OK);
    assert_int_equal(ic_store_token_lookup(f->c, hex, &ws, &found_tid), IC_ERR_AUTH);
}

/* ---- channels ------------------------------------------------------------ */

static void test_channels(void **state)
{
    fx *f = *state;
    ic_channel ch = {0};
    assert_int_equal(ic_store_channel_get(f->c, f->ws, f->ch, &ch), IC_OK);
    assert_int_equal(strlen(ch.uuid), 36);
    assert_int_equal(ch.uuid[14], '4');
    assert_string_equal(ch.phone_number_id, "1001");
    assert_string_equal(ch.app_secret, "app-secret");
    assert_int_equal(ch.throughput_mps, 80);
    assert_null(ch.graph_url);
    char uuid[40];
    memcpy(uuid, ch.uuid, sizeof uuid);
    ic_channel_clear(&ch);

    ic_channel by = {0};
    assert_int_equal(ic_store_channel_by_uuid(f->c, uuid, &by), IC_OK);
    assert_int_equal(by.id, f->ch);
    assert_int_equal(by.workspace_id, f->ws);
    assert_string_equal(by.access_token, "EAAG-secret");
    ic_channel_clear(&by);
    assert_int_equal(ic_store_channel_by_uuid(f->c, "no-such-uuid", &by), IC_ERR_NOT_FOUND);
    assert_int_equal(ic_store_channel_get(f->c, f->ws2, f->ch, &by), IC_ERR_NOT_FOUND);

    ic_channel dup = {
        .workspace_id = f->ws2, .name = (char *)"Copy", .phone_number_id = (char *)"1001"};
    assert_int_equal(ic_store_channel_insert(f->c, &dup), IC_ERR_EXISTS);
    ic_channel bad = {
        .workspace_id = f->ws, .name = (char *)"Bad", .phone_number_id = (char *)"12ab"};
    assert_int_equal(ic_store_channel_insert(f->c, &bad), IC_ERR_INVALID);

    ic_channel *all = NULL;
    size_t n = 0;
    assert_int_equal(ic_store_channels_all(f->c, &all, &n), IC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(all[1].phone_number_id, "2002");
    for (size_t i = 0; i < n; i++)
        ic_channel_clear(&all[i]);
    free(all);

    json_t *list = NULL;
    assert_int_equal(ic_store_channels_json(f->c, f->ws, &list), IC_OK);
    assert_int_equal(json_array_size(list), 1);
    json_t *o = json_array_get(list, 0);
    char *text = json_dumps(o, 0);
    assert_null(strstr(text, "secret"));
    assert_null(strstr(text, "verify-me"));
    free(text);
    char want[80];
    snprintf(want, sizeof want, "/webhooks/whatsapp/%s", uuid);
    assert_string_equal(json_string_value(json_object_get(o, "webhook_path")), want);
    assert_int_equal(json_integer_value(json_object_get(o, "id")), f->ch);
    assert_true(json_is_string(json_object_get(o, "created_at")));
    json_decref(list);
}

/* ---- contacts ------------------------------------------------------------ */

static void test_contacts(void **state)
{
    fx *f = *state;
    int64_t id = 0, again = 0, other = 0, found = 0;
    assert_int_equal(ic_store_contact_upsert(f->c, f->ws, "27820000001", "Thandi", &id), IC_OK);
    assert_int_equal(ic_store_contact_upsert(f->c, f->ws, "27820000001", "", &again), IC_OK);
    assert_int_equal(again, id);
    assert_int_equal(ic_store_contact_upsert(f->c, f->ws, "27820000001", NULL, &again), IC_OK);
    json_t *o = NULL;
    assert_int_equal(ic_store_contact_get(f->c, f->ws, id, &o), IC_OK);
    assert_string_equal(json_string_value(json_object_get(o, "name")), "Thandi");
    json_decref(o);
    assert_int_equal(ic_store_contact_upsert(f->c, f->ws, "27820000001", "Thandi M", &again),
                     IC_OK);
    assert_int_equal(ic_store_contact_upsert(f->c, f->ws2, "27820000001", "Other", &other), IC_OK);
    assert_int_not_equal(other, id);
    assert_int_equal(ic_store_contact_by_wa_id(f->c, f->ws, "27820000001", &found), IC_OK);
    assert_int_equal(found, id);
    assert_int_equal(ic_store_contact_by_wa_id(f->c, f->ws, "27820000999", &found),
                     IC_ERR_NOT_FOUND);

    assert_int_equal(ic_store_contact_get(f->c, f->ws, id, &o), IC_OK);
    assert_int_equal(json_integer_value(json_object_get(o, "id")), id);
    assert_string_equal(json_string_value(json_object_get(o, "wa_id")), "27820000001");
    assert_string_equal(json_string_value(json_object_get(o, "name")), "Thandi M");
    assert_true(json_is_null(json_object_get(o, "language")));
    assert_int_equal(json_object_size(json_object_get(o, "fields")), 0);
    assert_true(json_is_string(json_object_get(o, "created_at")));
    assert_true(json_is_null(json_object_get(o, "last_inbound_at")));
    json_decref(o);
    assert_int_equal(ic_store_contact_get(f->c, f->ws2, id, &o), IC_ERR_NOT_FOUND);
    assert_null(o);

    /* Patches: any subset; fields merge; null deletes a field. */
    json_t *p = json_pack("{s:s, s:{s:s, s:i}}", "language", "zu", "fields", "district",
                          "eThekwini", "age", 31);
    assert_int_equal(ic_store_contact_update(f->c, f->ws, id, p), IC_OK);
    json_decref(p);
    p = json_pack("{s:{s:n, s:b}}", "fields", "age", "consent", 1);
    assert_int_equal(ic_store_contact_update(f->c, f->ws, id, p), IC_OK);
    json_decref(p);
    assert_int_equal(ic_store_contact_get(f->c, f->ws, id, &o), IC_OK);
    assert_string_equal(json_string_value(json_object_get(o, "language")), "zu");
    assert_string_equal(json_string_value(json_object_get(o, "name")), "Thandi M");
    json_t *fields = json_object_get(o, "fields");
    assert_string_equal(json_string_value(json_object_get(fields, "district")), "eThekwini");
    assert_null(json_object_get(fields, "age"));
    assert_true(json_is_true(json_object_get(fields, "consent")));
    json_decref(o);

    p = json_pack("{s:n}", "name");
    assert_int_equal(ic_store_contact_update(f->c, f->ws, id, p), IC_OK);
    assert_int_equal(ic_store_contact_update(f->c, f->ws2, id, p), IC_ERR_NOT_FOUND);
    json_decref(p);
    assert_int_equal(ic_store_contact_get(f->c, f->ws, id, &o), IC_OK);
    assert_true(json_is_null(json_object_get(o, "name")));
    json_decref(o);
    p = json_pack("{s:i}", "name", 5);
    assert_int_equal(ic_store_contact_update(f->c, f->ws, id, p), IC_ERR_INVALID);
    json_decref(p);
    p = json_pack("{s:[]}", "fields");
    assert_int_equal(ic_store_contact_update(f->c, f->ws, id, p), IC_ERR_INVALID);
    json_decref(p);
}
static void test_contact_search_and_pages(void **state)
{
    fx *f = *state;
    const char *names[] = {"Anna",        "anneke",      "50% off", "500 club",
                           "under_score", "underXscore", "Zed"};
    int64_t ids[7];
    for (int i = 0; i < 7; i++) {
        char wa[32];
        snprintf(wa, sizeof wa, "2782%07d", i);
        assert_int_equal(ic_store_contact_upsert(f->c, f->ws, wa, names[i], &ids[i]), IC_OK);
    }
    int64_t b = 0;
    assert_int_equal(ic_store_contact_upsert(f->c, f->ws2, "27990000000", "Anna B", &b), IC_OK);

    json_t *items = NULL;
    int64_t next = -1, got[8];
    assert_int_equal(ic_store_contacts_list(f->c, f->ws, "ANN", 0, 10, &items, &next), IC_OK);
    assert_int_equal(page_ids(items, got, 8), 2);
    assert_int_equal(got[0], ids[1]); /* newest first */
    assert_int_equal(got[1], ids[0]);
    assert_int_equal(next, 0);
    json_decref(items);

    assert_int_equal(ic_store_contacts_list(f->c, f->ws, "50%", 0, 10, &items, &next), IC_OK);
    assert_int_equal(page_ids(items, got, 8), 1);
    assert_int_equal(got[0], ids[2]);
    json_decref(items);
    assert_int_equal(ic_store_contacts_list(f->c, f->ws, "under_", 0, 10, &items, &next), IC_OK);
    assert_int_equal(page_ids(items, got, 8), 1);
    assert_int_equal(got[0], ids[4]);
    json_decref(items);
    /* wa_id prefix */
    assert_int_equal(ic_store_contacts_list(f->c, f->ws, "2782000000", 0, 10, &items, &next),
                     IC_OK);
    assert_int_equal(page_ids(items, got, 8), 7);
    json_decref(items);
    assert_int_equal(ic_store_contacts_list(f->c, f->ws, "782", 0, 10, &items, &next), IC_OK);
    assert_int_equal(page_ids(items, got, 8), 0);
    json_decref(items);

    /* Pages of 3: 3, 3, 1, newest first, cursor = last id. */
    int64_t cursor = 0, seen[7];
    size_t k = 0;
    for (int page = 0; page < 3; page++) {
        assert_int_equal(ic_store_contacts_list(f->c, f->ws, NULL, cursor, 3, &items, &next),
                         IC_OK);
        int64_t n = page_ids(items, got, 8);
        assert_int_equal(n, page < 2 ? 3 : 1);
        for (int64_t i = 0; i < n; i++)
            seen[k++] = got[i];
        json_decref(items);
        if (page < 2)
            assert_int_equal(next, got[2]);
        else
            assert_int_equal(next, 0);
        cursor = next;
    }
    for (int i = 0; i < 7; i++)
        assert_int_equal(seen[i], ids[6 - i]);
}

/* ---- conversations ------------------------------------------------------- */

static void test_conversations(void **state)
{
    fx *f = *state;
    int64_t k = 0, conv = 0, again = 0, wa = 0;
    int64_t t0 = 1700000000LL * 1000000;
    assert_int_equal(ic_store_contact_upsert(f->c, f->ws, "27821111111", "Sipho", &k), IC_OK);
    assert_int_equal(ic_store_last_inbound_us(f->c, f->ws, f->ch, k, &wa), IC_OK);
    assert_int_equal(wa, 0);
    assert_int_equal(ic_store_conversation_touch_inbound(f->c, f->ws, f->ch, k, t0, &conv), IC_OK);
    assert_int_equal(
        ic_store_conversation_touch_inbound(f->c, f->ws, f->ch, k, t0 + HOUR_US, &again), IC_OK);
    assert_int_equal(again, conv);
    /* An older message (Meta does not keep order) never moves the window back. */
    assert_int_equal(ic_store_conversation_touch_inbound(f->c, f->ws, f->ch, k, t0 + 10, &again),
                     IC_OK);
    assert_int_equal(ic_store_last_inbound_us(f->c, f->ws, f->ch, k, &wa), IC_OK);
    assert_int_equal(wa, t0 + HOUR_US);
    assert_int_equal(ic_store_last_inbound_us(f->c, f->ws2, f->ch, k, &wa), IC_OK);
    assert_int_equal(wa, 0);

    json_t *o = NULL;
    assert_int_equal(ic_store_conversation_get(f->c, f->ws, conv, &o), IC_OK);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "open");
    assert_string_equal(json_string_value(json_object_get(o, "last_inbound_at")),
                        "2023-11-14T23:13:20.000000Z");
    assert_string_equal(json_string_value(json_object_get(o, "window_expires_at")),
                        "2023-11-15T23:13:20.000000Z");
    assert_true(json_is_null(json_object_get(o, "closed_at")));
    json_t *ct = json_object_get(o, "contact");
    assert_string_equal(json_string_value(json_object_get(ct, "wa_id")), "27821111111");
    assert_string_equal(json_string_value(json_object_get(ct, "name")), "Sipho");
    json_decref(o);
    assert_int_equal(ic_store_contact_get(f->c, f->ws, k, &o), IC_OK);
    assert_string_equal(json_string_value(json_object_get(o, "last_inbound_at")),
                        "2023-11-14T23:13:20.000000Z");
    json_decref(o);
    assert_int_equal(ic_store_conversation_get(f->c, f->ws2, conv, &o), IC_ERR_NOT_FOUND);

    int64_t pc = 0, pch = 0;
    assert_int_equal(ic_store_conversation_parties(f->c, f->ws, conv, &pc, &pch), IC_OK);
    assert_int_equal(pc, k);
    assert_int_equal(pch, f->ch);
    assert_int_equal(ic_store_conversation_parties(f->c, f->ws2, conv, &pc, &pch),
                     IC_ERR_NOT_FOUND);
    assert_int_equal(ic_store_conversation_for_send(f->c, f->ws, f->ch, k, &again), IC_OK);
    assert_int_equal(again, conv);

    /* Closed: a send goes into the most recent one; a new message opens a
     * new conversation. */
    assert_int_equal(ic_sql_run(f->c,
                                "UPDATE conversations SET status = 'closed', closed_us = $1"
                                " WHERE id = $2",
                                IC_ARGS(IC_I64(t0 + 2 * HOUR_US), IC_I64(conv)), NULL),
                     IC_OK);
    assert_int_equal(ic_store_conversation_for_send(f->c, f->ws, f->ch, k, &again), IC_OK);
    assert_int_equal(again, conv);
    int64_t conv2 = 0;
    assert_int_equal(
        ic_store_conversation_touch_inbound(f->c, f->ws, f->ch, k, t0 + 3 * HOUR_US, &conv2),
        IC_OK);
    assert_true(conv2 > conv);
    assert_int_equal(ic_store_conversation_for_send(f->c, f->ws, f->ch, k, &again), IC_OK);
    assert_int_equal(again, conv2);
    assert_int_equal(ic_store_last_inbound_us(f->c, f->ws, f->ch, k, &wa), IC_OK);
    assert_int_equal(wa, t0 + 3 * HOUR_US);

    /* A send to someone who never wrote opens a conversation. */
    int64_t k2 = 0, conv3 = 0;
    assert_int_equal(ic_store_contact_upsert(f->c, f->ws, "27822222222", NULL, &k2), IC_OK);
    assert_int_equal(ic_store_conversation_for_send(f->c, f->ws, f->ch, k2, &conv3), IC_OK);
    assert_true(conv3 > conv2);

    json_t *items = NULL;
    int64_t next = -1;
    assert_int_equal(ic_store_conversations_list(f->c, f->ws, NULL, 0, 10, &items, &next), IC_OK);
    assert_int_equal(json_array_size(items), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0), "id")), conv3);
    json_decref(items);
    assert_int_equal(ic_store_conversations_list(f->c, f->ws, "closed", 0, 10, &items, &next),
                     IC_OK);
    assert_int_equal(json_array_size(items), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0), "id")), conv);
    json_decref(items);
    assert_int_equal(ic_store_conversations_list(f->c, f->ws, "open", 0, 1, &items, &next), IC_OK);
    assert_int_equal(json_array_size(items), 1);
    assert_int_equal(next, conv3);
    json_decref(items);
    assert_int_equal(ic_store_conversations_list(f->c, f->ws, "open", next, 1, &items, &next),
                     IC_OK);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0), "id")), conv2);
    assert_int_equal(next, 0);
    json_decref(items);
    assert_int_equal(ic_store_conversations_list(f->c, f->ws2, NULL, 0, 10, &items, &next), IC_OK);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
    assert_int_equal(ic_store_conversations_list(f->c, f->ws, "pending", 0, 10, &items, &next),
                     IC_ERR_INVALID);
}
typedef struct thread_arg {
    fx *f;
    ic_conn *conn;
    char *name;
} thread_arg;

static void *reader_main(void *p)
{
    thread_arg *a = p;
    a->conn = ic_db_thread_conn(a->f->db);
    if (ic_db_thread_conn(a->f->db) != a->conn)
        a->conn = NULL;
    if (ic_store_workspace_get(a->conn, a->f->ws2, &a->name) != IC_OK)
        a->name = NULL;
    return NULL;
}

static void test_thread_connections(void **state)
{
    fx *f = *state;
    thread_arg a = {.f = f};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader_main, &a), 0);
    pthread_join(t, NULL);
    assert_non_null(a.conn);
    assert_ptr_not_equal(a.conn, f->c);
    assert_non_null(a.name);
    assert_string_equal(a.name, "Beta");
    free(a.name);
    assert_ptr_equal(ic_db_thread_conn(f->db), f->c);
    /* Transactions on a thread's connection. */
    int64_t id = 0;
    assert_int_equal(ic_conn_begin(f->c), IC_OK);
    assert_int_equal(ic_store_workspace_insert(f->c, "Gamma", &id), IC_OK);
    ic_conn_rollback(f->c);
    char *name = NULL;
    assert_int_equal(ic_store_workspace_get(f->c, id, &name), IC_ERR_NOT_FOUND);
    assert_int_equal(ic_conn_begin(f->c), IC_OK);
    assert_int_equal(ic_store_workspace_insert(f->c, "Gamma", &id), IC_OK);
    assert_int_equal(ic_conn_commit(f->c), IC_OK);
    assert_int_equal(ic_store_workspace_get(f->c, id, &name), IC_OK);
    free(name);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_open_prefix_creates_folders),
        cmocka_unit_test_setup_teardown(test_migrate_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_executor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workspace_user_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contacts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contact_search_and_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conversations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_connections, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
