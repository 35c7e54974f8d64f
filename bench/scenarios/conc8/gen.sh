#!/bin/sh
# usage: gen.sh CTX   (QUICK=1: a shorter loop). The CPU step spins a shell loop of $N iterations.
set -e; C=$1; N=${CPU_LOOP:-300000}; [ "${QUICK:-0}" = 1 ] && N=${CPU_LOOP:-100000}
mkdir -p "$C/src"; echo $N > "$C/src/n"; echo "late" > "$C/src/late.txt"
