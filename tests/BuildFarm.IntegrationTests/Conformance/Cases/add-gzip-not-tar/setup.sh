printf 'plain text, gzipped\n' | gzip -n > notes.txt.gz
