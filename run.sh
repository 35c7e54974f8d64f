#!/usr/bin/env bash
# The main job: build examples/hello on this machine (through the home's resident engine, which the first build
# starts in the background: coordinator + worker, local cache under $BUILDFARM_HOME, default ~/.buildfarm) and run
# the image it makes with runc.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh
./scripts/make-busybox-rootfs.sh
# A ReadyToRun publish: precompiled, so a cached rebuild does not wait for the JIT (`dotnet build cli` works too).
dotnet publish cli/BuildFarm.Cli.csproj -c Release --use-current-runtime --self-contained false -o out/buildfarm -nologo -v q
buildfarm() { dotnet out/buildfarm/buildfarm.dll "$@"; }
buildfarm build -t hello:latest --iidfile /tmp/buildfarm-hello.iid examples/hello
echo "--- buildfarm run hello:latest"
buildfarm run hello:latest
echo "--- a second build changes nothing, so every step is CACHED:"
buildfarm build --progress plain -t hello:latest examples/hello 2>&1 | grep -E '^#[0-9]+ (\[|CACHED)|writing image|steps executed'
buildfarm images
echo "--- the resident engine that served both builds (it would stop itself after 30 idle minutes):"
buildfarm serve --status
buildfarm serve --stop
