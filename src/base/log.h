/* log.h - structured logs: one logfmt line per event on stderr.
 *
 *   ts=2026-11-21T23:31:24.000000Z level=info event=webhook_stored rid=ab12 n=3
 *
 * Never log a message body, a token, a secret or a whole phone number: pass
 * numbers through ic_mask_phone(). Thread-safe (one write(2) per line).
 */
#ifndef IC_BASE_LOG_H
#define IC_BASE_LOG_H

#include <stddef.h>

typedef enum ic_log_level {
    IC_LOG_DEBUG,
    IC_LOG_INFO,
    IC_LOG_WARN,
    IC_LOG_ERROR,
} ic_log_level;

/* Sets the lowest level written (default IC_LOG_INFO; the IC_LOG_LEVEL
 * environment variable "debug|info|warn|error" is read by ic_log_init). */
void ic_log_set_level(ic_log_level lvl);
void ic_log_init(void);

/* Writes one line: timestamp, level, event name, then the caller's
 * "key=value key=value" fields formatted with fmt (may be NULL). */
void ic_log(ic_log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes a masked form of a phone number or WhatsApp id into out: all but
 * the first 3 and last 2 characters become '*' ("27*******89"). Short ids
 * are fully masked. out must hold at least 32 bytes; NULL phone gives "-". */
void ic_mask_phone(const char *phone, char *out, size_t size);

#define IC_INFO(ev, ...) ic_log(IC_LOG_INFO, ev, __VA_ARGS__)
#define IC_WARN(ev, ...) ic_log(IC_LOG_WARN, ev, __VA_ARGS__)
#define IC_ERROR(ev, ...) ic_log(IC_LOG_ERROR, ev, __VA_ARGS__)
#define IC_DEBUG(ev, ...) ic_log(IC_LOG_DEBUG, ev, __VA_ARGS__)

#endif
