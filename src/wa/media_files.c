/* media_files.c - MIME types and Meta's limits, and writing files into the
 * media store safely (temporary file, fsync, rename, fsync the folder). */
#include "wa/media_int.h"

#include "base/crypto.h"
#include "base/str.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KB ((int64_t)1024)
#define MB (1024 * KB)

typedef struct mime_entry {
    const char *mime;
    const char *ext;
    int64_t limit;
} mime_entry;

/* cloud-api.md §2 Media. Types WhatsApp does not list for images, audio,
 * video or stickers can only arrive as documents, so they take the document
 * limit. */
static const mime_entry mime_table[] = {
    {"image/jpeg", "jpg", 5 * MB},
    {"image/png", "png", 5 * MB},
    {"image/webp", "webp", 500 * KB},
    {"audio/aac", "aac", 16 * MB},
    {"audio/amr", "amr", 16 * MB},
    {"audio/mpeg", "mp3", 16 * MB},
    {"audio/mp4", "m4a", 16 * MB},
    {"audio/ogg", "ogg", 16 * MB},
    {"video/mp4", "mp4", 16 * MB},
    {"video/3gpp", "3gp", 16 * MB},
    {"application/pdf", "pdf", 100 * MB},
    {"text/plain", "txt", 100 * MB},
    {"application/msword", "doc", 100 * MB},
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", 100 * MB},
    {"application/vnd.ms-excel", "xls", 100 * MB},
    {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", 100 * MB},
    {"application/vnd.ms-powerpoint", "ppt", 100 * MB},
    {"application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx", 100 * MB},
};

#define DOCUMENT_LIMIT (100 * MB)

/* RFC 6838 restricted-name characters. */
static bool mime_char(char c)
{
    return isalnum((unsigned char)c) || strchr("!#$&^_.+-", c) != NULL;
}

ic_err ic_media_mime_info(const char *mime, int64_t *limit, const char **ext)
{
    char base[128];
    size_t n = 0;
    bool slash = false;
    size_t type_len = 0;
    if (!mime)
        return IC_ERR_INVALID;
    const char *p = mime;
    while (*p == ' ')
        p++;
    for (; *p && *p != ';' && *p != ' '; p++) {
        char c = (char)tolower((unsigned char)*p);
        if (c == '/') {
            if (slash || n == 0)
                return IC_ERR_INVALID;
            slash = true;
            type_len = n;
        } else if (!mime_char(c)) {
            return IC_ERR_INVALID;
        }
        if (n + 1 >= sizeof base)
            return IC_ERR_INVALID;
        base[n++] = c;
    }
    base[n] = '\0';
    if (!slash || n == type_len + 1)
        return IC_ERR_INVALID;
    /* Only parameters may follow. */
    while (*p == ' ')
        p++;
    if (*p && *p != ';')
        return IC_ERR_INVALID;
    for (size_t i = 0; i < sizeof mime_table / sizeof mime_table[0]; i++) {
        if (strcmp(base, mime_table[i].mime) == 0) {
            *limit = mime_table[i].limit;
            *ext = mime_table[i].ext;
            return IC_OK;
        }
    }
    *limit = DOCUMENT_LIMIT;
    *ext = "bin";
    return IC_OK;
}

ic_err ic_media_sha256_norm(const char *in, char out[65])
{
    if (!in)
        return IC_ERR_INVALID;
    size_t len = strlen(in);
    if (len == 64) {
        bool hex = true;
        for (size_t i = 0; i < 64; i++)
            hex = hex && isxdigit((unsigned char)in[i]);
        if (hex) {
            for (size_t i = 0; i < 64; i++)
                out[i] = (char)tolower((unsigned char)in[i]);
            out[64] = '\0';
            return IC_OK;
        }
    }
    /* base64 of 32 bytes: 43 characters plus one '=' of padding. */
    while (len > 0 && in[len - 1] == '=')
        len--;
    if (len != 43)
        return IC_ERR_INVALID;
    unsigned char bin[32];
    size_t got = 0;
    const int variants[] = {sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
                            sodium_base64_VARIANT_URLSAFE_NO_PADDING};
    for (size_t v = 0; v < 2; v++) {
        if (sodium_base642bin(bin, sizeof bin, in, len, NULL, &got, NULL, variants[v]) == 0 &&
            got == sizeof bin) {
            ic_hex_encode(bin, sizeof bin, out);
            return IC_OK;
        }
    }
    return IC_ERR_INVALID;
}

ic_err ic_media_mkdirs(const char *path, ic_errmsg *em)
{
    char tmp[PATH_MAX];
    if (!path || !*path)
        return ic_errf(em, IC_ERR_INVALID, "the media folder is not set");
    if (ic_strlcpy(tmp, path, sizeof tmp) >= sizeof tmp)
        return ic_errf(em, IC_ERR_TOO_BIG, "the media folder path is too long");
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return ic_errf(em, IC_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        struct stat st;
        if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode))
            return ic_errf(em, IC_ERR_IO, "%s is not a folder", tmp);
        *p = saved;
        if (saved == '\0')
            break;
    }
    return IC_OK;
}

static bool fits(int n, size_t size)
{
    return n >= 0 && (size_t)n < size;
}

ic_err ic_media_file_create(const char *media_dir, int64_t ws, int64_t now_us, const char *ext,
                            ic_media_file *f, ic_errmsg *em)
{
    ic_err err = IC_OK;
    char name[33];
    struct tm tm;
    time_t secs = (time_t)(now_us / 1000000);

    memset(f, 0, sizeof *f);
    f->fd = -1;
    crypto_hash_sha256_init(&f->sha);
    if (!gmtime_r(&secs, &tm)) {
        err = ic_errf(em, IC_ERR_INTERNAL, "the clock is out of range");
        goto out;
    }
    ic_random_hex(name, 16);
    if (!fits(snprintf(f->rel, sizeof f->rel, "%lld/%04d/%02d/%s.%s", (long long)ws,
                       tm.tm_year + 1900, tm.tm_mon + 1, name, ext),
              sizeof f->rel) ||
        !fits(snprintf(f->dir, sizeof f->dir, "%s/%lld/%04d/%02d", media_dir, (long long)ws,
                       tm.tm_year + 1900, tm.tm_mon + 1),
              sizeof f->dir) ||
        !fits(snprintf(f->final, sizeof f->final, "%s/%s", media_dir, f->rel), sizeof f->final) ||
        !fits(snprintf(f->tmp, sizeof f->tmp, "%s/.%s.part", f->dir, name), sizeof f->tmp)) {
        err = ic_errf(em, IC_ERR_TOO_BIG, "the media folder path is too long");
        goto out;
    }
    err = ic_media_mkdirs(f->dir, em);
    if (err)
        goto out;
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (f->fd < 0)
        err = ic_errf(em, IC_ERR_IO, "cannot create a file in %s: %s", f->dir, strerror(errno));
out:
    if (err)
        f->tmp[0] = '\0';
    return err;
}

ic_err ic_media_file_write(ic_media_file *f, const void *p, size_t n)
{
    const char *c = p;
    size_t left = n;
    if (f->fd < 0)
        return IC_ERR_IO;
    while (left > 0) {
        ssize_t w = write(f->fd, c, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return IC_ERR_IO;
        c += w;
        left -= (size_t)w;
    }
    crypto_hash_sha256_update(&f->sha, p, n);
    f->size += (int64_t)n;
    return IC_OK;
}

void ic_media_file_digest(ic_media_file *f, char sha_hex[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&f->sha, h);
    ic_hex_encode(h, sizeof h, sha_hex);
}

ic_err ic_media_file_commit(ic_media_file *f, ic_errmsg *em)
{
    ic_err err = IC_OK;
    int dfd = -1;

    if (f->fd < 0) {
        err = ic_errf(em, IC_ERR_IO, "the media file is not open");
        goto out;
    }
    if (fsync(f->fd) != 0) {
        err = ic_errf(em, IC_ERR_IO, "cannot sync a media file: %s", strerror(errno));
        goto out;
    }
    int rc = close(f->fd);
    f->fd = -1;
    if (rc != 0) {
        err = ic_errf(em, IC_ERR_IO, "cannot close a media file: %s", strerror(errno));
        goto out;
    }
    if (rename(f->tmp, f->final) != 0) {
        err =
            ic_errf(em, IC_ERR_IO, "cannot rename a media file in %s: %s", f->dir, strerror(errno));
        goto out;
    }
    f->tmp[0] = '\0';
    dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        err = ic_errf(em, IC_ERR_IO, "cannot sync %s: %s", f->dir, strerror(errno));
        unlink(f->final);
        goto out;
    }
out:
    if (dfd >= 0)
        close(dfd);
    if (err)
        ic_media_file_discard(f);
    return err;
}

void ic_media_file_discard(ic_media_file *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    if (f->tmp[0]) {
        unlink(f->tmp);
        f->tmp[0] = '\0';
    }
}
