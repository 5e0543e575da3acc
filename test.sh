#!/usr/bin/env bash
# Builds RealtimeConsole and runs every test, browser tests included.
# On a fresh machine it first installs what is missing (Debian's chromium, when run as root).
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "test.sh: installing Debian's chromium for the browser tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    echo "test.sh: /usr/bin/chromium is missing; run as root once (or: sudo apt-get install chromium)" >&2
    exit 1
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build RealtimeConsole.sln -c Release -nologo -clp:ErrorsOnly

results=$(mktemp -d)
status=0
dotnet test RealtimeConsole.sln -c Release --no-build -nologo \
  --logger "trx;LogFileName=results.trx" --results-directory "$results" \
  --blame-hang-timeout 5m "$@" || status=$?

# One plain closing line, counted from the test results.
if [ -f "$results/results.trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$results/results.trx" | head -1)
  passed=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  failed=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  echo "tests: ${passed:-0} passed, ${failed:-0} failed"
fi
exit $status
