/* workspace.c - `impactchat workspace create NAME`. */
#include "cli/cli.h"
#include "cli/common.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: impactchat workspace create NAME [--db URL]\n\n"
               "Creates a workspace (an organisation's own space: its numbers, contacts,\n"
               "conversations and users) and prints its id.\n");
}

typedef struct create_args {
    const char *name;
    int64_t id;
} create_args;

static ic_err create(ic_conn *c, void *arg)
{
    create_args *a = arg;
    return ic_store_workspace_insert(c, a->name, &a->id);
}

int ic_cli_workspace(int argc, char **argv)
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
    if (argc - optind != 2 || strcmp(argv[optind], "create") != 0) {
        usage(stderr);
        return 2;
    }
    create_args a = {argv[optind + 1], 0};
    size_t n = strlen(a.name);
    if (n == 0 || n > 200) {
        ic_cli_err("workspace", "the name must be 1 to 200 characters");
        return 1;
    }
    if (!ic_cli_write("workspace", url, 0, create, &a, "create the workspace", NULL))
        return 1;
    printf("workspace %lld created: %s\n", (long long)a.id, a.name);
    return 0;
}
