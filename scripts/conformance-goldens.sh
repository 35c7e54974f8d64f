#!/usr/bin/env bash
# The conformance suite (tests/BuildFarm.IntegrationTests/Conformance: Cases/ and Calls/) against BuildKit.
#   scripts/conformance-goldens.sh            # regenerate every golden.txt from BuildKit (starts scripts/buildkit-peer.sh)
#   scripts/conformance-goldens.sh --live     # build each case with both builders side by side, compare live, write nothing
#   scripts/conformance-goldens.sh --golden   # what CI runs: BuildFarm against the committed goldens, no daemon
# BUILDFARM_CONFORMANCE_CASES=a,b limits the run to those cases.
set -euo pipefail
cd "$(dirname "$0")/.."
case ${1:-} in
  "") mode=regenerate ;;
  --live) mode=live ;;
  --golden) mode=golden ;;
  *) echo "usage: $0 [--live|--golden]" >&2; exit 2 ;;
esac
[ "$mode" = golden ] || scripts/buildkit-peer.sh start >/dev/null
dotnet build BuildFarm.sln -c Release -nologo -v q
BUILDFARM_CONFORMANCE=$mode dotnet test tests/BuildFarm.IntegrationTests -c Release --no-build -nologo \
  --filter "FullyQualifiedName~Conformance.ConformanceSuiteTests|FullyQualifiedName~Conformance.CallsConformanceTests.Outline_and_targets_print_what_buildx_prints" --logger "console;verbosity=detailed" |
  sed -n '/Standard Output Messages:/,/^$/p' | sed '1d'
