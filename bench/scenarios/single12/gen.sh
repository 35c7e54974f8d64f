#!/bin/sh
# usage: gen.sh CTX   — 20+20 small files of fixed content, and late/.
set -e; C=$1; mkdir -p "$C/a" "$C/b" "$C/late"
for i in $(seq 1 20); do
  n=$(printf %02d "$i")
  head -c 4096 /dev/zero | tr '\0' "a" | sed "s/^/$n /" > "$C/a/f$n.txt"
  seq 1 $((i * 50)) > "$C/b/f$n.txt"
done
echo v0 > "$C/late/version.txt"; echo fixed > "$C/late/other.txt"
