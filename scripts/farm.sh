#!/usr/bin/env bash
# A HubStreams web farm on one machine, with no Docker: redis-server, two server processes in redis
# mode on loopback ports, and nginx in front with the routing of scripts/nginx.conf.
#
#   scripts/farm.sh up             build, start everything, print the balancer's URL
#   scripts/farm.sh up --cluster   the same on a Redis Cluster of three primaries instead of one Redis
#   scripts/farm.sh status         what runs, by pid
#   scripts/farm.sh down           stop exactly the processes "up" started
#
# Settings (environment): FARM_DIR (.farm), FARM_PORT (8080, the balancer), FARM_NODE_PORTS ("5101 5102"),
# FARM_REDIS_PORT (6390), FARM_APPENDONLY (yes), FARM_SERVER_DLL (a built HubStreams.Server.dll to run
# instead of building one), DEMO_ENABLED (true: a local farm is for trying the page), AUTH_MODE (none).
# With --cluster: FARM_CLUSTER_PORTS ("7001 7002 7003") and their cluster bus ports FARM_CLUSTER_BUS_PORTS
# ("17001 17002 17003"); the nodes get every cluster node as a seed in REDIS_ADDR.
# The nodes trust the balancer's X-Forwarded-For (TRUSTED_PROXIES=127.0.0.1). Needs dotnet, redis-server
# (and redis-cli for --cluster) and nginx. "up" refuses a port that is in use, naming the setting that moves it, and
# "status" reports the ports "up" used.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${FARM_DIR:-$root/.farm}
port=${FARM_PORT:-8080}
node_ports=(${FARM_NODE_PORTS:-5101 5102})
redis_port=${FARM_REDIS_PORT:-6390}
appendonly=${FARM_APPENDONLY:-yes}
cluster_ports=(${FARM_CLUSTER_PORTS:-7001 7002 7003})
cluster_bus_ports=(${FARM_CLUSTER_BUS_PORTS:-17001 17002 17003})

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Whether something already listens on a loopback port.
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Refuses to start when a port the farm needs is taken, naming the setting that moves it.
ensure_free() { # setting, ports...
  local setting=$1 taken
  shift
  for taken in "$@"; do
    if in_use "$taken"; then
      echo "farm: port $taken ($setting) is in use on this machine: set $setting to a free port (or ports), then run up again" >&2
      exit 1
    fi
  done
}

wait_for() { # url, seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "farm: $1 did not answer within $2 s" >&2
  return 1
}

# One Redis, in the foreground of its own process; its pid in redis.pid.
start_redis() {
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir/redis" --appendonly "$appendonly" --save "" \
    --daemonize no >"$dir/logs/redis.log" 2>&1 &
  echo $! >"$dir/redis.pid"
  redis_addr="127.0.0.1:$redis_port"
}

# Three cluster-enabled redis-servers joined by redis-cli into one cluster that covers every slot.
start_cluster() {
  local i=0 seeds=() endpoints=()
  for node_port in "${cluster_ports[@]}"; do
    mkdir -p "$dir/redis/$node_port"
    redis-server --port "$node_port" --bind 127.0.0.1 --dir "$dir/redis/$node_port" --appendonly "$appendonly" --save "" \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-port "${cluster_bus_ports[$i]}" \
      --daemonize no >"$dir/logs/redis-$node_port.log" 2>&1 &
    echo $! >"$dir/redis-$node_port.pid"
    endpoints+=("127.0.0.1:$node_port")
    i=$((i + 1))
  done
  for node_port in "${cluster_ports[@]}"; do
    for _ in $(seq 1 100); do redis-cli -p "$node_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  redis-cli --cluster create "${endpoints[@]}" --cluster-replicas 0 --cluster-yes >"$dir/logs/cluster-create.log" 2>&1 \
    || { cat "$dir/logs/cluster-create.log" >&2; exit 1; }
  for node_port in "${cluster_ports[@]}"; do
    for _ in $(seq 1 100); do
      redis-cli -p "$node_port" cluster info 2>/dev/null | grep -q "cluster_state:ok" && break
      sleep 0.1
    done
  done
  redis_addr=$(IFS=,; echo "${endpoints[*]}")
}

up() {
  local cluster=no
  [ "${1:-}" = "--cluster" ] && cluster=yes
  local tools=(dotnet redis-server nginx curl)
  [ $cluster = yes ] && tools+=(redis-cli)
  for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || { echo "farm: $tool is not installed" >&2; exit 1; }
  done
  local pidfile
  for pidfile in "$dir"/redis*.pid; do
    alive "$pidfile" || continue
    echo "farm: already up (scripts/farm.sh status)" >&2
    exit 1
  done
  ensure_free FARM_PORT "$port"
  ensure_free FARM_NODE_PORTS "${node_ports[@]}"
  if [ $cluster = yes ]; then
    ensure_free FARM_CLUSTER_PORTS "${cluster_ports[@]}"
    ensure_free FARM_CLUSTER_BUS_PORTS "${cluster_bus_ports[@]}"
  else
    ensure_free FARM_REDIS_PORT "$redis_port"
  fi
  mkdir -p "$dir/app" "$dir/redis" "$dir/nginx/logs" "$dir/logs"

  local server_dll=${FARM_SERVER_DLL:-}
  if [ -z "$server_dll" ]; then
    echo "farm: building the server..."
    dotnet build "$root/server/HubStreams.Server/HubStreams.Server.csproj" -c Release -o "$dir/app" --nologo -v quiet >"$dir/logs/build.log" 2>&1 \
      || { cat "$dir/logs/build.log" >&2; exit 1; }
    server_dll="$dir/app/HubStreams.Server.dll"
  fi

  local redis_addr
  if [ $cluster = yes ]; then start_cluster; else start_redis; fi

  local upstreams="" i=1
  for node_port in "${node_ports[@]}"; do
    ASPNETCORE_URLS="http://127.0.0.1:$node_port" ASPNETCORE_ENVIRONMENT=Production \
      STREAM_MANAGER_TYPE=redis REDIS_ADDR="$redis_addr" DEMO_ENABLED="${DEMO_ENABLED:-true}" AUTH_MODE="${AUTH_MODE:-none}" TRUSTED_PROXIES=127.0.0.1 \
      dotnet "$server_dll" >"$dir/logs/node$i.log" 2>&1 &
    echo $! >"$dir/node$i.pid"
    upstreams+="    server 127.0.0.1:$node_port max_fails=1 fail_timeout=5s;"$'\n'
    i=$((i + 1))
  done

  # scripts/nginx.conf with the nodes on loopback, and files kept inside the farm's folder.
  sed -e "/server node[0-9]*:8080/d" \
      -e "s|ip_hash;|ip_hash;\n${upstreams//$'\n'/\\n}|" \
      -e "s|listen 80;|listen 127.0.0.1:$port;|" \
      -e "s|access_log /dev/stdout upstream;|access_log $dir/nginx/logs/access.log upstream;\n  error_log $dir/nginx/logs/error.log;\n  client_body_temp_path $dir/nginx/body;\n  proxy_temp_path $dir/nginx/proxy;|" \
      "$root/scripts/nginx.conf" >"$dir/nginx/nginx.conf"
  sed -i "1i pid $dir/nginx/nginx.pid;\nerror_log $dir/nginx/logs/error.log;" "$dir/nginx/nginx.conf"
  nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -g "daemon off;" >"$dir/logs/nginx.log" 2>&1 &
  echo $! >"$dir/balancer.pid"

  for node_port in "${node_ports[@]}"; do
    wait_for "http://127.0.0.1:$node_port/readyz" 60
  done
  wait_for "http://127.0.0.1:$port/healthz" 20
  local redis_ports
  if [ $cluster = yes ]; then redis_ports="cluster ${cluster_ports[*]}"; else redis_ports=":$redis_port"; fi
  # What "status" reports, whatever the environment it runs in.
  printf 'balancer=%s\nnodes=%s\nredis=%s\n' "http://127.0.0.1:$port" "${node_ports[*]}" "$redis_ports" >"$dir/farm.env"
  echo "farm: up: redis $redis_ports, nodes ${node_ports[*]}, balancer"
  echo "http://127.0.0.1:$port"
}

status() {
  local any=0
  for pidfile in "$dir"/redis*.pid "$dir"/node*.pid "$dir"/balancer.pid; do
    [ -f "$pidfile" ] || continue
    any=1
    local name
    name=$(basename "$pidfile" .pid)
    if alive "$pidfile"; then echo "$name: running (pid $(cat "$pidfile"))"; else echo "$name: stopped"; fi
  done
  if [ $any -eq 0 ]; then
    echo "farm: not up"
  elif [ -f "$dir/farm.env" ]; then
    # The ports "up" used, not the ones this shell's FARM_* settings would give.
    sed -e 's/^balancer=/balancer URL: /' -e 's/^nodes=/node ports: /' -e 's/^redis=/redis: /' "$dir/farm.env"
  fi
}

down() {
  for pidfile in "$dir"/balancer.pid "$dir"/node*.pid "$dir"/redis*.pid; do
    [ -f "$pidfile" ] || continue
    local pid
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  rm -f "$dir/farm.env"
  echo "farm: down"
}

case "${1:-}" in
  up) up "${2:-}" ;;
  status) status ;;
  down) down ;;
  *) echo "usage: scripts/farm.sh up [--cluster]|down|status" >&2; exit 2 ;;
esac
