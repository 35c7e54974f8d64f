mkdir -p t/d/sub && echo f > t/d/sub/file && echo g > t/d/other && tar --owner=5 --group=6 --mtime=@0 -C t -cf a.tar d && rm -rf t
