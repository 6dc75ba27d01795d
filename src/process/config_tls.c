/* config_tls: memcached's -o ssl_* options, with its names, values and
 * words. The strings are copied (the item ends at a comma, not a NUL) and
 * kept for the process' life, as the rest of the config. */
#include <errno.h>
#include <stdint.h>
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

/* A decimal number as memcached's safe_strtol takes it (sign, digits). */
static bool _number(const char *val, size_t vlen, long *dst)
{
    char tmp[24];
    if (!val || vlen == 0 || vlen >= sizeof(tmp))
        return false;
    memcpy(tmp, val, vlen);
    tmp[vlen] = '\0';
    char *end;
    errno = 0;
    *dst = strtol(tmp, &end, 10);
    return errno == 0 && end != tmp && *end == '\0';
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
    if (_is(key, klen, "ssl_min_version")) { /* memcached's numbers: 0 tlsv1.0 .. 3 tlsv1.3 */
        long v;
        if (!_number(val, vlen, &v)) {
            fmt_buf(why, cap, "could not parse argument to ssl_min_version");
            return false;
        }
        if (v < 0 || v > 3) {
            fmt_buf(why, cap, "Invalid ssl_min_version. Use help to see valid options.");
            return false;
        }
        t->min_version = (int)v;
        return true;
    }
    if (_is(key, klen, "ssl_wbuf_size")) { /* kilobytes, as memcached's */
        long v;
        if (!_number(val, vlen, &v) || v < 1 || v > (long)(UINT32_MAX / 1024)) {
            fmt_buf(why, cap, "could not parse argument to ssl_wbuf_size");
            return false;
        }
        t->wbuf_size = (uint32_t)v * 1024;
        return true;
    }
    if (_is(key, klen, "ssl_session_cache") || _is(key, klen, "ssl_kernel_tls")) {
        *(key[4] == 's' ? &t->session_cache : &t->kernel_tls) = true;
        return true;
    }
    *mine = false;
    return true;
}
