/* bench_sqlite_raw.c - the baseline for the ingest benchmark: how fast raw
 * SQLite takes the same message rows on this machine, in the same run, with
 * the same durability (WAL, synchronous=FULL) and a unique index on the
 * WhatsApp id, committing batches of --batch rows. Prints one JSON line.
 *
 *   bench_sqlite_raw --db PATH [--rows 100000] [--batch 1000]
 */
#include "base/str.h"
#include "base/time.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "bench_sqlite_raw: %s\n", err ? err : "error");
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int64_t rows = 100000, batch = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--db") == 0)
            path = argv[i + 1];
        else if (strcmp(argv[i], "--rows") == 0)
            ic_parse_i64(argv[i + 1], &rows);
        else if (strcmp(argv[i], "--batch") == 0)
            ic_parse_i64(argv[i + 1], &batch);
    }
    if (!path || rows <= 0 || batch <= 0) {
        fprintf(stderr, "usage: bench_sqlite_raw --db PATH [--rows N] [--batch N]\n");
        return 2;
    }
    unlink(path);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return 1;
    if (exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE m (id INTEGER PRIMARY KEY, channel_id INTEGER NOT NULL,"
                 " wa_id TEXT NOT NULL, sender TEXT NOT NULL, name TEXT, type TEXT NOT NULL,"
                 " body TEXT, wa_us INTEGER NOT NULL, created_us INTEGER NOT NULL) STRICT;"
                 "CREATE UNIQUE INDEX m_wa ON m (channel_id, wa_id);") != 0)
        return 1;
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db,
                       "INSERT INTO m (channel_id, wa_id, sender, name, type, body, wa_us, "
                       "created_us) VALUES (1, ?1, ?2, ?3, 'text', ?4, ?5, ?6) "
                       "ON CONFLICT DO NOTHING",
                       -1, &st, NULL);
    int64_t t0 = ic_mono_us();
    char wa_id[64], sender[32], name[32], body[128];
    for (int64_t i = 0; i < rows; i++) {
        if (i % batch == 0 && exec(db, "BEGIN") != 0)
            return 1;
        snprintf(wa_id, sizeof wa_id, "wamid.bench.%lld.0", (long long)i);
        snprintf(sender, sizeof sender, "2782%07lld", (long long)(i % 5000));
        snprintf(name, sizeof name, "Person %lld", (long long)(i % 5000));
        snprintf(body, sizeof body,
                 "Hello, I would like some information about the clinic hours please %lld",
                 (long long)i);
        sqlite3_bind_text(st, 1, wa_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, sender, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, body, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, ic_now_us());
        sqlite3_bind_int64(st, 6, ic_now_us());
        if (sqlite3_step(st) != SQLITE_DONE)
            return 1;
        sqlite3_reset(st);
        if ((i + 1) % batch == 0 || i + 1 == rows)
            if (exec(db, "COMMIT") != 0)
                return 1;
    }
    double secs = (double)(ic_mono_us() - t0) / 1e6;
    sqlite3_finalize(st);
    sqlite3_close(db);
    printf("{\"rows\":%lld,\"batch\":%lld,\"seconds\":%.3f,\"rows_per_s\":%.0f}\n", (long long)rows,
           (long long)batch, secs, (double)rows / secs);
    return 0;
}
