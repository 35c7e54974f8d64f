#!/bin/sh
# usage: gen.sh CTX
set -e; echo "late" > "$1/late.txt"
