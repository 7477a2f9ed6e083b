/* migrate.c - `impactchat migrate`: apply database migrations. */
#include "cli/cli.h"
#include "cli/common.h"

#include <getopt.h>
#include <stdio.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: impactchat migrate [--db URL]\n\n"
               "Applies every database migration not applied yet. 'serve' does this on start\n"
               "too. --db defaults to $IC_DB or var/impactchat.db.\n");
}

int ic_cli_migrate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {0}};
    const char *url = ic_cli_default_db();
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            url = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    ic_db *db = NULL;
    ic_errmsg em = {{0}};
    if (ic_db_open(url, &db, &em) != IC_OK) {
        ic_cli_err("migrate", "%s", em.msg);
        return 1;
    }
    int applied = 0;
    ic_err e = ic_db_migrate(db, &applied, &em);
    ic_db_close(db);
    if (e != IC_OK) {
        ic_cli_err("migrate", "%s", em.msg);
        return 1;
    }
    printf("migrations applied: %d\n", applied);
    return 0;
}
