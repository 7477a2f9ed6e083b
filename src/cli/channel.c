/* channel.c - `impactchat channel add|list`: connect a WhatsApp number. */
#include "cli/cli.h"
#include "cli/common.h"

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/str.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: impactchat channel add --workspace ID --phone-number-id ID\n"
            "                              [--access-token TOKEN] [--app-secret SECRET]\n"
            "                              [--waba-id ID] [--name NAME] [--display-phone NUMBER]\n"
            "                              [--verify-token TOKEN] [--mps 80..1000]\n"
            "                              [--graph-url URL] [--public-url URL] [--db URL]\n"
            "       impactchat channel list --workspace ID [--db URL]\n\n"
            "Connects a WhatsApp Business number (Meta Cloud API) to a workspace and prints\n"
            "the webhook URL and verify token to paste into Meta's App Dashboard\n"
            "(WhatsApp > Configuration). The access token and app secret may come from\n"
            "the environment instead of the command line (which other users can see):\n"
            "IC_ACCESS_TOKEN and IC_APP_SECRET. The verify token is generated when not\n"
            "given. --mps is the number's throughput (default 80 messages/s).\n");
}

typedef struct add_args {
    int64_t ws;
    ic_channel ch;
} add_args;

static ic_err add(ic_conn *c, void *arg)
{
    add_args *a = arg;
    return ic_store_channel_insert(c, &a->ch);
}

static bool all_digits(const char *s)
{
    if (!s || !*s || strlen(s) > 32)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static int list(const char *url, int64_t ws)
{
    ic_db *db = ic_cli_open_db("channel", url);
    if (!db)
        return 1;
    json_t *items = NULL;
    ic_err e = ic_store_channels_json(ic_db_thread_conn(db), ws, &items);
    ic_db_close(db);
    if (e != IC_OK) {
        ic_cli_err("channel", "cannot list channels: %s", ic_strerror(e));
        return 1;
    }
    char *s = json_dumps(items, JSON_INDENT(2));
    printf("%s\n", s ? s : "[]");
    free(s);
    json_decref(items);
    return 0;
}

int ic_cli_channel(int argc, char **argv)
{
    static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
                                         {"workspace", required_argument, NULL, 'w'},
                                         {"phone-number-id", required_argument, NULL, 'p'},
                                         {"access-token", required_argument, NULL, 'a'},
                                         {"app-secret", required_argument, NULL, 's'},
                                         {"waba-id", required_argument, NULL, 'b'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"display-phone", required_argument, NULL, 'D'},
                                         {"verify-token", required_argument, NULL, 'v'},
                                         {"mps", required_argument, NULL, 'm'},
                                         {"graph-url", required_argument, NULL, 'g'},
                                         {"public-url", required_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0}};
    const char *url = ic_cli_default_db();
    const char *public_url = getenv("IC_PUBLIC_URL");
    add_args a = {0};
    ic_channel *ch = &a.ch;
    ch->throughput_mps = 80;
    int64_t mps = 80;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            url = optarg;
            break;
        case 'w':
            if (!ic_cli_parse_id("channel", "--workspace", optarg, &a.ws))
                return 2;
            break;
        case 'p':
            ch->phone_number_id = optarg;
            break;
        case 'a':
            ch->access_token = optarg;
            break;
        case 's':
            ch->app_secret = optarg;
            break;
        case 'b':
            ch->waba_id = optarg;
            break;
        case 'n':
            ch->name = optarg;
            break;
        case 'D':
            ch->display_phone = optarg;
            break;
        case 'v':
            ch->verify_token = optarg;
            break;
        case 'm':
            if (ic_parse_i64(optarg, &mps) != IC_OK || mps < 80 || mps > 1000) {
                ic_cli_err("channel", "--mps must be a number from 80 to 1000");
                return 2;
            }
            break;
        case 'g':
            ch->graph_url = optarg;
            break;
        case 'u':
            public_url = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 1 || !a.ws) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[optind], "list") == 0)
        return list(url, a.ws);
    if (strcmp(argv[optind], "add") != 0) {
        usage(stderr);
        return 2;
    }
    if (!ch->access_token)
        ch->access_token = getenv("IC_ACCESS_TOKEN");
    if (!ch->app_secret)
        ch->app_secret = getenv("IC_APP_SECRET");
    if (!all_digits(ch->phone_number_id)) {
        ic_cli_err("channel", "--phone-number-id must be Meta's phone number id (digits)");
        return 2;
    }
    if (!ch->access_token || !*ch->access_token || !ch->app_secret || !*ch->app_secret) {
        ic_cli_err("channel", "an access token and an app secret are needed "
                              "(--access-token/--app-secret or IC_ACCESS_TOKEN/IC_APP_SECRET)");
        return 2;
    }
    if (ch->graph_url && !ic_str_starts(ch->graph_url, "http://") &&
        !ic_str_starts(ch->graph_url, "https://")) {
        ic_cli_err("channel", "--graph-url must be an http(s) URL");
        return 2;
    }
    char verify[33];
    if (!ch->verify_token) {
        ic_random_hex(verify, 16);
        ch->verify_token = verify;
    }
    if (!ch->name)
        ch->name = ch->display_phone ? ch->display_phone : ch->phone_number_id;
    ch->throughput_mps = (int)mps;
    ch->workspace_id = a.ws;

    char exists[128];
    snprintf(exists, sizeof exists, "phone number id %s is already connected", ch->phone_number_id);
    if (!ic_cli_write("channel", url, a.ws, add, &a, "add the channel", exists))
        return 1;
    printf("channel %lld added: %s\n", (long long)ch->id, ch->name);
    printf("webhook URL:  %s/webhooks/whatsapp/%s\n", public_url ? public_url : "https://YOUR-HOST",
           ch->uuid);
    printf("verify token: %s\n", ch->verify_token);
    return 0;
}
