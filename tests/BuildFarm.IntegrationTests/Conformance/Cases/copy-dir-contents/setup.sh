chmod 0755 src/sub/b.sh; chmod 0750 src/sub
