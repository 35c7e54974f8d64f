#!/usr/bin/env bash
# Runs every test project of BuildFarm and ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
results=$(mktemp -d)
# The live BuildKit comparisons start the shared BuildKit peer (scripts/buildkit-peer.sh) when it is not running: a run
# that started it stops it.
peer_was_running=0
./scripts/buildkit-peer.sh status 2>/dev/null | grep -q '^running' && peer_was_running=1
finish() {
  rm -rf "$results"
  [ "$peer_was_running" -eq 1 ] || ./scripts/buildkit-peer.sh stop >/dev/null 2>&1 || true
}
trap finish EXIT
if ! dotnet build BuildFarm.sln -c Release -nologo -v q; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
passed=0; failed=0; skipped=0; failures=""
for proj in tests/*/*.csproj; do
  name=$(basename "$proj" .csproj)
  dotnet test "$proj" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" "$@"
  trx="$results/$name.trx"
  if [ ! -f "$trx" ]; then
    echo "$name: the test host produced no results (crashed?)"
    failed=$((failed + 1)); continue
  fi
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
  echo "$name: ${p:-0} passed, ${f:-0} failed"
  # CI shows only the end of a run: name each failed test there
  failures+=$(grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$trx" | sed -n 's/.* testName="\([^"]*\)".*/FAILED \1/p')$'\n'
done
failures=$(grep -v '^$' <<<"$failures")
[ -n "$failures" ] && echo "$failures"
echo "skipped: ${skipped}"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
