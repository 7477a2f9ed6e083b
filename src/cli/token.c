/* token.c - `impactchat token create`: a bearer token for the REST API. */
#include "cli/cli.h"
#include "cli/common.h"

#include "base/alloc.h"
#include "base/crypto.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: impactchat token create --workspace ID --name NAME [--db URL]\n\n"
               "Creates an API token for one workspace and prints it once. Only its\n"
               "SHA-256 is stored: keep the token safe; create a new one if it is lost.\n"
               "Use it as 'Authorization: Bearer TOKEN'.\n");
}

typedef struct create_args {
    int64_t ws;
    const char *name;
    char sha[65];
    int64_t id;
} create_args;

static ic_err create(ic_conn *c, void *arg)
{
    create_args *a = arg;
    return ic_store_token_insert(c, a->ws, a->name, a->sha, &a->id);
}

int ic_cli_token(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"workspace", required_argument, NULL, 'w'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    const char *url = ic_cli_default_db();
    create_args a = {0};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            url = optarg;
            break;
        case 'w':
            if (!ic_cli_parse_id("token", "--workspace", optarg, &a.ws))
                return 2;
            break;
        case 'n':
            a.name = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 1 || strcmp(argv[optind], "create") != 0 || !a.ws || !a.name) {
        usage(stderr);
        return 2;
    }
    if (!*a.name || strlen(a.name) > 200) {
        ic_cli_err("token", "the name must be 1 to 200 characters");
        return 1;
    }
    char token[64];
    ic_api_token_new(token, a.sha);
    if (!ic_cli_write("token", url, a.ws, create, &a, "create the token", NULL))
        return 1;
    printf("%s\n", token);
    return 0;
}
