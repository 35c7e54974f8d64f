#!/bin/sh
set -e; C=$1; mkdir -p "$C/app"
for i in $(seq 1 50); do seq 1 $((i * 20)) > "$C/app/m$(printf %02d "$i").txt"; done
echo v0 > "$C/app/zz-late.txt"
