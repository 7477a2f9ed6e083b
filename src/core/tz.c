/* tz.c - UTC offsets of IANA time zones from the system's TZif files (RFC
 * 8536) and their POSIX TZ rule, without touching the process's TZ; see
 * business_hours.h (ic_tz_offset). */
#include "core/business_hours.h"

#include "base/alloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_FILE_MAX (512 * 1024)

typedef struct tz_date {
    char kind; /* 'M' (month.week.day), 'J' (1..365 without Feb 29), 'N' (0..365) */
    int m, w, d, n;
    int32_t time; /* seconds after local midnight; may be negative or past 24 h */
} tz_date;

typedef struct tz_rule {
    bool valid, dst;
    int32_t std_off, dst_off; /* seconds east of UTC */
    tz_date start, end;
} tz_rule;

typedef struct tz_zone {
    char name[IC_TZ_NAME_MAX + 1];
    size_t n;
    int64_t *at;    /* transition times, ascending */
    int32_t *off;   /* the offset from each transition on */
    int32_t before; /* the offset before the first */
    tz_rule rule;   /* after the last */
} tz_zone;

/* ---- POSIX TZ rules ------------------------------------------------------------ */

static const char *parse_num(const char *s, int lo, int hi, int *out)
{
    int v = 0, digits = 0;
    for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
        v = v * 10 + (*s - '0');
    if (!digits || v < lo || v > hi)
        return NULL;
    *out = v;
    return s;
}

/* [+-]hh[:mm[:ss]] into seconds (sign as written). */
static const char *parse_hms(const char *s, int max_h, int32_t *out)
{
    int sign = 1, h = 0, m = 0, sec = 0;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (!(s = parse_num(s, 0, max_h, &h)))
        return NULL;
    if (*s == ':' && !(s = parse_num(s + 1, 0, 59, &m)))
        return NULL;
    if (s && *s == ':' && !(s = parse_num(s + 1, 0, 59, &sec)))
        return NULL;
    *out = sign * (h * 3600 + m * 60 + sec);
    return s;
}

static const char *parse_name(const char *s)
{
    const char *p = s;
    if (*p == '<') {
        while (*p && *p != '>')
            p++;
        return *p == '>' && p - s >= 4 ? p + 1 : NULL;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

static const char *parse_date(const char *s, tz_date *d)
{
    d->time = 7200;
    if (*s == 'M') {
        d->kind = 'M';
        if (!(s = parse_num(s + 1, 1, 12, &d->m)) || *s != '.' ||
            !(s = parse_num(s + 1, 1, 5, &d->w)) || *s != '.' ||
            !(s = parse_num(s + 1, 0, 6, &d->d)))
            return NULL;
    } else if (*s == 'J') {
        d->kind = 'J';
        if (!(s = parse_num(s + 1, 1, 365, &d->n)))
            return NULL;
    } else {
        d->kind = 'N';
        if (!(s = parse_num(s, 0, 365, &d->n)))
            return NULL;
    }
    if (*s == '/')
        s = parse_hms(s + 1, 167, &d->time);
    return s;
}

/* Parses a TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"). A DST name without
 * dates gets none (the zone then stays on standard time past its file). */
static bool parse_rule(const char *s, tz_rule *r)
{
    int32_t off = 0;
    memset(r, 0, sizeof *r);
    if (!(s = parse_name(s)) || !(s = parse_hms(s, 24, &off)))
        return false;
    r->std_off = r->dst_off = -off;
    r->valid = true;
    if (!*s)
        return true;
    if (!(s = parse_name(s)))
        return false;
    r->dst_off = r->std_off + 3600;
    if (*s && *s != ',') {
        if (!(s = parse_hms(s, 24, &off)))
            return false;
        r->dst_off = -off;
    }
    if (*s != ',' || !(s = parse_date(s + 1, &r->start)) || *s != ',' ||
        !(s = parse_date(s + 1, &r->end)) || *s)
        return true; /* no usable dates: standard time */
    r->dst = true;
    return true;
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since 1970-01-01 of y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The year of day number days. */
static int64_t year_of(int64_t days)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10);
}

/* Local seconds since 1970 (in the rule's local time) of date d in year y. */
static int64_t date_local(const tz_date *d, int64_t y)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t day;
    if (d->kind == 'M') {
        int64_t first = days_from_civil(y, d->m, 1);
        int wd = (int)(((first + 4) % 7 + 7) % 7);
        int dom = 1 + (d->d - wd + 7) % 7 + (d->w - 1) * 7;
        int len = mdays[d->m - 1] + (d->m == 2 && leap(y));
        while (dom > len)
            dom -= 7;
        day = first + dom - 1;
    } else {
        int n = d->kind == 'J' ? d->n - 1 + (leap(y) && d->n >= 60) : d->n;
        day = days_from_civil(y, 1, 1) + n;
    }
    return day * 86400 + d->time;
}

static int32_t rule_offset(const tz_rule *r, int64_t t)
{
    if (!r->dst)
        return r->std_off;
    int64_t y = year_of((t + r->std_off) / 86400 - ((t + r->std_off) % 86400 < 0));
    int64_t start = date_local(&r->start, y) - r->std_off;
    int64_t end = date_local(&r->end, y) - r->dst_off;
    bool in = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return in ? r->dst_off : r->std_off;
}

/* ---- TZif files ---------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Reads the counts of the header at p (44 bytes); false when not TZif. */
static bool header(const unsigned char *p, size_t left, uint32_t c[6], char *version)
{
    if (left < 44 || memcmp(p, "TZif", 4) != 0)
        return false;
    *version = (char)p[4];
    for (int i = 0; i < 6; i++)
        c[i] = be32(p + 20 + 4 * i);
    /* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
    return c[4] >= 1 && c[4] <= 256 && c[3] <= 100000 && c[5] <= 65536 && c[2] <= 10000 &&
           c[0] <= c[4] && c[1] <= c[4];
}

static size_t block_size(const uint32_t c[6], size_t tsize)
{
    return c[3] * tsize + c[3] + c[4] * 6 + c[5] + c[2] * (tsize + 4) + c[1] + c[0];
}

static bool parse_tzif(const unsigned char *p, size_t len, tz_zone *z)
{
    uint32_t c[6];
    char version = 0;
    size_t tsize = 4;
    if (!header(p, len, c, &version))
        return false;
    if (version >= '2') {
        size_t skip = 44 + block_size(c, 4);
        if (skip > len || !header(p + skip, len - skip, c, &version))
            return false;
        p += skip;
        len -= skip;
        tsize = 8;
    }
    size_t need = 44 + block_size(c, tsize);
    if (need > len)
        return false;
    const unsigned char *times = p + 44, *idx = times + c[3] * tsize, *types = idx + c[3];
    z->n = c[3];
    z->at = ic_calloc(z->n + 1, sizeof *z->at);
    z->off = ic_calloc(z->n + 1, sizeof *z->off);
    for (size_t i = 0; i < z->n; i++) {
        if (idx[i] >= c[4])
            return false;
        z->at[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        z->off[i] = (int32_t)be32(types + 6 * idx[i]);
        if (i && z->at[i] <= z->at[i - 1])
            return false;
    }
    z->before = (int32_t)be32(types);
    if (tsize == 8 && need < len && p[need] == '\n') {
        char footer[128];
        size_t n = 0;
        for (size_t i = need + 1; i < len && p[i] != '\n' && n + 1 < sizeof footer; i++)
            footer[n++] = (char)p[i];
        footer[n] = '\0';
        if (n)
            parse_rule(footer, &z->rule);
    }
    return true;
}

static bool name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (!n || n > IC_TZ_NAME_MAX || name[0] == '/' || name[0] == '.' || strstr(name, ".."))
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '/' || *p == '_' || *p == '-' || *p == '+'))
            return false;
    return true;
}

static ic_err load(const char *name, tz_zone *z)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return IC_ERR_NOT_FOUND;
    unsigned char *buf = ic_malloc(TZ_FILE_MAX);
    size_t len = fread(buf, 1, TZ_FILE_MAX, fp);
    fclose(fp);
    memset(z, 0, sizeof *z);
    snprintf(z->name, sizeof z->name, "%s", name);
    bool ok = len < TZ_FILE_MAX && parse_tzif(buf, len, z);
    ic_free(buf);
    if (!ok) {
        ic_free(z->at);
        ic_free(z->off);
        return IC_ERR_NOT_FOUND;
    }
    return IC_OK;
}

static int32_t zone_offset(const tz_zone *z, int64_t t)
{
    if (!z->n || t < z->at[0])
        return z->n || !z->rule.valid ? z->before : rule_offset(&z->rule, t);
    if (t >= z->at[z->n - 1] && z->rule.valid)
        return rule_offset(&z->rule, t);
    size_t lo = 0, hi = z->n; /* the last transition <= t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return z->off[lo];
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static tz_zone cached[IC_TZ_CACHE_MAX];
static size_t ncached;

ic_err ic_tz_offset(const char *name, int64_t t, int32_t *offset)
{
    *offset = 0;
    if (!name_ok(name))
        return IC_ERR_INVALID;
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return IC_OK;
    ic_err e = IC_OK;
    pthread_mutex_lock(&mu);
    size_t i = 0;
    while (i < ncached && strcmp(cached[i].name, name) != 0)
        i++;
    if (i < ncached) {
        *offset = zone_offset(&cached[i], t);
    } else {
        tz_zone z;
        e = load(name, &z);
        if (e == IC_OK) {
            *offset = zone_offset(&z, t);
            if (ncached < IC_TZ_CACHE_MAX) {
                cached[ncached++] = z;
            } else {
                ic_free(z.at);
                ic_free(z.off);
            }
        }
    }
    pthread_mutex_unlock(&mu);
    return e;
}
