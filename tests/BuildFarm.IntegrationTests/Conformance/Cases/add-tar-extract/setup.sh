mkdir -p t/dir && echo one > t/dir/one && echo two > t/two && chmod 0600 t/two
tar --owner=7 --group=8 --numeric-owner --mtime=@0 -C t -cf plain.tar dir two
tar --owner=0 --group=0 --mtime=@0 -C t -czf comp.tar.gz . && rm -rf t
