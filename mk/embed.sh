#!/bin/sh
# embed.sh FILE NAME: FILE as the C arrays NAME (as it is) and NAME_gz
# (gzip -9, no name or time: the same bytes every build), each with its
# length NAME_len and NAME_gz_len.
set -e
_array() {
    printf 'const unsigned char %s[] = {\n' "$1"
    od -An -v -tu1 | sed 's/^ *//; s/  */,/g; s/$/,/'
    printf '};\nconst size_t %s_len = sizeof(%s);\n' "$1" "$1"
}
printf '#include "proto/http/http.h"\n'
_array "$2" < "$1"
gzip -9 -n -c "$1" | _array "$2_gz"
