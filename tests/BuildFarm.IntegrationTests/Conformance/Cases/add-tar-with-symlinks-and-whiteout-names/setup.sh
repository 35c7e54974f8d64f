mkdir t && echo x > t/x && ln -s x t/sym && ln t/x t/hard && echo w > t/.wh.name && tar --owner=0 --group=0 --mtime=@0 -C t -cf t.tar . && rm -rf t
