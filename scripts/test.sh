#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine with the .NET SDK: installs what the tests need and the machine
# lacks (redis-server, Chromium, nginx, docker-compose), runs every test, and prints "N passed, N failed",
# counted from the run's own TRX results. Exits non-zero when a test failed or none ran.
set -uo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing what the tests need: ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "Run as root, or install them first: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  apt-get update || exit 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" || exit 1
fi

# The JavaScript client's own dependencies (the SignalR client it is tested with, and TypeScript for its declarations).
if [ ! -d clients/js/node_modules/@microsoft/signalr ]; then
  command -v npm >/dev/null 2>&1 || { echo "npm is needed for the JavaScript client's tests (Debian: apt-get install -y npm)." >&2; exit 1; }
  (cd clients/js && npm ci --no-audit --no-fund) || exit 1
fi

# The AI SDK (the published `ai` package) that reads the UI message stream routes in their tests.
if [ ! -d tests/ai-sdk/node_modules/ai ]; then
  (cd tests/ai-sdk && npm ci --no-audit --no-fund) || exit 1
fi

rm -rf TestResults
dotnet test HubStreams.sln --logger trx --results-directory TestResults
status=$?

# Count what really ran, from the run's own TRX files.
passed=0
failed=0
for trx in TestResults/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(echo "$counters" | grep -o ' passed="[0-9]*"' | grep -o '[0-9]*')
  f=$(echo "$counters" | grep -o ' failed="[0-9]*"' | grep -o '[0-9]*')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done
# The fault tests' measurements: gaps, duplicates, switch times, retries, stop latency.
grep -h -o -E "(failover|exactly-once|stop latency): .*" TestResults/*.trx 2>/dev/null | sed -e 's|</StdOut>.*||' -e 's/&gt;/>/g' -e 's/&lt;/</g' -e 's/&amp;/\&/g' || true
# The tests that ran on a real Redis Cluster (their classes are named for it), counted from the same files.
cluster_passed=$(grep -h -o '<UnitTestResult [^>]*testName="[^"]*Cluster[^"]*"[^>]*outcome="Passed"' TestResults/*.trx 2>/dev/null | wc -l)
cluster_failed=$(grep -h -o '<UnitTestResult [^>]*testName="[^"]*Cluster[^"]*"[^>]*outcome="Failed"' TestResults/*.trx 2>/dev/null | wc -l)
echo "on a Redis Cluster: ${cluster_passed} passed, ${cluster_failed} failed"
echo "${passed} passed, ${failed} failed"
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "No test ran." >&2
  exit 1
fi
exit "$status"
