/* config: defaults, memcached-compatible command-line flags, usage text;
 * the settings they fill are lib/settings.h. */
#ifndef MEMG_CONFIG_H
#define MEMG_CONFIG_H

#include "lib/settings.h"

/* Outcome of parsing the command line. */
enum config_result {
    CONFIG_OK = 0,     /* run the server */
    CONFIG_EXIT = 1,   /* -h or -V printed; exit 0 */
    CONFIG_ERROR = 2,  /* message printed to err; exit 64 as memcached (1 when
                          cfg->bad_option: getopt's unknown option, or
                          memcached's -o errors) */
};

void config_defaults(struct config *cfg);
/* Parse argv into cfg. Messages for -h/-V go to the file descriptor out,
 * errors (one line that names the flag) to err. --conf-file=PATH (anywhere
 * in argv) is read first, so that the command line overrides it: one or
 * more flags per line, '#' starts a comment; an error names PATH:LINE.
 * The file's text is kept for the process' life (cfg points into it). */
enum config_result config_parse(struct config *cfg, int argc, char **argv, int out, int err);
void config_usage(int out);
/* An -o ssl_* item (config_tls.c): false with why filled when its value is
 * wrong; *mine false (and true returned) when key is no ssl_* option. */
bool config_tls_ext(struct config_tls *t, const char *key, size_t klen, const char *val,
                    size_t vlen, bool *mine, char *why, size_t cap);
/* An -o word of memcached's table, connection, logger, slab and LRU
 * settings (config_ext.c): 1 taken (a notice may go to err), 0 not one of
 * these, -1 refused with why filled. */
int config_ext_word(struct config *cfg, const char *key, size_t klen, const char *val,
                    size_t vlen, int err, char *why, size_t cap);
/* The -o words' checks against other flags, once all are read: false with
 * why filled (memcached's words for slab_chunk_max against -I; exit 64). */
bool config_ext_check(const struct config *cfg, char *why, size_t cap);
/* Free the ssl_* strings (at exit). */
void config_tls_free(struct config_tls *t);

#endif
