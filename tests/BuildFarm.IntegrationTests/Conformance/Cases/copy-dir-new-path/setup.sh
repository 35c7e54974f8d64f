chmod 0700 src
