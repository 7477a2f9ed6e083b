/* user.c - `impactchat user add`: a person who signs in to the inbox. */
#include "cli/cli.h"
#include "cli/common.h"

#include "base/alloc.h"
#include "base/crypto.h"
#include "base/str.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: impactchat user add --workspace ID --email EMAIL [--name NAME]\n"
               "                           [--role admin|supervisor|operator|viewer]\n"
               "                           [--password-stdin] [--db URL]\n\n"
               "Adds a user to a workspace. The password is read from standard input with\n"
               "--password-stdin; otherwise a random one is generated and printed once.\n"
               "The role defaults to operator.\n");
}

typedef struct add_args {
    int64_t ws;
    const char *email, *name, *role;
    char email_lc[256]; /* the address as sign-in looks it up */
    char hash[256];
    int64_t id;
} add_args;

static ic_err add(ic_conn *c, void *arg)
{
    add_args *a = arg;
    return ic_store_user_insert(c, a->ws, a->email_lc, a->name, a->role, a->hash, &a->id);
}

static bool valid_role(const char *r)
{
    return strcmp(r, "admin") == 0 || strcmp(r, "supervisor") == 0 || strcmp(r, "operator") == 0 ||
           strcmp(r, "viewer") == 0;
}

static bool read_password(char *out, size_t size)
{
    if (!fgets(out, (int)size, stdin))
        return false;
    out[strcspn(out, "\r\n")] = '\0';
    return true;
}

int ic_cli_user(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},    {"workspace", required_argument, NULL, 'w'},
        {"email", required_argument, NULL, 'e'}, {"name", required_argument, NULL, 'n'},
        {"role", required_argument, NULL, 'r'},  {"password-stdin", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},        {0}};
    const char *url = ic_cli_default_db();
    add_args a = {.role = "operator"};
    bool from_stdin = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            url = optarg;
            break;
        case 'w':
            if (!ic_cli_parse_id("user", "--workspace", optarg, &a.ws))
                return 2;
            break;
        case 'e':
            a.email = optarg;
            break;
        case 'n':
            a.name = optarg;
            break;
        case 'r':
            a.role = optarg;
            break;
        case 'p':
            from_stdin = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 1 || strcmp(argv[optind], "add") != 0 || !a.ws || !a.email) {
        usage(stderr);
        return 2;
    }
    if (!strchr(a.email, '@') || strlen(a.email) > 254) {
        ic_cli_err("user", "'%s' is not an email address", a.email);
        return 1;
    }
    if (!valid_role(a.role)) {
        ic_cli_err("user", "the role must be admin, supervisor, operator or viewer");
        return 1;
    }
    ic_str_lower_ascii(a.email, a.email_lc, sizeof a.email_lc);
    if (!a.name)
        a.name = a.email;
    char password[256];
    if (from_stdin) {
        if (!read_password(password, sizeof password) || strlen(password) < 10) {
            ic_cli_err("user", "the password on standard input must be at least 10 characters");
            return 1;
        }
    } else {
        ic_random_hex(password, 10);
    }
    if (ic_password_hash(password, a.hash, sizeof a.hash) != IC_OK) {
        ic_cli_err("user", "cannot hash the password");
        return 1;
    }
    char exists[320];
    snprintf(exists, sizeof exists, "%s is already a user of workspace %lld", a.email,
             (long long)a.ws);
    if (!ic_cli_write("user", url, a.ws, add, &a, "add the user", exists))
        return 1;
    printf("user %lld added: %s (%s)\n", (long long)a.id, a.email, a.role);
    if (!from_stdin)
        printf("password: %s\n", password);
    return 0;
}
