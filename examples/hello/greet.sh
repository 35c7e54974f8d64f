#!/bin/sh
echo "Hello from a BuildFarm image!"
