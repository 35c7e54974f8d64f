mkdir -p empty nest/inner
