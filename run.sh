#!/usr/bin/env bash
# The main job: build examples/ on this machine (embedded coordinator + worker, local cache).
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh
dotnet build cli/BuildFarm.Cli.csproj -c Release -nologo -v q
exec dotnet cli/bin/Release/net10.0/buildfarm.dll plan -f examples/hello/Dockerfile examples/hello
