#!/bin/sh
# mk/layers.sh must pass a tree that follows the layer order and name each
# kind of wrong include in one that does not.
set -e
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mkdir -p "$d/lib" "$d/ops" "$d/store" "$d/proto/text" "$d/proto/bin"
touch "$d/lib/fmt.h" "$d/store/store.h" "$d/store/seg.h" "$d/proto/text/proto.h"
printf '#include "lib/fmt.h"\n#include "store/store.h"\n' > "$d/ops/ops.h"
printf '#include "ops.h"\n' > "$d/ops/ops.c"
sh mk/layers.sh "$d" || { echo "layers_selftest: a tree in order was refused"; exit 1; }
printf '#include "ops/ops.h"\n' > "$d/lib/up.c"
printf '#include "proto/text/proto.h"\n' > "$d/proto/bin/side.c"
printf '#include "store/store.h"\n' > "$d/proto/text/skip.c"
printf '#include "store/seg.h"\n' > "$d/ops/peek.c"
printf '#include "b.h"\n' > "$d/store/a.h"
printf '#include "a.h"\n' > "$d/store/b.h"
if out=$(sh mk/layers.sh "$d"); then
    echo "layers_selftest: a tree out of order passed"
    exit 1
fi
for want in 'back up a layer' 'sideways' 'may not use store' 'private to store' 'circle of headers'; do
    echo "$out" | grep -q "$want" || { echo "layers_selftest: no \"$want\" in:"; echo "$out"; exit 1; }
done
echo "layers_selftest: 5 kinds of wrong include found, a tree in order passed"
