mkdir -p t/d/sub && echo f > t/d/sub/file && tar --owner=0 --group=0 --mtime=@0 -C t -cf a.tar d/sub/file && rm -rf t
