/* app.h - the running program's parts, wired together by `impactchat serve`.
 *
 * One ic_app lives for the whole process. Its members are created in main.c
 * in dependency order and stopped in reverse; handlers borrow it.
 */
#ifndef IC_APP_H
#define IC_APP_H

#include <stddef.h>
#include <stdint.h>

typedef struct ic_db ic_db;
typedef struct ic_writer ic_writer;
typedef struct ic_sender ic_sender;
typedef struct ic_media ic_media;
typedef struct ic_bus ic_bus;
typedef struct ic_channel_cache ic_channel_cache;

typedef struct ic_config {
    const char *db_url;      /* SQLite file path (default var/impactchat.db) */
    const char *listen_addr; /* default 127.0.0.1 */
    int port;                /* default 8080 */
    const char *public_url;  /* how Meta reaches us, for printed webhook URLs */
    const char *media_dir;   /* media store folder (default var/media) */
    const char *graph_url;   /* Graph API base, default https://graph.facebook.com/v21.0 */
    size_t max_body;         /* webhook body cap: 3 MB */
    size_t max_api_body;     /* API body cap: 1 MB */
    size_t writer_queue;     /* writer queue cap; beyond it webhooks get 503 */
    int http_threads;        /* libmicrohttpd thread pool size */
} ic_config;

typedef struct ic_app {
    const ic_config *cfg;
    ic_db *db;
    ic_writer *writer;
    ic_sender *sender;          /* may be NULL (e.g. in tests) */
    ic_media *media;            /* may be NULL */
    ic_bus *bus;                /* events between nodes (store/bus.h); may be NULL */
    ic_channel_cache *channels; /* webhook channel lookups (store/channel_cache.h); may be NULL */
} ic_app;

#endif
