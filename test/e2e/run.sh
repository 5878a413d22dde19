#!/usr/bin/env bash
# The end-to-end suite of cdk8s-wireguard-gateway: `npm run test:e2e`.
#
# Synthesizes the example app (examples/postgres-redis-rds), runs what it
# emits (the init container's script, nginx, the WireGuard config and key, the
# peers' client configs) in network namespaces with real PostgreSQL, Redis and
# dnsmasq, and checks what a user of the gateway relies on. docs/e2e.md says
# what it proves and what it cannot.
#
#   bash test/e2e/run.sh [--only REGEX] [--list] [--keep]
#
#   --only REGEX  run the tests whose id or title matches (setup always runs)
#   --list        list the tests and the breakage knobs, and exit
#   --keep        keep the run directory (/tmp/wggw-e2e-run-<id>) even on success
#
# Environment:
#   CI=true         a missing prerequisite fails the run (never skipped); the 3-minute budget is enforced
#   E2E_BREAK=a,b   deliberately break the gateway to see tests fail (see --list); never in CI
#
# Output: one PASS/FAIL line per test with its duration and evidence, then a
# last line "N passed, M failed". The exit code is non-zero on any failure.
set -uo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/e2e/lib.sh
source "$E2E_DIR/lib.sh"

ONLY=''
while [ $# -gt 0 ]; do
  case $1 in
    --only) ONLY=${2:?--only needs a regex}; shift 2 ;;
    --list) LIST=1; shift ;;
    --keep) E2E_KEEP=1; shift ;;
    *) echo "run.sh: unknown argument $1 (use --only REGEX, --list, --keep)" >&2; exit 2 ;;
  esac
done

BUDGET_SECONDS=180
BREAK=",${E2E_BREAK:-},"
breaking() { [[ $BREAK == *",$1,"* ]]; }

# --- Deliberate breakages (E2E_BREAK) ---------------------------------------------
# Each edits the synthesized files of this run only (or the harness's steps),
# to show the test that guards against it fail.
declare -A BREAKAGES=(
  [dns-swap]="DNS answers postgres and orders-db swapped -> 01, 03, 04 fail"
  [redis-unreachable]="the redis name points at an address nothing listens on -> 02 fails"
  [stranger-is-peer]="the stranger's public key is added to wg0.conf -> 05 fails"
  [no-allow-list]="allow/deny lines removed from nginx.conf -> 06 fails"
  [forwarding]="ip_forward switched back on in the pod after init.sh -> 07 fails"
  [literal-proxy-pass]="proxy_pass <fqdn>:<port> (resolved once at start) instead of a variable -> 08 fails"
  [worker-connections-256]="worker_connections 256 in nginx.conf -> 09 fails"
  [liveness-restarts-nginx]="nginx is restarted during the DNS outage (as a DNS-checking liveness probe would) -> 10 fails"
  [wg-restart-with-nginx]="the nginx restart also restarts WireGuard -> 11 fails"
  [new-key-on-restart]="init.sh re-runs with a different private key -> 12 fails"
)

apply_breakages() {
  local conf="$POD_CONFIG_DIR/nginx.conf" b
  for b in $(echo "${E2E_BREAK:-}" | tr ',' ' '); do
    [ -n "${BREAKAGES[$b]:-}" ] || { echo "E2E_BREAK: unknown breakage $b (see --list)" >&2; return 1; }
    echo "BREAKAGE (deliberate): $b: ${BREAKAGES[$b]}"
  done
  if breaking literal-proxy-pass; then
    sed -i -E -e 's/^(\s*)set \$backend "([^"]+)";$/\1proxy_pass \2;/' -e '/^\s*proxy_pass \$backend;$/d' "$conf"
  fi
  if breaking no-allow-list; then sed -i -E '/^\s*(allow|deny) [^;]*;$/d' "$conf"; fi
  if breaking worker-connections-256; then sed -i -E 's/^(\s*worker_connections) [0-9]+;/\1 256;/' "$conf"; fi
  if breaking stranger-is-peer; then
    printf '\n# BREAKAGE stranger-is-peer\n[Peer]\nPublicKey = %s\nAllowedIPs = %s/32\n' "$STRANGER_PUB" "$STRANGER_ADDR" >>"$POD_CONFIG_DIR/wg0.conf"
  fi
  return 0
}

# DNS records as the tests expect them, with the breakages that touch DNS.
dns_records() {
  local extra=()
  if breaking dns-swap; then extra+=(postgres="$E2E_MANAGED_DB_IP" orders-db="$E2E_PG_IP"); fi
  if breaking redis-unreachable; then extra+=(redis=10.244.1.99); fi
  e2e_dns_records "${extra[@]}" "$@"
}

# --- Helpers for the tests -------------------------------------------------------------

route() { echo "${ROUTE_ADDR[$1]}:${ROUTE_PORT[$1]}"; }

# The resolver's `valid` as start-nginx.sh wrote it (seconds).
resolver_valid() {
  local d v
  for d in "${POD_EMPTYDIRS[@]}"; do
    v=$(grep -o 'valid=[0-9]*s' "$d/resolver.conf" 2>/dev/null | tr -dc 0-9) && [ -n "$v" ] && { echo "$v"; return 0; }
  done
  v=$(grep -o 'valid=[0-9]*s' "$POD_CONFIG_DIR/nginx.conf" | tr -dc 0-9)
  [ -n "$v" ] && echo "$v"
}

# redis_at NAME IP: point the redis route's name at an echo server and wait
# until every new connection reaches it (nginx's DNS caches have all moved).
REDIS_AT=redis
redis_at() {
  [ "$REDIS_AT" = "$1" ] && return 0
  local valid mark
  valid=$(resolver_valid) || { echo "cannot read the resolver's valid= from resolver.conf"; return 1; }
  mapfile -t recs < <(dns_records redis="$2")
  e2e_dns_set "${recs[@]}"
  mark=$(e2e_now_ms)
  e2e_net laptop follow "$(route redis)" --since "$mark" --window-ms $(((valid + 1) * 1000)) --tail-ms 500 --old '*' --new "$1" \
    | sed 's/^/settle: /'
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "${ROUTE_HOST[redis]} now resolves to $1 ($2), but new connections did not all follow within valid + 1 = $((valid + 1)) s"; return 1; }
  REDIS_AT=$1
}

# finish NAME: stop a background tool (hold) with SIGTERM and return its verdict.
finish() {
  local pid rc
  pid=$(e2e_pid "$1") || { echo "$1 is not running"; return 1; }
  kill -TERM "$pid" 2>/dev/null
  wait "$pid"
  rc=$?
  rm -f "$E2E_STATE/pids/$1"
  sed "s/^/$1: /" "$E2E_STATE/$1.log"
  return "$rc"
}

start_hold() {
  local name=$1 n=$2 expect=$3 ready="$E2E_STATE/$1.ready"
  rm -f "$ready" "$E2E_STATE/$name.log"
  e2e_spawn "$name" "${NS_CLIENT[laptop]}" node "$E2E_NET_TOOL" hold "$(route redis)" --sessions "$n" --expect "$expect" --ready "$ready"
  e2e_wait_until 20 "$n held sessions on $expect" test -f "$ready" || { cat "$E2E_STATE/$name.log"; return 1; }
}

# --- The tests ---------------------------------------------------------------------------------

t01() {
  local out
  out=$(e2e_psql laptop postgres "select current_setting('cluster_name') || ' ' || host(inet_server_addr())" 2>&1) \
    || { echo "psql from peer laptop to route postgres ($(route postgres)) failed: $out"; return 1; }
  [ "$out" = "in-cluster $E2E_PG_IP" ] \
    || { echo "route postgres answered '$out', expected the in-cluster PostgreSQL ('in-cluster $E2E_PG_IP')"; return 1; }
  echo "psql laptop -> $(route postgres) -> ${ROUTE_HOST[postgres]}: select returned '$out'"
}

t02() {
  local out
  out=$(ip netns exec "${NS_CLIENT[laptop]}" timeout 5 redis-cli -h "${ROUTE_ADDR[redis]}" -p "${ROUTE_PORT[redis]}" PING 2>&1)
  [ "$out" = PONG ] || { echo "redis-cli PING from peer laptop to route redis ($(route redis)) got '$out', expected PONG"; return 1; }
  echo "redis-cli -h ${ROUTE_ADDR[redis]} PING -> $out (via ${ROUTE_HOST[redis]})"
}

t03() {
  local out
  out=$(e2e_psql laptop orders-db "select current_setting('cluster_name') || ' ' || host(inet_server_addr())" 2>&1) \
    || { echo "psql from peer laptop to ManagedDbRoute orders-db ($(route orders-db)) failed: $out"; return 1; }
  [ "$out" = "managed-db $E2E_MANAGED_DB_IP" ] \
    || { echo "route orders-db answered '$out', expected the managed database in the cloud network ('managed-db $E2E_MANAGED_DB_IP')"; return 1; }
  echo "psql laptop -> $(route orders-db) -> ${ROUTE_HOST[orders-db]}: select returned '$out'"
}

t04() {
  local a b
  [ "${ROUTE_PORT[postgres]}" = "${ROUTE_PORT[orders-db]}" ] && [ "${ROUTE_ADDR[postgres]}" != "${ROUTE_ADDR[orders-db]}" ] \
    || { echo "the example no longer has two routes on one port (postgres $(route postgres), orders-db $(route orders-db))"; return 1; }
  a=$(e2e_psql laptop postgres "select current_setting('cluster_name')" 2>&1) || { echo "route postgres: $a"; return 1; }
  b=$(e2e_psql laptop orders-db "select current_setting('cluster_name')" 2>&1) || { echo "route orders-db: $b"; return 1; }
  [ "$a" = in-cluster ] && [ "$b" = managed-db ] \
    || { echo "port ${ROUTE_PORT[postgres]}: $(route postgres) reached '$a' and $(route orders-db) reached '$b'; expected in-cluster and managed-db"; return 1; }
  echo "port ${ROUTE_PORT[postgres]}: $(route postgres) -> $a, $(route orders-db) -> $b"
}

t05() {
  local ns=${NS_CLIENT[stranger]} ifc=${CLIENT_IF[stranger]} conf out hs tx
  # The stranger holds the laptop's client config with its own key (the
  # gateway does not know it) and its own tunnel address.
  conf=$(e2e_client_conf stranger laptop) || return 1
  sed -i -e "s|^PrivateKey = .*|PrivateKey = $STRANGER_KEY|" -e "s|^Address = .*|Address = $STRANGER_ADDR/32|" "$conf"
  e2e_client_up stranger "$conf" || return 1
  out=$(e2e_net stranger probe "$(route postgres)" --proto pg --timeout 3000)
  hs=$(ip netns exec "$ns" wg show "$ifc" latest-handshakes | cut -f2)
  tx=$(ip netns exec "$ns" wg show "$ifc" transfer | cut -f3)
  [ "${tx:-0}" -gt 0 ] || { echo "the stranger sent nothing to the gateway (tx ${tx:-?} bytes); the test proves nothing"; return 1; }
  [ "$hs" = 0 ] || { echo "a peer that is not in the config completed a handshake with the gateway (latest handshake $hs); probe: $out"; return 1; }
  case $out in ok:*) echo "the stranger reached route postgres: $out"; return 1 ;; esac
  echo "stranger sent $tx bytes of handshake initiations, latest handshake: never; probe: $out"
}

t06() {
  local out log
  out=$(e2e_net ci-runner probe "$(route postgres)" --proto pg --timeout 3000) \
    || { echo "control failed: ci-runner cannot reach route postgres, which it is allowed: $out"; return 1; }
  echo "control: ci-runner -> route postgres: $out"
  # ci-runner's config does not route orders-db's address; it adds it itself.
  e2e_client_widen ci-runner "${ROUTE_ADDR[orders-db]}/32" || return 1
  out=$(e2e_net ci-runner probe "$(route orders-db)" --proto pg --timeout 3000)
  e2e_client_restore ci-runner
  case $out in
    ok:*) echo "ci-runner, left out of orders-db's allowPeers, got an answer from $(route orders-db): $out"; return 1 ;;
    *'closed by the other end'*) ;;
    *) echo "ci-runner's connection to orders-db failed, but not by a refusal from nginx (so the tunnel may be broken): $out"; return 1 ;;
  esac
  log=$(grep -m1 -E "access forbidden by rule.*client: ${PEER_ADDR[ci-runner]}, server: ${ROUTE_ADDR[orders-db]}:${ROUTE_PORT[orders-db]}" "$E2E_STATE/nginx.log") \
    || { echo "nginx did not log an access refusal for ${PEER_ADDR[ci-runner]}; probe: $out"; return 1; }
  echo "refused: $out"
  echo "nginx: ${log#*] }"
}

t07() {
  local targets=("$E2E_PG_IP:5432" "$E2E_REDIS_IP:6379" "$E2E_MANAGED_DB_IP:5432" "$E2E_DNS_IP:53") cidrs=() t out fwd via
  for t in "${targets[@]}"; do cidrs+=("${t%:*}/32"); done
  e2e_client_widen ci-runner "${cidrs[@]}" || return 1
  via=$(ip -n "${NS_CLIENT[ci-runner]}" route get "$E2E_PG_IP" | head -n1)
  out=$(e2e_net ci-runner no-connect "${targets[@]}" --timeout 2000)
  local rc=$?
  e2e_client_restore ci-runner
  fwd=$(ip netns exec "$NS_GW" cat /proc/sys/net/ipv4/ip_forward)
  [[ $via == *"dev ${CLIENT_IF[ci-runner]}"* ]] || { echo "the widened routes do not go into the tunnel ($via); the test proves nothing"; return 1; }
  [ "$rc" = 0 ] || { echo "a peer that widened its AllowedIPs reached backends directly (pod ip_forward=$fwd): $out"; return 1; }
  echo "ci-runner with AllowedIPs widened to ${cidrs[*]} (route: $via): $out; pod ip_forward=$fwd"
}

t08() {
  local valid mark rc
  valid=$(resolver_valid) || { echo "cannot read the resolver's valid= from resolver.conf"; return 1; }
  redis_at echo-a "$E2E_ECHO_A_IP" || return 1
  start_hold hold-follow 50 echo-a || return 1
  mapfile -t recs < <(dns_records redis="$E2E_ECHO_B_IP")
  e2e_dns_set "${recs[@]}"
  mark=$(e2e_now_ms)
  REDIS_AT=echo-b
  e2e_net laptop follow "$(route redis)" --since "$mark" --window-ms $(((valid + 1) * 1000)) --tail-ms 2000 --old echo-a --new echo-b
  rc=$?
  finish hold-follow || rc=1
  [ "$rc" = 0 ] || echo "the DNS answer for ${ROUTE_HOST[redis]} moved from echo-a to echo-b: new connections must follow within valid + 1 = $((valid + 1)) s, existing sessions must stay up"
  return "$rc"
}

t09() {
  local out rc
  redis_at echo-b "$E2E_ECHO_B_IP" || return 1
  out=$(e2e_net laptop load "$(route redis)" --sessions 2000 --bytes 4096 --concurrency 200)
  rc=$?
  echo "laptop -> $(route redis) -> echo-b: $out"
  return "$rc"
}

t10() {
  local valid mark rc=0 out
  valid=$(resolver_valid) || { echo "cannot read the resolver's valid= from resolver.conf"; return 1; }
  redis_at echo-b "$E2E_ECHO_B_IP" || return 1
  start_hold hold-outage 20 echo-b || return 1
  e2e_stop dnsmasq || return 1
  # The outage is real once a new connection fails (nginx's cache has expired).
  out=$(e2e_net laptop until-fail "$(route redis)" --deadline-ms $(((valid + 8) * 1000)) --attempt-timeout 4000) \
    || { echo "DNS is down but new connections kept working: the outage was not observed ($out)"; finish hold-outage; return 1; }
  echo "outage: $out"
  if breaking liveness-restarts-nginx; then e2e_nginx_kill && e2e_nginx_start; fi
  mark=$(e2e_now_ms)
  e2e_dns_start || { finish hold-outage; return 1; }
  out=$(e2e_net laptop until-ok "$(route redis)" --since "$mark" --max-ms 2000 --deadline-ms 10000 --expect echo-b) || rc=1
  echo "DNS back: $out"
  finish hold-outage || rc=1
  return "$rc"
}

t11() {
  local before after wgpid out mark rc=0
  before=$(e2e_wg_state "$NS_GW" "$WG_GW_IF")
  wgpid=$(e2e_pid wg-gateway)
  e2e_nginx_kill || { echo "could not kill nginx"; return 1; }
  out=$(e2e_net laptop probe "$(route postgres)" --proto pg --timeout 1000) \
    && { echo "nginx was killed but route postgres still answered: $out"; return 1; }
  echo "nginx killed (SIGKILL to master and workers); a new connection fails: ${out#FAIL: }"
  if breaking wg-restart-with-nginx; then e2e_stop wg-gateway && e2e_gateway_init; fi
  mark=$(e2e_now_ms)
  e2e_nginx_start || { echo "nginx did not start again"; return 1; }
  out=$(e2e_net laptop until-ok "$(route postgres)" --proto pg --since "$mark" --max-ms 2000 --deadline-ms 10000) || rc=1
  echo "restarted: $out"
  after=$(e2e_wg_state "$NS_GW" "$WG_GW_IF")
  if [ "$before" != "$after" ] || [ "$(e2e_pid wg-gateway)" != "$wgpid" ] || e2e_gone "$wgpid"; then
    echo "WireGuard was touched by the nginx restart (wireguard-go pid $wgpid -> $(e2e_pid wg-gateway)):"
    diff <(echo "$before") <(echo "$after") | sed 's/^/  /'
    rc=1
  else
    echo "WireGuard untouched: same wireguard-go (pid $wgpid), interface, addresses, key and peers"
  fi
  return "$rc"
}

t12() {
  local ns=${NS_CLIENT[laptop]} ifc=${CLIENT_IF[laptop]} before after cpid out mark rc=0 q
  before=$(e2e_wg_state "$ns" "$ifc")
  cpid=$(e2e_pid wg-laptop)
  e2e_stop wg-gateway || { echo "could not stop the gateway's wireguard-go"; return 1; }
  e2e_wait_until 5 "$WG_GW_IF to disappear" bash -c "! ip -n $NS_GW link show dev $WG_GW_IF" || return 1
  if breaking new-key-on-restart; then
    (umask 077 && wg genkey >"$E2E_RUN/new.key") && cat "$E2E_RUN/new.key" >"$E2E_RUN/pod/vol/private-key/private-key"
  fi
  mark=$(e2e_now_ms)
  e2e_gateway_init || { echo "re-running the init container's command failed"; return 1; }
  echo "gateway WireGuard restarted: wireguard-go killed (interface gone), init.sh re-run in $(($(e2e_now_ms) - mark)) ms"
  out=$(e2e_net laptop until-ok "$(route postgres)" --proto pg --since "$mark" --max-ms 25000 --deadline-ms 30000 \
    --interval 250 --attempt-timeout 2000) || rc=1
  echo "client: $out"
  if [ "$rc" = 0 ]; then
    q=$(e2e_psql laptop postgres "select current_setting('cluster_name')" 2>&1) || { echo "psql after recovery failed: $q"; rc=1; }
  fi
  after=$(e2e_wg_state "$ns" "$ifc")
  if [ "$before" != "$after" ] || [ "$(e2e_pid wg-laptop)" != "$cpid" ] || e2e_gone "$cpid"; then
    echo "the client was changed:"; diff <(echo "$before") <(echo "$after") | sed 's/^/  /'; rc=1
  else
    echo "client untouched: same wireguard-go (pid $cpid) and configuration; psql -> ${q:-not run}"
  fi
  return "$rc"
}

t13() {
  local mark out
  mark=$(e2e_now_ms)
  e2e_gateway_init || { echo "re-running the init container's command on the live interface failed"; return 1; }
  out=$(e2e_net laptop until-ok "$(route postgres)" --proto pg --since "$mark" --max-ms 2000 --deadline-ms 25000 \
    --interval 250 --attempt-timeout 2000)
  local rc=$?
  echo "init.sh re-run on the live $WG_GW_IF: $out"
  [ "$rc" = 0 ] || echo "init.sh says it is safe to run again, but re-running it cut every peer off until its next handshake (did it go back to wg setconf, which drops every peer's session?)"
  return "$rc"
}

TESTS=(
  "t01|psql through the tunnel to ProxiedService postgres runs a query"
  "t02|redis-cli PING through the tunnel to ProxiedService redis"
  "t03|ManagedDbRoute orders-db answers a query (PostgreSQL in the cloud network)"
  "t04|same port, two addresses: postgres and orders-db reach different backends"
  "t05|a peer not in the config cannot complete a handshake"
  "t06|a peer left out of allowPeers is refused on that route (ci-runner on orders-db)"
  "t07|a peer that widens its AllowedIPs to backends reaches nothing (no forwarding)"
  "t08|moving a backend: new connections follow within valid + 1 s, existing sessions stay up"
  "t09|load: 2,000 simultaneous sessions with byte-exact echo, 0 errors"
  "t10|DNS outage: sessions survive, new connections work within 2 s of DNS returning"
  "t11|nginx killed and restarted: new connections within 2 s, WireGuard untouched"
  "t12|gateway WireGuard restarted by re-running init.sh: client recovers within 25 s, unchanged"
  "t13|init.sh re-run on a live interface keeps peers connected (within 2 s)"
)

if [ -n "${LIST:-}" ]; then
  for t in "${TESTS[@]}"; do printf '%s  %s\n' "${t%%|*}" "${t#*|}"; done
  echo
  echo "Breakages (E2E_BREAK=name[,name]):"
  for b in "${!BREAKAGES[@]}"; do printf '  %-24s %s\n' "$b" "${BREAKAGES[$b]}"; done | sort
  exit 0
fi

# --- Run -------------------------------------------------------------------------------------

STARTED=$(e2e_now_ms)
PASSED=0
FAILED=0

secs_since() { awk -v a="$1" -v b="$(e2e_now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

summary() {
  printf '\n%s (%s s in all; run %s)\n' "$([ "$FAILED" = 0 ] && echo 'all tests passed' || echo 'SOME TESTS FAILED')" \
    "$(secs_since "$STARTED")" "${E2E_ID:-?}"
  echo "$PASSED passed, $FAILED failed"
}

if [ "$(id -u)" != 0 ]; then
  if [ "${CI:-}" = true ]; then
    echo "e2e: FAIL: the end-to-end suite needs root (network namespaces, WireGuard) and CI=true forbids skipping" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
  echo "e2e: SKIPPED: needs root (network namespaces, WireGuard). Run: sudo npm run test:e2e. In CI (CI=true) this fails instead."
  exit 0
fi
if [ "${CI:-}" = true ] && [ -n "${E2E_BREAK:-}" ]; then
  echo "e2e: E2E_BREAK is for demonstrating failures, not for CI" >&2
  exit 2
fi

e2e_setup_run
setup_out="$E2E_STATE/setup.out"
setup() {
  e2e_prerequisites || return 1
  e2e_synth || return 1
  e2e_extract || return 1
  e2e_adapt || return 1
  STRANGER_KEY=$(wg genkey)
  STRANGER_PUB=$(echo "$STRANGER_KEY" | wg pubkey)
  STRANGER_ADDR=10.98.0.99
  apply_breakages || return 1
  e2e_topology_up || return 1
  mapfile -t recs < <(dns_records)
  e2e_dns_write "${recs[@]}"
  e2e_backends_up || return 1
  e2e_gateway_init || return 1
  if breaking forwarding; then ip netns exec "$NS_GW" sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'; fi
  e2e_nginx_start || return 1
  e2e_client_up laptop || return 1
  e2e_client_up ci-runner || return 1
}
t0=$(e2e_now_ms)
setup >"$setup_out" 2>&1
rc=$?
grep '^BREAKAGE' "$setup_out"
if [ "$rc" != 0 ]; then
  echo "FAIL  setup: prerequisites, synth, namespaces, backends, gateway or clients did not come up"
  sed 's/^/      /' "$setup_out"
  FAILED=1
  summary
  exit 1
fi
printf 'setup  %5s s  synthesized %s, %d routes, %d peers; gateway, backends and 2 clients up in namespaces e2e-%s-*\n' \
  "$(secs_since "$t0")" "${E2E_MANIFEST#"$E2E_ROOT"/}" "${#ROUTE_NAMES[@]}" "${#PEER_NAMES[@]}" "$E2E_ID"
for a in "${E2E_ADAPTATIONS[@]}"; do echo "       adaptation: $a"; done

for t in "${TESTS[@]}"; do
  id=${t%%|*}
  title=${t#*|}
  if [ -n "$ONLY" ] && ! [[ "$id $title" =~ $ONLY ]]; then continue; fi
  t0=$(e2e_now_ms)
  "$id" >"$E2E_STATE/$id.out" 2>&1
  rc=$?
  secs=$(secs_since "$t0")
  if [ "$rc" = 0 ]; then
    PASSED=$((PASSED + 1))
    printf 'PASS  %s  %5s s  %s\n' "$id" "$secs" "$title"
  else
    FAILED=$((FAILED + 1))
    printf 'FAIL  %s  %5s s  %s\n' "$id" "$secs" "$title"
  fi
  sed 's/^/      /' "$E2E_STATE/$id.out"
done

total=$((($(e2e_now_ms) - STARTED) / 1000))
if [ "${CI:-}" = true ] && [ "$total" -gt "$BUDGET_SECONDS" ]; then
  echo "FAIL  budget: the suite took $total s, over the $BUDGET_SECONDS s CI budget"
  FAILED=$((FAILED + 1))
fi
[ "$FAILED" = 0 ] && E2E_SUCCESS=1
summary
[ "$FAILED" = 0 ]
