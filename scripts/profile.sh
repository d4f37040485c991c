#!/usr/bin/env bash
# Profiles the benchmark's server while one scenario runs (full-size windows): dotnet-counters (runtime counters) and
# dotnet-trace (CPU samples through perf_events, which needs root; thread-time samples otherwise) attach to the server
# process after a delay, for a while; the hottest methods of the server's own code and of the frameworks are printed.
#
#   scripts/profile.sh <scenario> <memory|redis> [delay-seconds] [seconds]
#
# e.g. scripts/profile.sh cost memory 5 8 profiles the first phase of the cost scenario (one subscriber at 2,000
# events/s, HubStreams) in memory mode. Files land in bench/profiles/ (not committed). Installs dotnet-trace and
# dotnet-counters if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:?scenario}; store=${2:?memory or redis}; delay=${3:-5}; seconds=${4:-8}
export PATH="$PATH:$HOME/.dotnet/tools"
for tool in dotnet-trace dotnet-counters; do
  command -v "$tool" >/dev/null || dotnet tool install -g "$tool" >/dev/null
done
dotnet build -c Release bench -v q -nologo >/dev/null
out=bench/profiles; mkdir -p "$out"; stamp=$(date -u +%Y%m%d-%H%M%S)
dotnet bench/bin/Release/net10.0/HubStreams.Bench.dll "$scenario" "--$store" >"$out/$stamp-bench.log" 2>&1 &
bench=$!
host=""
for _ in $(seq 1 300); do
  host=$(pgrep -f "HubStreams.Bench.dll host" | head -1 || true)
  [ -n "$host" ] && break
  sleep 0.1
done
[ -n "$host" ] || { echo "the benchmark server did not start"; kill "$bench"; exit 1; }
sleep "$delay"
duration=$(printf '00:00:00:%02d' "$seconds")
dotnet-counters collect -p "$host" --duration "$duration" --format csv -o "$out/$stamp-counters.csv" \
  --counters System.Runtime,HubStreams >/dev/null &
counters=$!
if [ "$(id -u)" = 0 ]; then
  dotnet-trace collect-linux -p "$host" --profile cpu-sampling --duration "$duration" -o "$out/$stamp.nettrace" >/dev/null
else
  dotnet-trace collect -p "$host" --profile dotnet-sampled-thread-time --duration "$duration" -o "$out/$stamp.nettrace" >/dev/null
fi
wait "$counters" || true
wait "$bench" || true
echo "trace: $out/$stamp.nettrace  counters: $out/$stamp-counters.csv  bench output: $out/$stamp-bench.log"
# Inclusive time, without the kernel's and the runtime's waiting frames.
dotnet-trace report "$out/$stamp.nettrace" topN -n 400 --inclusive | grep -v -E "vmlinux|libc|EventName|EventData|Wait|Semaphore|Activities|Threads" | head -80
