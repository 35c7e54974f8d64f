#!/usr/bin/env bash
# Client start of `buildfarm build`, native (client/, Native AOT) vs managed (cli/, ReadyToRun) vs the docker CLI:
# time to the first byte on the socket, warm build wall time through a running serve, JIT counts (issue 16).
#   bench/client-start.sh [--runs N]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
# the layout README describes: the managed CLI in out/buildfarm, the native client as out/buildfarm/bin/buildfarm
dotnet publish cli/BuildFarm.Cli.csproj -c Release --use-current-runtime --self-contained false -o out/buildfarm -nologo -v q
dotnet publish client/BuildFarm.Client.csproj -c Release -o out/buildfarm/bin -nologo -v q
exec python3 bench/client_start.py out/buildfarm/bin/buildfarm out/buildfarm/buildfarm.dll "$@"
