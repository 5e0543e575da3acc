#!/usr/bin/env bash
# Builds RealtimeConsole and runs every test, browser tests included.
# On a fresh machine it first installs what is missing (Debian's chromium, redis-server, nodejs and npm when run as
# root; the OpenAI Node SDK with npm ci). Tests that need Redis start their own redis-server on a free loopback port.
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

if [ ! -x /usr/bin/redis-server ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "test.sh: installing Debian's redis-server for the shared-store tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    # Each test starts its own redis-server; the packaged service is not needed.
    (systemctl disable --now redis-server || service redis-server stop) >/dev/null 2>&1 || true
  else
    echo "test.sh: /usr/bin/redis-server is missing; run as root once (or: sudo apt-get install redis-server)" >&2
    exit 1
  fi
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$(id -u)" = "0" ]; then
    echo "test.sh: installing Debian's nodejs and npm for the OpenAI Node SDK tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "test.sh: node and npm are missing; run as root once (or: sudo apt-get install nodejs npm)" >&2
    exit 1
  fi
fi

# The official OpenAI Node SDK, at the version pinned in package-lock.json, for the tests that point it at the simulator.
for attempt in 1 2 3; do
  npm ci --prefix RealtimeConsole.Tests/NodeSdk --no-audit --no-fund --loglevel=error && break
  [ "$attempt" = 3 ] && { echo "test.sh: npm ci failed three times; is the npm registry reachable?" >&2; exit 1; }
  sleep 5
done

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
