#!/bin/sh
# embed.sh FILE NAME: FILE gzip-compressed (-9, no name or time: the same
# bytes every build) as the C array NAME and its length NAME_len.
set -e
printf '#include "proto/http/http.h"\nconst unsigned char %s[] = {\n' "$2"
gzip -9 -n -c "$1" | od -An -v -tu1 | sed 's/^ *//; s/  */,/g; s/$/,/'
printf '};\nconst size_t %s_len = sizeof(%s);\n' "$2" "$2"
