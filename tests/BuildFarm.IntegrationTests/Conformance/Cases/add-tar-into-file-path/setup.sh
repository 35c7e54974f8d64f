mkdir t && echo x > t/x && tar --owner=0 --group=0 --mtime=@0 -C t -cf a.tar x && rm -rf t
