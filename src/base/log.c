#include "base/log.h"

#include "base/time.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int min_level = IC_LOG_INFO;

void ic_log_set_level(ic_log_level lvl)
{
    min_level = (int)lvl;
}

void ic_log_init(void)
{
    const char *e = getenv("IC_LOG_LEVEL");
    if (!e)
        return;
    if (strcmp(e, "debug") == 0)
        ic_log_set_level(IC_LOG_DEBUG);
    else if (strcmp(e, "info") == 0)
        ic_log_set_level(IC_LOG_INFO);
    else if (strcmp(e, "warn") == 0)
        ic_log_set_level(IC_LOG_WARN);
    else if (strcmp(e, "error") == 0)
        ic_log_set_level(IC_LOG_ERROR);
}

void ic_log(ic_log_level lvl, const char *event, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if ((int)lvl < min_level)
        return;
    char line[2048];
    char ts[40];
    ic_time_iso(ic_now_us(), ts, sizeof ts);
    int n = snprintf(line, sizeof line, "ts=%s level=%s event=%s", ts, names[lvl], event);
    if (n < 0)
        return;
    if (fmt && (size_t)n < sizeof line - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void ic_mask_phone(const char *phone, char *out, size_t size)
{
    if (!size)
        return;
    if (!phone) {
        snprintf(out, size, "-");
        return;
    }
    size_t n = strlen(phone);
    size_t i = 0;
    for (; i < n && i + 1 < size && i < 31; i++) {
        int keep = n >= 8 && (i < 3 || i >= n - 2);
        out[i] = keep ? phone[i] : '*';
    }
    out[i] = '\0';
}
