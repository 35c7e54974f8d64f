#!/bin/sh
# usage: gen.sh CTX   (QUICK=1: a shorter loop). Each stage spins a shell loop of $N iterations.
set -e; C=$1; N=${CPU_LOOP:-400000}; [ "${QUICK:-0}" = 1 ] && N=${CPU_LOOP:-100000}
for s in 1 2 3; do mkdir -p "$C/src$s"; echo $N > "$C/src$s/n"; echo "stage $s" > "$C/src$s/data.txt"; done
