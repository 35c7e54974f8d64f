#!/bin/sh
# usage: gen.sh CTX   — FILES files (default 20000; QUICK=1: 2000) in directories of 100.
set -e; C=$1; F=${FILES:-20000}; [ "${QUICK:-0}" = 1 ] && F=${FILES:-2000}
python3 - "$C" "$F" <<'PY'
import os, sys, hashlib
c, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(c, "files", "d%03d" % (i // 100))
    if i % 100 == 0: os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "w") as f:
        f.write(hashlib.sha256(str(i).encode()).hexdigest() * (1 + i % 8) + "\n")
PY
echo v0 > "$C/files/zz-late.txt"
