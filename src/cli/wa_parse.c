/* wa_parse.c - `impactchat wa-parse FILE...`: prints the normalised events of
 * WhatsApp webhook bodies, one compact JSON line per event.
 */
#include "base/buf.h"
#include "cli/cli.h"
#include "wa/webhook.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Meta's largest webhook body. */
#define MAX_BODY ((size_t)3 * 1024 * 1024)

static const char usage_text[] =
    "usage: impactchat wa-parse [--help] FILE...\n"
    "\n"
    "Parses each FILE as a WhatsApp Cloud API webhook body (\"-\" reads standard\n"
    "input) and prints one JSON line per normalised event: messages, statuses,\n"
    "errors, and ignored items with the reason. Files over 3 MB are refused.\n"
    "Exit status: 0 when every file was read and parsed, 1 otherwise, 2 on a\n"
    "usage error.\n";

/* Reads at most MAX_BODY bytes of f into b; IC_ERR_TOO_BIG past that. */
static ic_err read_bounded(FILE *f, ic_buf *b, char *why, size_t why_size)
{
    char chunk[65536];
    for (;;) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n > 0) {
            if (b->len + n > MAX_BODY) {
                snprintf(why, why_size, "larger than 3 MB, the most a webhook body can be");
                return IC_ERR_TOO_BIG;
            }
            ic_buf_append(b, chunk, n);
        }
        if (n < sizeof chunk) {
            if (ferror(f)) {
                snprintf(why, why_size, "%s", strerror(errno));
                return IC_ERR_IO;
            }
            return IC_OK;
        }
    }
}

/* Parses and prints one file; false (after a message on stderr) when it
 * could not be read or parsed. */
static bool parse_file(const char *path)
{
    bool ok = false;
    ic_buf body = IC_BUF_INIT;
    ic_wa_batch batch = IC_WA_BATCH_INIT;
    ic_errmsg em = {{0}};
    char why[256] = "";
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "impactchat wa-parse: %s: %s\n", path, strerror(errno));
        goto out;
    }
    if (read_bounded(f, &body, why, sizeof why) != IC_OK) {
        fprintf(stderr, "impactchat wa-parse: %s: %s\n", path, why);
        goto out;
    }
    if (ic_wa_webhook_parse(body.data ? body.data : "", body.len, &batch, &em) != IC_OK) {
        fprintf(stderr, "impactchat wa-parse: %s: %s\n", path, em.msg);
        goto out;
    }
    for (size_t i = 0; i < batch.count; i++) {
        json_dumpf(batch.events[i].content, stdout, JSON_COMPACT | JSON_REAL_PRECISION(15));
        fputc('\n', stdout);
    }
    ok = true;
out:
    if (f && !is_stdin)
        fclose(f);
    ic_wa_batch_free(&batch);
    ic_buf_free(&body);
    return ok;
}

int ic_cli_wa_parse(int argc, char **argv)
{
    int first = 1;
    for (; first < argc; first++) {
        const char *a = argv[first];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (strcmp(a, "--") == 0) {
            first++;
            break;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0)
            break;
        fprintf(stderr, "impactchat wa-parse: unknown option '%s'\n", a);
        fputs(usage_text, stderr);
        return 2;
    }
    if (first >= argc) {
        fprintf(stderr, "impactchat wa-parse: no file given\n");
        fputs(usage_text, stderr);
        return 2;
    }
    int rc = 0;
    for (int i = first; i < argc; i++)
        if (!parse_file(argv[i]))
            rc = 1;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "impactchat wa-parse: cannot write the output: %s\n", strerror(errno));
        rc = 1;
    }
    return rc;
}
