ln d/one d/two
