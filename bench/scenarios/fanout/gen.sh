#!/bin/sh
# usage: gen.sh CTX   (QUICK=1: shorter loops). One context for the six fan-out Dockerfiles (Dockerfile.1 … .6):
# common/ for the shared base stage, app1/ … app6/ for each Dockerfile's own build stage.
set -e; C=$1; N=${CPU_LOOP:-150000}; [ "${QUICK:-0}" = 1 ] && N=${CPU_LOOP:-40000}
mkdir -p "$C/common"; echo $N > "$C/common/n"; echo "shared library" > "$C/common/lib.txt"
for k in 1 2 3 4 5 6; do mkdir -p "$C/app$k"; echo "app $k source" > "$C/app$k/main.txt"; done
