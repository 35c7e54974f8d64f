printf 'd\n' > ./-dash
