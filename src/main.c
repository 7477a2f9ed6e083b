/* main.c - the impactchat command line: dispatches to src/cli/. */
#include "base/crypto.h"
#include "base/log.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"serve", ic_cli_serve, "run the server (webhooks, API, sender)"},
    {"migrate", ic_cli_migrate, "apply database migrations"},
    {"workspace", ic_cli_workspace, "create and list workspaces"},
    {"user", ic_cli_user, "add users"},
    {"token", ic_cli_token, "create API tokens"},
    {"channel", ic_cli_channel, "connect and list WhatsApp numbers"},
    {"wa-parse", ic_cli_wa_parse, "print the normalised events of webhook bodies"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: impactchat COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'impactchat COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    ic_log_init();
    if (ic_crypto_init() != IC_OK) {
        fprintf(stderr, "impactchat: cannot initialise libsodium\n");
        return 1;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "impactchat: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
