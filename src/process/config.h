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
                          cfg->bad_option: getopt's unknown option) */
};

void config_defaults(struct config *cfg);
/* Parse argv into cfg. Messages for -h/-V go to the file descriptor out,
 * errors (one line that names the flag) to err. --conf-file=PATH (anywhere
 * in argv) is read first, so that the command line overrides it: one or
 * more flags per line, '#' starts a comment; an error names PATH:LINE.
 * The file's text is kept for the process' life (cfg points into it). */
enum config_result config_parse(struct config *cfg, int argc, char **argv, int out, int err);
void config_usage(int out);

#endif
