#!/usr/bin/env bash
# bench/datapath.sh: the data path of the synthesized gateway, measured with
# the end-to-end harness (test/e2e/lib.sh, sourced, not copied): the example
# app is synthesized, its init script and nginx run in network namespaces
# with wireguard-go, and the laptop peer connects with its rendered client config.
#
#   sudo npm run bench:datapath                 # needs root; installs iperf3 if missing
#   BENCH_ROUNDS=9 BENCH_IPERF_SECONDS=8 sudo npm run bench:datapath
#
# It measures, interleaved round by round so that drift hits every path alike:
#   throughput (iperf3, one TCP stream, laptop -> ...):
#     proxied   laptop -> WireGuard -> nginx (route "postgres") -> iperf3 server
#     wg-only   laptop -> WireGuard -> iperf3 server directly: the laptop widens
#               its AllowedIPs to the server and the gateway namespace forwards,
#               only for this measurement (forwarding is switched off after each)
#     veth      laptop -> iperf3 server in the gateway namespace over the plain veth link
#   short connections (bench/conn-rate.js: connect, read the greeting, close;
#   closed loop with BENCH_CONCURRENCY workers): rate, p50 and p99 latency on
#   the same three paths, against the harness's echo servers
#   a moved backend: the DNS answer of route "redis" moves between echo-a and
#   echo-b; the time until every new connection reaches the new one
#     (the harness's `e2e-net follow`, a new connection every 20 ms).
# Reported values are medians over the rounds; each ratio prints on its own line.
# Traffic stays inside the run's own namespaces; every loop is bounded.
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/e2e/lib.sh
source "$BENCH_DIR/../test/e2e/lib.sh"

ROUNDS=${BENCH_ROUNDS:-7}
IPERF_SECONDS=${BENCH_IPERF_SECONDS:-5}
CONN_SECONDS=${BENCH_CONN_SECONDS:-4}
CONCURRENCY=${BENCH_CONCURRENCY:-8}
FOLLOW_ROUNDS=${BENCH_FOLLOW_ROUNDS:-4}
IPERF_IP=10.244.1.30          # the iperf3 server in the cluster namespace (route "postgres" points here)
VETH_GW_IP=172.31.1.1         # the gateway namespace's end of the laptop's link (lib.sh: client n is 172.31.n.2)
VETH_IPERF_PORT=5201
VETH_ECHO_PORT=7000

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { printf 'bench:datapath: %s\n' "$*" >&2; exit 1; }

# --- Small helpers ----------------------------------------------------------------

# json FILE EXPR: a value from a JSON file (node is there anyway).
json() { node -e 'const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = (new Function("o", "return " + process.argv[2]))(o); console.log(v === undefined || v === null ? "" : v)' "$1" "$2"; }

# median X...: the median of numbers (empty when none).
median() { printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '{a[NR]=$1} END {if (NR == 0) exit; if (NR % 2) print a[(NR+1)/2]; else printf "%.6g\n", (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.3f\n", a / b }'; }

# cpu_ticks PID...: user+system clock ticks (1/100 s) of processes and their threads.
cpu_ticks() {
  local p t=0 s
  for p in "$@"; do
    s=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' 2>/dev/null)
    [[ $s =~ ^[0-9]+$ ]] || s=0
    t=$((t + s))
  done
  echo "$t"
}
# host_busy: "busy total" jiffies of all CPUs, from /proc/stat.
host_busy() { awk '/^cpu / {idle = $5 + $6; tot = 0; for (i = 2; i <= NF; i++) tot += $i; print tot - idle, tot}' /proc/stat; }

nginx_pids() { local m; m=$(e2e_pid nginx) && e2e_descendants "$m"; }

# with_cpu LABEL OUT ERR CMD...: runs CMD with its output in OUT and ERR, then
# sets CPU_LOG to the CPU the gateway's processes used meanwhile (seconds per
# second of wall time; 2.0 = both cores busy).
CPU_LOG=""
with_cpu() {
  local label=$1 out=$2 err=$3 t0 t1 wg0 wg1 wl0 wl1 ng0 ng1 hb0 ht0 hb1 ht1 rc
  shift 3
  read -r hb0 ht0 < <(host_busy)
  wg0=$(cpu_ticks "$(e2e_pid wg-gateway)"); wl0=$(cpu_ticks "$(e2e_pid wg-laptop)")
  # shellcheck disable=SC2046 # nginx_pids prints PIDs, one argument each
  ng0=$(cpu_ticks $(nginx_pids)); t0=$(e2e_now_ms)
  "$@" >"$out" 2>"$err"
  rc=$?
  t1=$(e2e_now_ms)
  read -r hb1 ht1 < <(host_busy)
  wg1=$(cpu_ticks "$(e2e_pid wg-gateway)"); wl1=$(cpu_ticks "$(e2e_pid wg-laptop)")
  # shellcheck disable=SC2046 # nginx_pids prints PIDs, one argument each
  ng1=$(cpu_ticks $(nginx_pids))
  CPU_LOG=$(awk -v l="$label" -v ms=$((t1 - t0)) -v wg=$((wg1 - wg0)) -v wl=$((wl1 - wl0)) -v ng=$((ng1 - ng0)) -v hb=$((hb1 - hb0)) -v ht=$((ht1 - ht0)) -v n="$(nproc)" \
    'BEGIN { s = ms / 1000; printf "%s cpu: wireguard-go gateway %.2f, wireguard-go laptop %.2f, nginx %.2f, whole host %.2f of %d cores busy", l, wg / 100 / s, wl / 100 / s, ng / 100 / s, (ht > 0 ? hb / ht * n : 0), n }')
  return "$rc"
}

# --- Setup --------------------------------------------------------------------------

# The run directory is this benchmark's own (not an e2e run's), under /tmp so that
# PostgreSQL and nginx, which run as other users, can traverse its parents; the
# figures are copied to bench/results/ at the end.
E2E_ID=${E2E_ID:-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')}
E2E_RUN=${E2E_RUN:-/tmp/wggw-bench-run-$E2E_ID}
mkdir -p "$E2E_RUN"
e2e_setup_run
e2e_prerequisites
if ! command -v iperf3 >/dev/null 2>&1; then
  log "installing iperf3"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iperf3 >&2 \
    || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iperf3 >&2; } \
    || die "apt-get install iperf3 failed"
fi
BENCH_START=$(e2e_now_ms)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "bringing up the example gateway with the e2e harness"
e2e_up || die "the e2e harness could not bring the gateway up (logs: $E2E_RUN)"
e2e_client_up laptop || die "the laptop peer could not connect"
for r in postgres redis; do
  [ -n "${ROUTE_ADDR[$r]:-}" ] || die "the example has no route named $r; bench/datapath.sh needs the example's postgres and redis routes"
done

PG_ROUTE="${ROUTE_ADDR[postgres]}:${ROUTE_PORT[postgres]}"
PG_TARGET_PORT=${ROUTE_TARGET_PORT[postgres]}
REDIS_ROUTE="${ROUTE_ADDR[redis]}:${ROUTE_PORT[redis]}"
REDIS_TARGET_PORT=${ROUTE_TARGET_PORT[redis]}

# Benchmark-only servers, registered with the harness so its cleanup stops them.
ip -n "$NS_CLUSTER" address add "$IPERF_IP/32" dev lo
e2e_spawn iperf3-cluster "$NS_CLUSTER" iperf3 -s -B "$IPERF_IP" -p "$PG_TARGET_PORT"
e2e_spawn iperf3-veth "$NS_GW" iperf3 -s -B "$VETH_GW_IP" -p "$VETH_IPERF_PORT"
e2e_spawn echo-veth "$NS_GW" setpriv --reuid=nobody --regid=nogroup --clear-groups node "$E2E_NET_TOOL" echo-server "$VETH_GW_IP:$VETH_ECHO_PORT" echo-veth
e2e_wait_until 5 "iperf3 in the cluster" e2e_listening "$NS_CLUSTER" "$IPERF_IP" "$PG_TARGET_PORT" || die "iperf3 server did not start"
e2e_wait_until 5 "iperf3 on the veth" e2e_listening "$NS_GW" "$VETH_GW_IP" "$VETH_IPERF_PORT" || die "iperf3 server did not start"
e2e_wait_until 5 "echo-veth" e2e_listening "$NS_GW" "$VETH_GW_IP" "$VETH_ECHO_PORT" || die "echo server did not start"
# Connection-rate runs leave TIME_WAIT sockets behind; let the clients reuse them.
for ns in "${NS_CLIENT[laptop]}" "$NS_GW"; do ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1; done

# The resolver's valid= as nginx uses it: resolver.conf (written by start-nginx.sh) or nginx.conf.
VALID=$(cat "${POD_EMPTYDIRS[@]/%//resolver.conf}" "$POD_CONFIG_DIR/nginx.conf" 2>/dev/null | grep -o 'valid=[0-9]*s' | head -n1 | tr -dc 0-9)
[ -n "$VALID" ] || die "cannot read the resolver's valid= from the pod's files"

# DNS: route postgres -> the iperf3 server, route redis -> echo-a; wait until nginx follows.
mapfile -t RECS < <(e2e_dns_records postgres="$IPERF_IP" redis="$E2E_ECHO_A_IP")
e2e_dns_set "${RECS[@]}"
mark=$(e2e_now_ms)
e2e_net laptop follow "$REDIS_ROUTE" --since "$mark" --window-ms $(((VALID + 1) * 1000)) --tail-ms 500 --old '*' --new echo-a >/dev/null \
  || die "route redis did not settle on echo-a"
sleep 1
REDIS_AT=echo-a

# WG-only: the laptop routes the backends into its tunnel (as a peer may), and
# the gateway namespace forwards only while a wg-only measurement runs.
e2e_client_widen laptop "$IPERF_IP/32" "$E2E_ECHO_A_IP/32" || die "cannot widen the laptop's AllowedIPs"
forwarding() { ip netns exec "$NS_GW" sh -c "echo $1 > /proc/sys/net/ipv4/ip_forward"; }
forwarding 0

declare -A TARGET=(
  [proxied]="$PG_ROUTE" [wg-only]="$IPERF_IP:$PG_TARGET_PORT" [veth]="$VETH_GW_IP:$VETH_IPERF_PORT"
)
declare -A ECHO_TARGET=(
  [proxied]="$REDIS_ROUTE" [wg-only]="$E2E_ECHO_A_IP:$REDIS_TARGET_PORT" [veth]="$VETH_GW_IP:$VETH_ECHO_PORT"
)
declare -A ECHO_TAG=([proxied]=echo-a [wg-only]=echo-a [veth]=echo-veth)
PATHS=(proxied wg-only veth)
declare -A GBPS P50 P99 RATE
OUT="$E2E_RUN/bench"
mkdir -p "$OUT"

# iperf_once PATH ROUND: one iperf3 run; appends Gbit/s to GBPS[PATH].
iperf_once() {
  local path=$1 round=$2 f="$OUT/iperf-$1-$2.json" host port g
  host=${TARGET[$path]%:*}; port=${TARGET[$path]##*:}
  [ "$path" = wg-only ] && forwarding 1
  with_cpu "$path" "$f" "$f.err" ip netns exec "${NS_CLIENT[laptop]}" timeout $((IPERF_SECONDS + 20)) \
    iperf3 -c "$host" -p "$port" -t "$IPERF_SECONDS" -O 1 -J
  local rc=$?
  [ "$path" = wg-only ] && forwarding 0
  [ "$rc" = 0 ] || { log "iperf3 $path failed: $(head -c 300 "$f" "$f.err")"; return 1; }
  g=$(json "$f" '(o.end.sum_received.bits_per_second / 1e9).toFixed(4)')
  GBPS[$path]+="$g "
  log "round $round throughput $path: $g Gbit/s; $CPU_LOG"
}

# conn_once PATH ROUND: one short-connection run.
conn_once() {
  local path=$1 round=$2 f="$OUT/conn-$1-$2.json"
  [ "$path" = wg-only ] && forwarding 1
  with_cpu "$path" "$f" "$f.err" ip netns exec "${NS_CLIENT[laptop]}" timeout $((CONN_SECONDS + 20)) \
    node "$BENCH_DIR/conn-rate.js" "${ECHO_TARGET[$path]}" --seconds "$CONN_SECONDS" --concurrency "$CONCURRENCY" --expect "${ECHO_TAG[$path]}"
  local rc=$?
  [ "$path" = wg-only ] && forwarding 0
  [ "$rc" = 0 ] || { log "conn-rate $path failed: $(head -c 300 "$f" "$f.err")"; return 1; }
  local errors
  errors=$(json "$f" 'o.errors')
  RATE[$path]+="$(json "$f" 'o.rate') "; P50[$path]+="$(json "$f" 'o.p50Ms') "; P99[$path]+="$(json "$f" 'o.p99Ms') "
  log "round $round short connections $path: $(json "$f" 'o.rate') conn/s, p50 $(json "$f" 'o.p50Ms') ms, p99 $(json "$f" 'o.p99Ms') ms, $errors errors$( [ "$errors" = 0 ] || echo " (first: $(json "$f" 'o.firstError'))"); $CPU_LOG"
  sleep 1  # let TIME_WAIT settle a little before the next path
}

# --- Measurements ---------------------------------------------------------------------

log "throughput: $ROUNDS rounds x ${PATHS[*]}, iperf3 -t $IPERF_SECONDS (first second omitted)"
for ((round = 1; round <= ROUNDS; round++)); do
  # Rotate the order each round: no path always runs first or last.
  for ((k = 0; k < ${#PATHS[@]}; k++)); do
    iperf_once "${PATHS[$(((k + round) % ${#PATHS[@]}))]}" "$round" || die "throughput measurement failed (files: $OUT)"
  done
done

log "short connections: $ROUNDS rounds x ${PATHS[*]}, ${CONN_SECONDS} s each, concurrency $CONCURRENCY"
for ((round = 1; round <= ROUNDS; round++)); do
  for ((k = 0; k < ${#PATHS[@]}; k++)); do
    conn_once "${PATHS[$(((k + round) % ${#PATHS[@]}))]}" "$round" || die "connection-rate measurement failed (files: $OUT)"
  done
done

# A moved backend: flip route redis between echo-a and echo-b; after each
# change, new connections every 20 ms for valid + 1 s + 2 s.
log "moved backend: $FOLLOW_ROUNDS moves, nginx resolver valid=${VALID}s"
FOLLOW_MS=()
for ((i = 1; i <= FOLLOW_ROUNDS; i++)); do
  if [ "$REDIS_AT" = echo-a ]; then new=echo-b; newip=$E2E_ECHO_B_IP; else new=echo-a; newip=$E2E_ECHO_A_IP; fi
  mapfile -t RECS < <(e2e_dns_records postgres="$IPERF_IP" redis="$newip")
  e2e_dns_set "${RECS[@]}"
  mark=$(e2e_now_ms)
  line=$(e2e_net laptop follow "$REDIS_ROUTE" --since "$mark" --window-ms $(((VALID + 1) * 1000)) --tail-ms 2000 --interval 20 --old "$REDIS_AT" --new "$new")
  rc=$?
  log "move $i $REDIS_AT -> $new: $line"
  [ "$rc" = 0 ] || die "new connections did not follow the moved backend within valid + 1 s"
  # "last old one started +X ms": after that, every new connection reached the new backend.
  last=$(sed -n 's/.*last old one started +\([0-9]*\) ms.*/\1/p' <<<"$line")
  [ -n "$last" ] || last=0
  FOLLOW_MS+=("$last")
  REDIS_AT=$new
  sleep 1
done

# The gateway namespace must be back to no forwarding, as init.sh left it.
FWD_END=$(ip netns exec "$NS_GW" cat /proc/sys/net/ipv4/ip_forward)
[ "$FWD_END" = 0 ] || die "forwarding is still on in the gateway namespace"
e2e_client_restore laptop

# --- Report -----------------------------------------------------------------------------

printf '\nbench:datapath\n'
printf 'machine: %s, %s cores, %s; kernel %s; load average at start/end: %s / %s\n' \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" "$(nproc)" "$(free -g | awk '/^Mem:/ {print $2 " GiB"}')" "$(uname -r)" \
  "${LOAD_START:-?}" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'tools: %s; %s; nginx %s; iperf3 %s\n' "$(wireguard-go --version 2>&1 | head -n1)" "$(wg --version 2>&1 | head -n1)" \
  "$(nginx -v 2>&1 | sed 's/.*nginx\///')" "$(iperf3 --version 2>&1 | head -n1 | awk '{print $2}')"
printf 'gateway namespace ip_forward after the run: %s (on only during wg-only measurements)\n' "$FWD_END"
printf 'method: %s rounds, paths interleaved; iperf3 one TCP stream, %s s (first second omitted); short connections %s s at concurrency %s; medians\n' \
  "$ROUNDS" "$IPERF_SECONDS" "$CONN_SECONDS" "$CONCURRENCY"
for p in "${PATHS[@]}"; do
  # shellcheck disable=SC2086 # a list of numbers, one argument each
  printf 'throughput %-8s median %s Gbit/s (rounds: %s)\n' "$p" "$(median ${GBPS[$p]})" "${GBPS[$p]% }"
done
for p in "${PATHS[@]}"; do
  # shellcheck disable=SC2086 # lists of numbers, one argument each
  printf 'short connections %-8s median %s conn/s, p50 %s ms, p99 %s ms (rates: %s)\n' "$p" "$(median ${RATE[$p]})" "$(median ${P50[$p]})" "$(median ${P99[$p]})" "${RATE[$p]% }"
done
printf 'moved backend: last connection to the old backend started %s ms after the DNS change (median of %s: %s); bound valid + 1 s = %s ms\n' \
  "$(median "${FOLLOW_MS[@]}")" "$FOLLOW_ROUNDS" "${FOLLOW_MS[*]}" "$(((VALID + 1) * 1000))"

# shellcheck disable=SC2086 # lists of numbers, one argument each
{
  tp=$(median ${GBPS[proxied]}); tw=$(median ${GBPS[wg-only]}); tv=$(median ${GBPS[veth]})
  rp=$(median ${RATE[proxied]}); rw=$(median ${RATE[wg-only]}); rv=$(median ${RATE[veth]})
  lp=$(median ${P50[proxied]}); lw=$(median ${P50[wg-only]}); lv=$(median ${P50[veth]})
  qp=$(median ${P99[proxied]}); qw=$(median ${P99[wg-only]})
}
# Per-round ratio proxied / wg-only, paired by round (the two ran back to back).
read -r -a gp <<<"${GBPS[proxied]}"; read -r -a gw <<<"${GBPS[wg-only]}"
PAIRED=()
for ((i = 0; i < ${#gp[@]}; i++)); do PAIRED+=("$(ratio "${gp[$i]}" "${gw[$i]}")"); done
t=$(ratio "$tp" "$tw")
verdict=$(awk -v r="$t" 'BEGIN { print (r + 0 >= 0.95) ? "met" : "MISSED" }')
printf '\nratios (medians):\n'
printf 'ratio throughput proxied/wg-only: %s (target >= 0.95: %s)\n' "$t" "$verdict"
printf 'ratio throughput proxied/wg-only, median of per-round ratios: %s (rounds: %s)\n' "$(median "${PAIRED[@]}")" "${PAIRED[*]}"
printf 'ratio throughput wg-only/veth: %s\n' "$(ratio "$tw" "$tv")"
printf 'ratio throughput proxied/veth: %s\n' "$(ratio "$tp" "$tv")"
printf 'ratio short-connection rate proxied/wg-only: %s\n' "$(ratio "$rp" "$rw")"
printf 'ratio short-connection rate wg-only/veth: %s\n' "$(ratio "$rw" "$rv")"
printf 'ratio short-connection p50 latency proxied/wg-only: %s\n' "$(ratio "$lp" "$lw")"
printf 'ratio short-connection p99 latency proxied/wg-only: %s\n' "$(ratio "$qp" "$qw")"
printf 'ratio short-connection p50 latency wg-only/veth: %s\n' "$(ratio "$lw" "$lv")"
printf 'ratio moved-backend follow time / (valid + 1 s): %s\n' "$(ratio "$(median "${FOLLOW_MS[@]}")" $(((VALID + 1) * 1000)))"
# Keep the raw iperf3 and conn-rate files (bench/results/ is git-ignored); the harness removes its run directory.
RESULTS="$BENCH_DIR/results/datapath-$E2E_ID"
mkdir -p "$RESULTS" && cp -a "$OUT/." "$RESULTS/"
printf 'bench:datapath wall time: %s s (raw files: %s)\n' "$((($(e2e_now_ms) - BENCH_START) / 1000))" "$RESULTS"
# shellcheck disable=SC2034 # read by lib.sh's EXIT trap (e2e_cleanup): keep nothing on success
E2E_SUCCESS=1
