#!/usr/bin/env bash
# Start time and idle memory, as a new user meets them: for embedded (first start on an
# empty data directory, then a restart) and PostgreSQL (first start on an empty database,
# then a restart), the seconds from spawning the server to its first 200 on /health, its
# RSS after 20 s idle, and the CPU it then takes idle over IDLE_CPU_SECONDS (30): with
# nobody connected, what its timers and the job queue's polling cost (on PGlite every
# query runs in the server's own process).
#
#   bash bench/start-measure.sh                      this checkout, what `npm start` runs
#   bash bench/start-measure.sh /path/to/checkout    another checkout (before/after)
#   DATABASE_URL=postgres://…/test                   where the PostgreSQL runs make their database
#
# The server command is the checkout's compiled server (dist/server/main.mjs) when it has
# one, else `node --import tsx src/main.ts` (checkouts from before the build step).
set -euo pipefail
dir=$(cd "${1:-$(dirname "$0")/..}" && pwd)
admin=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
if [ -f "$dir/dist/server/main.mjs" ]; then cmd=(node dist/server/main.mjs); else cmd=(node --import tsx src/main.ts); fi
idle_cpu_seconds=${IDLE_CPU_SECONDS:-30}
hz=$(getconf CLK_TCK)
# utime + stime of the process, all its threads, in clock ticks (/proc/PID/stat, fields 14 and 15).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

measure() { # label, env...
  local label=$1; shift
  local port=$((20000 + RANDOM % 10000))
  local start end pid rss
  start=$(date +%s.%N)
  (cd "$dir" && exec env PORT=$port LOG_LEVEL=warn "$@" "${cmd[@]}") >"$tmp/$label.log" 2>&1 &
  pid=$!
  until curl -sf "localhost:$port/health" >/dev/null; do
    kill -0 $pid 2>/dev/null || { cat "$tmp/$label.log" >&2; exit 1; }
    sleep 0.05
  done
  end=$(date +%s.%N)
  sleep 20
  rss=$(ps -o rss= -p $pid)
  local ticks0 ticks1
  ticks0=$(cpu_ticks $pid)
  sleep "$idle_cpu_seconds"
  ticks1=$(cpu_ticks $pid)
  printf '%-20s start %6.2f s   idle RSS %4d MB   idle CPU %5.2f%% of a core (%d ms in %d s)\n' "$label" "$(echo "$end - $start" | bc)" $((rss / 1024)) \
    "$(echo "scale=4; ($ticks1 - $ticks0) * 100 / $hz / $idle_cpu_seconds" | bc)" $(((ticks1 - ticks0) * 1000 / hz)) "$idle_cpu_seconds"
  kill $pid; wait $pid 2>/dev/null || true
}

echo "server: ${cmd[*]} in $dir"
measure "embedded first" PARLEY_DATA_DIR="$tmp/data"
measure "embedded restart" PARLEY_DATA_DIR="$tmp/data"
if psql -q "$admin" -c 'SELECT 1' >/dev/null 2>&1; then
  db=parley_start_$$
  psql -q "$admin" -c "CREATE DATABASE $db"
  url=$(echo "$admin" | sed -E "s#/[^/]*\$#/$db#")
  secret=start-measure-secret-0123456789abcdef
  measure "postgres first" DATABASE_URL="$url" PARLEY_JWT_SECRET=$secret
  measure "postgres restart" DATABASE_URL="$url" PARLEY_JWT_SECRET=$secret
  psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
else
  echo "PostgreSQL not reachable at $admin: embedded only"
fi
