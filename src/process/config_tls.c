/* config_tls: memcached's -o ssl_* options, with its names, values and
 * words. The strings are copied (the item ends at a comma, not a NUL) and
 * kept for the process' life, as the rest of the config. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lib/fmt.h"


static bool _is(const char *key, size_t klen, const char *name)
{
    return strlen(name) == klen && memcmp(key, name, klen) == 0;
}

/* A path or list: the value copied with its NUL; false when empty. */
static bool _str(const char *val, size_t vlen, const char **dst)
{
    if (!val || vlen == 0)
        return false;
    char *s = malloc(vlen + 1);
    if (!s)
        return false;
    memcpy(s, val, vlen);
    s[vlen] = '\0';
    *dst = s;
    return true;
}

/* One decimal digit in [0, max]. */
static bool _digit(const char *val, size_t vlen, int max, int *dst)
{
    if (!val || vlen != 1 || val[0] < '0' || val[0] > '0' + max)
        return false;
    *dst = val[0] - '0';
    return true;
}

void config_tls_free(struct config_tls *t)
{
    free((void *)t->chain_cert);
    free((void *)t->key);
    free((void *)t->ca_cert);
    free((void *)t->ciphers);
    t->chain_cert = t->key = t->ca_cert = t->ciphers = NULL;
}

bool config_tls_ext(struct config_tls *t, const char *key, size_t klen, const char *val,
                    size_t vlen, bool *mine, char *why, size_t cap)
{
    *mine = true;
    if (_is(key, klen, "ssl_chain_cert") || _is(key, klen, "ssl_key") ||
        _is(key, klen, "ssl_ca_cert") || _is(key, klen, "ssl_ciphers")) {
        const char **dst = key[5] == 'h' ? &t->chain_cert : key[4] == 'k' ? &t->key
                           : key[5] == 'a' ? &t->ca_cert : &t->ciphers;
        free((void *)*dst); /* given twice: the last one holds */
        *dst = NULL;
        if (_str(val, vlen, dst))
            return true;
        fmt_buf(why, cap, "%.*s needs a value", (int)klen, key);
        return false;
    }
    if (_is(key, klen, "ssl_verify_mode")) {
        if (_digit(val, vlen, 3, &t->verify_mode))
            return true;
        fmt_buf(why, cap, "Invalid ssl_verify_mode. Use help to see valid options.");
        return false;
    }
    if (_is(key, klen, "ssl_keyformat")) { /* memcached takes OpenSSL's number: 1 is PEM */
        if (val && vlen == 1 && val[0] == '1') {
            t->keyformat = 1;
            return true;
        }
        fmt_buf(why, cap, "Invalid ssl_keyformat: only 1 (PEM) is supported");
        return false;
    }
    if (_is(key, klen, "ssl_min_version")) {
        for (int i = 0; val && i < 4; i++)
            if (_is(val, vlen, config_tls_version_name(i))) {
                t->min_version = i;
                return true;
            }
        fmt_buf(why, cap, "could not parse argument to ssl_min_version");
        return false;
    }
    if (_is(key, klen, "ssl_session_cache") || _is(key, klen, "ssl_kernel_tls")) {
        *(key[4] == 's' ? &t->session_cache : &t->kernel_tls) = true;
        return true;
    }
    *mine = false;
    return true;
}
