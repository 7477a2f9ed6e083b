/* crypto.h - the few cryptographic operations impactchat needs, on libsodium.
 * Call ic_crypto_init() once at start (idempotent, thread-safe after).
 */
#ifndef IC_BASE_CRYPTO_H
#define IC_BASE_CRYPTO_H

#include "base/err.h"

#include <stdbool.h>
#include <stddef.h>

ic_err ic_crypto_init(void);

/* HMAC-SHA256 of msg keyed with key, as 64 lowercase hex chars + NUL. */
void ic_hmac_sha256_hex(const char *key, size_t keylen, const void *msg, size_t len,
                        char out_hex[65]);

/* Constant-time equality of two byte strings of the same length; false when
 * the lengths differ (length is not secret). */
bool ic_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Fills out with n random bytes encoded as 2n hex chars + NUL. */
void ic_random_hex(char *out, size_t nbytes);

/* A new API token, "ic_" and 48 hex characters (192 random bits), into
 * token, and its SHA-256 hex (what the database keeps) into sha. */
void ic_api_token_new(char token[64], char sha[65]);

/* SHA-256 of data as 64 hex chars + NUL (used to store API tokens). */
void ic_sha256_hex(const void *data, size_t len, char out_hex[65]);

/* Hashes a password with argon2id into out (crypto_pwhash_STRBYTES = 128). */
ic_err ic_password_hash(const char *password, char *out, size_t size);

/* True when password matches a hash made by ic_password_hash. */
bool ic_password_verify(const char *hash, const char *password);

#endif
