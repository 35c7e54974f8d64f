ln -s real d/rel-link; ln -s /abs/target d/abs-link; ln -s target link
