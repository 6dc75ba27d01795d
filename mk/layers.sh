#!/bin/sh
# layers.sh [SRC]: the #include lines of SRC (src/) against the layer order
# (docs/DESIGN.md, "Layers"). Fails on an include that runs back up a layer
# or sideways between siblings, a protocol that includes the store, a private
# header included from outside its folder, or a circle of headers.
# Prints nothing when all is well.
set -e
SRC=${1:-src}
# The layers, top to bottom (the one place the order is written); folders
# separated by spaces share a floor and may not include each other.
ORDER='main | process | conn | proto/text proto/bin proto/http | proto | ops | store | lib'
# Includes that point down but skip the layer in between.
SKIP_BANNED='proto/text>store proto/bin>store proto/http>store proto>store'
# Headers only their own folder (and the unit tests) may include.
PRIVATE='store/seg.h store/ht.h store/ghost.h'

find "$SRC" -name '*.[ch]' | sort | while read -r f; do
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
        while read -r inc; do
            d=$(dirname "$f")
            if [ -f "$d/$inc" ]; then t="$d/$inc"; elif [ -f "$SRC/$inc" ]; then t="$SRC/$inc"
            else t="?$inc"; fi
            echo "$f $t"
        done
done | awk -v src="$SRC" -v order="$ORDER" -v banned="$SKIP_BANNED" -v private="$PRIVATE" '
function rel(p) { sub("^" src "/", "", p); gsub("/\\./", "/", p); return p }
function unit(p,   n, a) {
    n = split(rel(p), a, "/")
    if (n == 1) return "main"
    if (a[1] == "proto" && n == 3) return "proto/" a[2]
    return a[1]
}
BEGIN {
    nf = split(order, fl, "|")
    for (i = 1; i <= nf; i++) { m = split(fl[i], us, " "); for (j = 1; j <= m; j++) floor_[us[j]] = i }
    nb = split(banned, bs, " "); for (i = 1; i <= nb; i++) ban[bs[i]] = 1
    np = split(private, ps, " "); for (i = 1; i <= np; i++) priv[ps[i]] = 1
}
{
    f = $1; t = $2
    if (t ~ /^\?/) { printf "%s: includes %s, found neither beside it nor under %s/\n", f, substr(t, 2), src; bad = 1; next }
    uf = unit(f); ut = unit(t)
    if (!(uf in floor_) || !(ut in floor_)) { printf "%s: folder %s or %s is not in the layer order (mk/layers.sh)\n", f, uf, ut; bad = 1; next }
    if (floor_[ut] < floor_[uf]) { printf "%s -> %s: back up a layer (%s is above %s)\n", rel(f), rel(t), ut, uf; bad = 1 }
    else if (floor_[ut] == floor_[uf] && ut != uf) { printf "%s -> %s: sideways (%s and %s share a floor)\n", rel(f), rel(t), uf, ut; bad = 1 }
    if ((uf ">" ut) in ban) { printf "%s -> %s: %s may not use %s directly\n", rel(f), rel(t), uf, ut; bad = 1 }
    if ((rel(t) in priv) && unit(t) != uf) { printf "%s -> %s: private to %s\n", rel(f), rel(t), ut; bad = 1 }
    if (t ~ /\.h$/ && f ~ /\.h$/) { edge[f] = edge[f] " " t }
}
function visit(h,   k, n, a) {
    if (state[h] == 1) { printf "circle of headers through %s\n", rel(h); bad = 1; return }
    if (state[h] == 2) return
    state[h] = 1
    n = split(edge[h], a, " ")
    for (k = 1; k <= n; k++) visit(a[k])
    state[h] = 2
}
END {
    for (h in edge) visit(h)
    exit bad
}'
