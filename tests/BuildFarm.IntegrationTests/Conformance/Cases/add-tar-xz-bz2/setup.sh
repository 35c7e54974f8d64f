mkdir t && echo x > t/x && tar --owner=0 --group=0 --mtime=@0 -C t -cJf a.tar.xz x && tar --owner=0 --group=0 --mtime=@0 -C t -cjf b.tar.bz2 x && rm -rf t
