#include "base/crypto.h"

#include "base/str.h"

#include <sodium.h>
#include <string.h>

ic_err ic_crypto_init(void)
{
    return sodium_init() < 0 ? IC_ERR_INTERNAL : IC_OK;
}

void ic_hmac_sha256_hex(const char *key, size_t keylen, const void *msg, size_t len,
                        char out_hex[65])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, keylen);
    crypto_auth_hmacsha256_update(&st, msg, len);
    crypto_auth_hmacsha256_final(&st, mac);
    ic_hex_encode(mac, sizeof mac, out_hex);
}

bool ic_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return false;
    return sodium_memcmp(a, b, alen) == 0;
}

void ic_random_hex(char *out, size_t nbytes)
{
    unsigned char tmp[64];
    size_t done = 0;
    while (done < nbytes) {
        size_t k = nbytes - done < sizeof tmp ? nbytes - done : sizeof tmp;
        randombytes_buf(tmp, k);
        ic_hex_encode(tmp, k, out + 2 * done);
        done += k;
    }
    out[2 * nbytes] = '\0';
}

void ic_api_token_new(char token[64], char sha[65])
{
    memcpy(token, "ic_", 3);
    ic_random_hex(token + 3, 24);
    ic_sha256_hex(token, strlen(token), sha);
}

void ic_sha256_hex(const void *data, size_t len, char out_hex[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, len);
    ic_hex_encode(h, sizeof h, out_hex);
}

ic_err ic_password_hash(const char *password, char *out, size_t size)
{
    if (size < crypto_pwhash_STRBYTES)
        return IC_ERR_INVALID;
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return IC_ERR_INTERNAL;
    return IC_OK;
}

bool ic_password_verify(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}
