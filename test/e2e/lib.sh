# shellcheck shell=bash
# test/e2e/lib.sh: the end-to-end harness of cdk8s-wireguard-gateway, as
# functions. Source it (bash 4+, as root); test/e2e/run.sh and
# bench/datapath.sh use it. It never runs anything when sourced.
#
# What it builds (see docs/e2e.md for the picture):
#
#   laptop / ci-runner / stranger netns        gateway netns ("the pod")           cluster netns             cloud netns
#   wg-quick with the peer's client config --- wireguard-go (init.sh) + nginx --- dnsmasq, PostgreSQL,   --- PostgreSQL (the
#   172.31.N.2                    172.31.N.1   10.244.0.2                10.244.0.1  Redis, echo servers       managed database)
#
# Typical use:
#   source test/e2e/lib.sh
#   e2e_setup_run                 # names, run directory, cleanup trap
#   e2e_prerequisites             # root, packages (installs them when missing)
#   e2e_synth && e2e_extract && e2e_adapt
#   e2e_topology_up && e2e_backends_up && e2e_gateway_up
#   e2e_client_up laptop
#   e2e_net laptop probe 10.99.0.2:6379 --proto redis
#
# Processes are started with `ip netns exec NS prog &`, so the harness holds
# their real PIDs (registered by name under $E2E_STATE/pids); cleanup kills
# exactly those, then whatever is left inside the run's own namespaces, then
# deletes the namespaces. Names carry a per-run id, so two runs never collide.

E2E_DIR=${E2E_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
E2E_ROOT=${E2E_ROOT:-$(cd "$E2E_DIR/../.." && pwd)}
E2E_NET_TOOL="$E2E_DIR/tools/e2e-net.js"
E2E_EXAMPLE_DIR=${E2E_EXAMPLE_DIR:-$E2E_ROOT/examples/postgres-redis-rds}
E2E_REAL_IP=${E2E_REAL_IP:-$(command -v ip)}
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 JSII_SILENCE_SUPPORT_WARNING=1 CDK8S_CHECK_UPGRADE=false

# Debian packages the harness needs, and a command (or file) proving each is there.
E2E_PACKAGES=(wireguard-tools wireguard-go nginx-light libnginx-mod-stream dnsmasq postgresql redis-server iproute2 busybox nftables iptables conntrack prometheus)
# The images' /bin/sh is busybox ash (Alpine), with busybox's awk, sed, grep and
# the rest: the pod's scripts run with these applets first in PATH, so that they
# are tested against busybox, not GNU or mawk (adaptation "busybox userland").
E2E_BUSYBOX_APPLETS=(sh awk sed grep head tail sort cat readlink sleep cp mv rm mkdir tr cut wc ls cmp date timeout touch sha256sum)
E2E_STREAM_MODULE=/usr/lib/nginx/modules/ngx_stream_module.so

# --- Addresses (inside the run's own namespaces only) -------------------------
E2E_GW_POD_IP=10.244.0.2          # the gateway pod's address on the cluster network
E2E_NODE_IP=10.244.0.1            # the cluster side of that link (the pod's default gateway)
E2E_DNS_IP=10.96.0.10             # the cluster DNS Service (dnsmasq)
E2E_PG_IP=10.244.1.10             # PostgreSQL, the in-cluster target of route "postgres"
E2E_REDIS_IP=10.244.1.11          # Redis, the target of route "redis"
E2E_ECHO_A_IP=10.244.1.20         # echo server "echo-a" (DNS-follow, load)
E2E_ECHO_B_IP=10.244.1.21         # echo server "echo-b"
E2E_CLOUD_LINK_K=10.255.0.1       # cluster <-> cloud link
E2E_CLOUD_LINK_D=10.255.0.2
E2E_MANAGED_DB_IP=10.20.5.10      # PostgreSQL in the cloud, inside the example's cidrs 10.20.0.0/16
E2E_PEER_NET=10.98.0.0/24         # peers' tunnel addresses (replies to them go back to the gateway pod)
# Client n is 172.31.n.2, the gateway's end of its link 172.31.n.1 (the "load balancer").
declare -gA E2E_CLIENT_N=([laptop]=1 [ci-runner]=2 [stranger]=3 [tablet]=4)

# --- Logging and small helpers -------------------------------------------------

e2e_log() { printf '[e2e %s] %s\n' "$(date +%T)" "$*" >&2; }
e2e_die() { printf 'e2e: %s\n' "$*" >&2; exit 1; }
e2e_now_ms() { date +%s%3N; }

# e2e_wait_until SECONDS DESCRIPTION CMD...: polls CMD every 50 ms until it
# succeeds; fails with a message naming DESCRIPTION after SECONDS.
e2e_wait_until() {
  local secs=$1 desc=$2
  shift 2
  local deadline=$(($(e2e_now_ms) + secs * 1000))
  until "$@" >/dev/null 2>&1; do
    if [ "$(e2e_now_ms)" -gt "$deadline" ]; then
      echo "timed out after ${secs} s waiting for $desc" >&2
      return 1
    fi
    sleep 0.05
  done
}

# e2e_gone PID: true when PID is not running (zombies count as gone).
e2e_gone() {
  local st
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 0
  [ -z "$st" ] || [ "$st" = Z ]
}

# --- Run identity and cleanup ---------------------------------------------------

# e2e_setup_run: a unique id, the namespace and interface names, the run
# directory ($E2E_RUN, kept on failure), and the cleanup trap.
e2e_setup_run() {
  E2E_ID=${E2E_ID:-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')}
  # Under /tmp, not in the checkout: PostgreSQL (user postgres) and nginx (uid 101) read
  # files here and must be able to traverse every parent directory, and a checkout may
  # live in a private (0700) directory, such as one made by mktemp -d.
  E2E_RUN=${E2E_RUN:-${E2E_TMPDIR:-/tmp}/wggw-e2e-run-$E2E_ID}
  E2E_STATE="$E2E_RUN/state"
  mkdir -p "$E2E_STATE/pids" "$E2E_RUN/synth" "$E2E_RUN/clients" "$E2E_RUN/dns"
  chmod 755 "$E2E_RUN" "$E2E_RUN/dns"
  # The echo servers run as nobody: they get their own copy of the tool, for the same reason.
  cp "$E2E_DIR/tools/e2e-net.js" "$E2E_RUN/e2e-net.js" && chmod 644 "$E2E_RUN/e2e-net.js"
  E2E_NET_TOOL="$E2E_RUN/e2e-net.js"
  : >"$E2E_STATE/netns"
  NS_GW="e2e-$E2E_ID-gw"
  NS_CLUSTER="e2e-$E2E_ID-cluster"
  NS_CLOUD="e2e-$E2E_ID-cloud"
  declare -gA NS_CLIENT=([laptop]="e2e-$E2E_ID-laptop" [ci-runner]="e2e-$E2E_ID-ci" [stranger]="e2e-$E2E_ID-stranger" [tablet]="e2e-$E2E_ID-tablet")
  # wireguard-go's control sockets are global (/var/run/wireguard/<if>.sock): unique names.
  WG_GW_IF="wg${E2E_ID}g"
  # The pod the pod functions act on: "" is the main pod; e2e_pod_use switches.
  E2E_POD=""
  E2E_POD_IP=$E2E_GW_POD_IP
  declare -gA E2E_POD_IPS=()
  E2E_POD_DIR="$E2E_RUN/pod"
  NS_LB="e2e-$E2E_ID-lb"
  declare -gA CLIENT_IF=([laptop]="wg${E2E_ID}l" [ci-runner]="wg${E2E_ID}c" [stranger]="wg${E2E_ID}s" [tablet]="wg${E2E_ID}t")
  E2E_BUSYBOX="$E2E_RUN/busybox"
  # The shims, copied where the containers' users can run them (a checkout may sit in a 0700 directory).
  E2E_SHIM="$E2E_RUN/shim"
  trap e2e_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  e2e_log "run $E2E_ID in $E2E_RUN"
}

# e2e_register NAME PID: remember a process the harness started.
e2e_register() { echo "$2" >"$E2E_STATE/pids/$1"; }
e2e_pid() { cat "$E2E_STATE/pids/$1" 2>/dev/null; }

# e2e_spawn NAME NS CMD...: start CMD in namespace NS in the background, with
# its output in $E2E_STATE/NAME.log; `ip netns exec` execs, so $! is CMD's PID.
# Must not be called from a subshell.
e2e_spawn() {
  local name=$1 ns=$2
  shift 2
  ip netns exec "$ns" "$@" >>"$E2E_STATE/$name.log" 2>&1 </dev/null &
  e2e_register "$name" $!
}

# e2e_stop NAME [SIGNAL]: signal a registered process (TERM by default) and
# wait until it is gone; KILL after 5 s.
e2e_stop() {
  local name=$1 sig=${2:-TERM} pid
  pid=$(e2e_pid "$name") || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  if ! e2e_wait_until 5 "$name (pid $pid) to exit" e2e_gone "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    e2e_wait_until 2 "$name (pid $pid) to exit after SIGKILL" e2e_gone "$pid" || return 1
  fi
  wait "$pid" 2>/dev/null || true
  rm -f "$E2E_STATE/pids/$name"
}

# e2e_cleanup: the EXIT trap. Kills the run's processes by PID, then anything
# left in the run's namespaces, deletes the namespaces and the run's files
# outside the run directory. Keeps $E2E_RUN unless E2E_SUCCESS=1 and E2E_KEEP is unset.
e2e_cleanup() {
  local rc=$? f pid ns pids
  trap - EXIT INT TERM
  [ -n "${E2E_STATE:-}" ] || return "$rc"
  for f in "$E2E_STATE"/pids/*; do
    [ -e "$f" ] || continue
    pid=$(<"$f") || continue
    kill -TERM "$pid" 2>/dev/null || true
  done
  for f in "$E2E_STATE"/pids/*; do
    [ -e "$f" ] || continue
    pid=$(<"$f")
    e2e_wait_until 3 "pid $pid" e2e_gone "$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  # The namespaces this run made: its list, and any named after its id (so
  # cleanup works even if the run directory was deleted under it).
  for ns in $( (cat "$E2E_STATE/netns" 2>/dev/null; ip netns list 2>/dev/null | cut -d' ' -f1 | grep "^e2e-$E2E_ID-") | sort -u); do
    # Only processes inside this run's own namespaces.
    pids=$(ip netns pids "$ns" 2>/dev/null) || true
    if [ -n "$pids" ]; then
      # shellcheck disable=SC2086 # a list of PIDs, one argument each
      kill -KILL $pids 2>/dev/null || true
    fi
    ip netns delete "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  for f in "$WG_GW_IF" "${CLIENT_IF[@]}" $(cat "$E2E_STATE/ifaces" 2>/dev/null); do
    rm -f "/var/run/wireguard/$f.sock" "/var/run/wireguard/$f.name"
  done
  if [ "${E2E_SUCCESS:-0}" = 1 ] && [ -z "${E2E_KEEP:-}" ]; then
    rm -rf "$E2E_RUN"
  else
    e2e_log "kept the run's files and logs in $E2E_RUN"
  fi
  return "$rc"
}

# --- Prerequisites ----------------------------------------------------------------

e2e_postgres_bin() { printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1; }

# e2e_missing: prints what is missing, one per line.
e2e_missing() {
  local c
  for c in wg wg-quick wireguard-go nginx dnsmasq psql pg_isready redis-server redis-cli ip ss setpriv unshare node busybox nft iptables-nft iptables-nft-restore iptables-legacy-restore conntrack prometheus promtool; do
    command -v "$c" >/dev/null 2>&1 || echo "command $c"
  done
  [ -f "$E2E_STREAM_MODULE" ] || echo "file $E2E_STREAM_MODULE"
  [ -x "$(e2e_postgres_bin)/postgres" ] || echo "PostgreSQL server (/usr/lib/postgresql/*/bin/postgres)"
  [ -d "$E2E_ROOT/node_modules/cdk8s-cli" ] || echo "node_modules (run npm ci)"
}

# e2e_prerequisites: root, then the Debian packages (apt-get update once and
# install when something is missing). Fails when anything is still missing.
e2e_prerequisites() {
  local missing
  if [ "$(id -u)" != 0 ]; then
    echo "e2e: the end-to-end suite needs root (network namespaces, WireGuard); run it with sudo" >&2
    return 1
  fi
  missing=$(e2e_missing)
  if [ -n "$missing" ]; then
    e2e_log "missing: $(echo "$missing" | paste -sd, -); installing ${E2E_PACKAGES[*]}"
    if ! DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2; then
      echo "e2e: apt-get update failed" >&2
      return 1
    fi
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${E2E_PACKAGES[@]}" >&2; then
      echo "e2e: apt-get install ${E2E_PACKAGES[*]} failed" >&2
      return 1
    fi
    missing=$(e2e_missing)
    if [ -n "$missing" ]; then
      echo "e2e: still missing after apt-get install: $(echo "$missing" | paste -sd, -)" >&2
      return 1
    fi
  fi
  if ! ip netns list >/dev/null 2>&1; then
    echo "e2e: cannot use network namespaces here (ip netns list failed)" >&2
    return 1
  fi
  # Sessions: the load generator and the echo server hold thousands of sockets.
  ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
}

# --- What the library emits ------------------------------------------------------

# e2e_synth: synthesizes the example app with cdk8s synth (the files `npm run
# synth:example` writes, here into $E2E_RUN/synth), and renders each peer's
# client config with the library's clientConfig() and the dev private keys.
e2e_synth() {
  local synth_pid cc_pid variants_pid rc=0
  (cd "$E2E_EXAMPLE_DIR" && exec "$E2E_ROOT/node_modules/.bin/cdk8s" synth --output "$E2E_RUN/synth") \
    >"$E2E_STATE/synth.log" 2>&1 &
  synth_pid=$!
  (cd "$E2E_ROOT" && exec node_modules/.bin/ts-node -T -P test/tsconfig.json test/e2e/client-configs.ts "$E2E_RUN/clients/rendered") \
    >"$E2E_STATE/client-configs.log" 2>&1 &
  cc_pid=$!
  (cd "$E2E_ROOT" && exec node_modules/.bin/ts-node -T -P test/tsconfig.json test/e2e/variants.ts "$E2E_RUN/variants") \
    >"$E2E_STATE/variants.log" 2>&1 &
  variants_pid=$!
  wait "$synth_pid" || { echo "cdk8s synth of $E2E_EXAMPLE_DIR failed:" >&2; cat "$E2E_STATE/synth.log" >&2; rc=1; }
  wait "$cc_pid" || { echo "client-configs.ts failed:" >&2; cat "$E2E_STATE/client-configs.log" >&2; rc=1; }
  wait "$variants_pid" || { echo "variants.ts failed:" >&2; cat "$E2E_STATE/variants.log" >&2; rc=1; }
  [ "$rc" = 0 ] || return 1
  E2E_MANIFEST=$(find "$E2E_RUN/synth" -maxdepth 1 -name '*.k8s.yaml' | sort | head -n1)
  [ -n "$E2E_MANIFEST" ] || { echo "cdk8s synth wrote no *.k8s.yaml into $E2E_RUN/synth" >&2; return 1; }
}

# e2e_extract: the current pod's files and commands from the manifest ($E2E_POD_DIR).
e2e_extract() {
  node "$E2E_DIR/tools/extract.js" "$E2E_MANIFEST" "$E2E_POD_DIR" >>"$E2E_STATE/extract.log" 2>&1 \
    || { cat "$E2E_STATE/extract.log" >&2; return 1; }
  e2e_pod_env
}

# e2e_pod_env: the current pod's pod.env, with the containers' /bin/sh as busybox sh.
e2e_pod_env() {
  local c
  # shellcheck disable=SC1091 # written by tools/extract.js at run time
  source "$E2E_POD_DIR/pod.env"
  for c in POD_INIT_CMD POD_NGINX_CMD POD_AGENT_CMD POD_READY_CMD; do
    local -n cmd=$c
    [ "${cmd[0]}" = /bin/sh ] || { echo "adaptation 'busybox userland' no longer applies: $c starts with ${cmd[0]}, not /bin/sh" >&2; return 1; }
    cmd[0]="$E2E_BUSYBOX/sh"
    unset -n cmd
  done
  # The containers' environment, the downward API's values as the kubelet gives this pod.
  e2e_env E2E_INIT_ENV "${POD_INIT_ENV[@]}" && e2e_env E2E_NGINX_ENV "${POD_NGINX_ENV[@]}" && e2e_env E2E_AGENT_ENV "${POD_AGENT_ENV[@]}" || return 1
  # Adaptations "mount paths" and "interface name": the scripts are run unchanged and told
  # where their volumes are, and which interface to manage, through their variables.
  E2E_INIT_ENV+=("${POD_INIT_PATH_ENV[@]}" "WG_IF=$WG_GW_IF")
  E2E_NGINX_ENV+=("${POD_NGINX_PATH_ENV[@]}")
  E2E_AGENT_ENV+=("${POD_AGENT_PATH_ENV[@]}" "WG_IF=$WG_GW_IF")
  e2e_metrics_adapt
}

# e2e_pod_use NAME: the pod functions act on pod NAME from now on ("" is the
# main pod, whose names have no suffix): its namespace, interface, files,
# process and log names.
e2e_pod_use() {
  E2E_POD=${1:+-$1}
  E2E_POD_IP=${E2E_POD_IPS[${1:-a}]:-$E2E_GW_POD_IP}
  E2E_POD_DIR="$E2E_RUN/pod$E2E_POD"
  NS_GW="e2e-$E2E_ID-gw$1"
  WG_GW_IF="wg${E2E_ID}${1:-g}"
  if [ -f "$E2E_POD_DIR/pod.env" ]; then e2e_pod_env; fi
}

# e2e_emptydirs: Kubernetes creates emptyDirs world-writable; the containers write there.
e2e_emptydirs() {
  local d
  for d in "${POD_EMPTYDIRS[@]}"; do chmod 0777 "$d"; chgrp "$POD_FS_GROUP" "$d"; done
}

# e2e_adapt: the named adaptations of the emitted files to this machine.
# Everything else runs exactly as synthesized. Each one is logged.
E2E_ADAPTATIONS=()
e2e_adaptation() { E2E_ADAPTATIONS+=("$1"); echo "adaptation: $1" >>"$E2E_STATE/adaptations.log"; }

# e2e_adapt_generation DIR: the adaptations of one generation of the ConfigMap's
# files (the first one, and each one an update stages). None today: nginx.conf is
# taken as synthesized (start-nginx.sh refuses a load_module line; the stream
# module comes from the nginx shim), and the scripts are never edited.
e2e_adapt_generation() { [ -f "$1/nginx.conf" ]; }

e2e_adapt() {
  local d
  e2e_adaptation "mount paths: the pod's volume mounts are directories of the run (${POD_MOUNTS[*]}), named in the commands and nginx.conf; the scripts get them as env variables (init: ${POD_INIT_PATH_ENV[*]}; nginx: ${POD_NGINX_PATH_ENV[*]}; agent: ${POD_AGENT_PATH_ENV[*]})"
  e2e_adaptation "ConfigMap volume: the kubelet's AtomicWriter layout (..data -> ..<timestamp>/, a symlink per key); an update writes a new directory and swaps ..data"
  e2e_adapt_generation "$(readlink -f "$POD_CONFIG_DIR/..data")" || return 1
  e2e_adaptation "interface name: env WG_IF=$WG_GW_IF for the init container and the agent (the scripts' default is wg0; wireguard-go sockets are global)"
  e2e_adaptation "wireguard-go shim: 'ip link add dev <if> type wireguard' in init.sh starts wireguard-go (test/e2e/shim/ip); no kernel module here"
  e2e_adaptation "stream module: the nginx container's PATH starts with test/e2e/shim, whose nginx runs Debian's nginx with -g 'load_module $E2E_STREAM_MODULE;' (the images build the module in; nginx.conf is taken as synthesized)"
  e2e_adaptation "mount modes: each container runs in a mount namespace of its own in which its readOnly mounts are read-only bind mounts (init: ${#POD_INIT_RO[@]}, nginx: ${#POD_NGINX_RO[@]}, agent: ${#POD_AGENT_RO[@]} read-only)"
  e2e_adaptation "init privileges: the init container runs as root with every capability when privileged, else with only its added capabilities (bounding and inheritable sets), as the agent"
  e2e_adaptation "pod sysctls: written into the pod's namespace before its containers start, as the kubelet does (${POD_SYSCTLS[*]:-none})"

  # The images' userland: busybox sh and applets (Alpine), first in the containers' PATH.
  mkdir -p "$E2E_BUSYBOX" "$E2E_SHIM"
  cp "$E2E_DIR"/shim/* "$E2E_SHIM/" && chmod 0755 "$E2E_SHIM" "$E2E_SHIM"/*
  for d in "${E2E_BUSYBOX_APPLETS[@]}"; do ln -sf "$(command -v busybox)" "$E2E_BUSYBOX/$d"; done
  e2e_adaptation "busybox userland: the containers' /bin/sh is busybox ash, with busybox's ${E2E_BUSYBOX_APPLETS[*]} first in PATH (as in the Alpine images)"
  e2e_emptydirs

  # The client configs name the endpoint the library was given (a DNS name of
  # the load balancer); here the gateway's end of each client's link stands in.
  local peer
  for peer in "${PEER_NAMES[@]}" tablet; do
    [ -n "${E2E_CLIENT_N[$peer]:-}" ] || { echo "the example has a peer $peer the harness has no link for" >&2; return 1; }
    grep -q "^Endpoint = $GW_ENDPOINT:$GW_LISTEN_PORT\$" "$E2E_RUN/clients/rendered/$peer.conf" \
      || { echo "adaptation 'endpoint' no longer applies: $peer.conf has no 'Endpoint = $GW_ENDPOINT:$GW_LISTEN_PORT'" >&2; return 1; }
  done
  e2e_adaptation "endpoint: the client configs' Endpoint $GW_ENDPOINT:$GW_LISTEN_PORT -> the gateway's address on each client's link (172.31.N.1:$GW_LISTEN_PORT)"
  e2e_adaptation "resolv.conf: the pod's /etc/resolv.conf names the cluster DNS $E2E_DNS_IP (/etc/netns/$NS_GW/resolv.conf, bound by ip netns exec)"
}

# e2e_env ARRAY NAME=VALUE...: a container's environment into ARRAY, with the
# downward API's values (NAME=@fieldRef:<path>) supplied as the kubelet would.
e2e_env() {
  local -n env_out=$1
  local kv
  shift
  env_out=()
  for kv in "$@"; do
    case ${kv#*=} in
      @fieldRef:status.podIP)
        env_out+=("${kv%%=*}=$E2E_POD_IP")
        [ -n "$E2E_POD" ] || e2e_adaptation "downward API: env ${kv%%=*} (fieldRef status.podIP) = the pod's address $E2E_POD_IP" ;;
      @fieldRef:*) echo "e2e: env ${kv%%=*} comes from ${kv#*=}, which the harness does not supply" >&2; return 1 ;;
      *) env_out+=("$kv") ;;
    esac
  done
}

# --- Configuration updates (what the kubelet does to a ConfigMap volume) -------------

# e2e_config_stage MANIFEST: writes the manifest's ConfigMap files into a new
# generation directory of the pod's ConfigMap volume, adapted; prints its path.
e2e_config_stage() {
  local gen
  gen=$(node "$E2E_DIR/tools/extract.js" --stage "$1" "$E2E_POD_DIR") || return 1
  e2e_adapt_generation "$gen" >&2 || return 1
  echo "$gen"
}

# e2e_config_swap GEN_DIR: the kubelet's AtomicWriter swap: a symlink ..data_tmp
# to the new directory renamed over ..data (atomic), links for new keys,
# dangling links removed, then the old directory deleted.
e2e_config_swap() {
  local dir=$POD_CONFIG_DIR new old f k
  new=$(basename "$1")
  old=$(readlink "$dir/..data") || return 1
  ln -s "$new" "$dir/..data_tmp" && mv -T "$dir/..data_tmp" "$dir/..data" || return 1
  for f in "$1"/*; do
    k=$(basename "$f")
    [ -L "$dir/$k" ] || ln -s "..data/$k" "$dir/$k"
  done
  for f in "$dir"/*; do [ -e "$f" ] || rm -f "$f"; done
  rm -rf "${dir:?}/$old"
}

# --- Topology ------------------------------------------------------------------------

# e2e_ns_add NS FORWARDING: a namespace with lo up, rp_filter off, forwarding as given.
e2e_ns_add() {
  local ns=$1 fwd=$2
  ip netns add "$ns" || return 1
  echo "$ns" >>"$E2E_STATE/netns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sh -c "echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter; echo 0 > /proc/sys/net/ipv4/conf/default/rp_filter; echo $fwd > /proc/sys/net/ipv4/ip_forward"
}

# e2e_link NS1 IF1 ADDR1/LEN NS2 IF2 ADDR2/LEN: a veth pair, each end created in its namespace.
e2e_link() {
  ip link add name "$2" netns "$1" type veth peer name "$5" netns "$4" || return 1
  ip -n "$1" address add "$3" dev "$2" && ip -n "$1" link set "$2" up || return 1
  ip -n "$4" address add "$6" dev "$5" && ip -n "$4" link set "$5" up
}

# e2e_topology_up: the namespaces, links, addresses and routes.
e2e_topology_up() {
  local peer n
  # The gateway pod inherits forwarding from a node that forwards; init.sh must switch it off.
  e2e_ns_add "$NS_GW" 1 && e2e_ns_add "$NS_CLUSTER" 1 && e2e_ns_add "$NS_CLOUD" 0 || return 1
  for peer in laptop ci-runner stranger tablet; do
    n=${E2E_CLIENT_N[$peer]}
    e2e_ns_add "${NS_CLIENT[$peer]}" 0 || return 1
    e2e_link "${NS_CLIENT[$peer]}" uplink "172.31.$n.2/24" "$NS_GW" "client$n" "172.31.$n.1/24" || return 1
  done
  e2e_pod_sysctls || return 1
  e2e_link "$NS_GW" eth0 "$E2E_GW_POD_IP/24" "$NS_CLUSTER" gwpod "$E2E_NODE_IP/24" || return 1
  ip -n "$NS_GW" route add default via "$E2E_NODE_IP" || return 1
  e2e_link "$NS_CLUSTER" cloud "$E2E_CLOUD_LINK_K/30" "$NS_CLOUD" vpc "$E2E_CLOUD_LINK_D/30" || return 1
  ip -n "$NS_CLOUD" route add default via "$E2E_CLOUD_LINK_K" || return 1
  ip -n "$NS_CLOUD" address add "$E2E_MANAGED_DB_IP/32" dev lo || return 1
  ip -n "$NS_CLUSTER" route add 10.20.0.0/16 via "$E2E_CLOUD_LINK_D" || return 1
  # The most permissive network: replies to peers' tunnel addresses find their
  # way back to the pod, so anything that leaks past the gateway is seen.
  ip -n "$NS_CLUSTER" route add "$E2E_PEER_NET" via "$E2E_GW_POD_IP" || return 1
  for a in "$E2E_DNS_IP" "$E2E_PG_IP" "$E2E_REDIS_IP" "$E2E_ECHO_A_IP" "$E2E_ECHO_B_IP"; do
    ip -n "$NS_CLUSTER" address add "$a/32" dev lo || return 1
  done
  e2e_resolv_conf
}

# e2e_pod_sysctls: the pod's sysctls (the manifest's securityContext.sysctls), written into
# the current pod's namespace before its containers start, as the kubelet does.
e2e_pod_sysctls() {
  local kv
  for kv in "${POD_SYSCTLS[@]}"; do
    ip netns exec "$NS_GW" sh -c "echo ${kv#*=} > /proc/sys/$(echo "${kv%%=*}" | tr . /)" || { echo "cannot set the pod sysctl $kv" >&2; return 1; }
  done
}

# e2e_resolv_conf: the pod's /etc/resolv.conf: what the kubelet writes, naming the cluster DNS.
e2e_resolv_conf() {
  mkdir -p "/etc/netns/$NS_GW"
  printf 'search wireguard.svc.cluster.local svc.cluster.local cluster.local\nnameserver %s\noptions ndots:5\n' "$E2E_DNS_IP" \
    >"/etc/netns/$NS_GW/resolv.conf"
}

# --- Cluster DNS (dnsmasq) ---------------------------------------------------------------

# e2e_dns_set NAME=IP...: the DNS records, replacing all; dnsmasq re-reads them on SIGHUP.
e2e_dns_write() {
  local kv tmp="$E2E_RUN/dns/hosts.tmp"
  : >"$tmp"
  for kv in "$@"; do printf '%s %s\n' "${kv#*=}" "${kv%%=*}" >>"$tmp"; done
  chmod 644 "$tmp"
  mv "$tmp" "$E2E_RUN/dns/hosts"
}
e2e_dns_set() {
  e2e_dns_write "$@"
  local pid
  pid=$(e2e_pid dnsmasq) && kill -HUP "$pid"
}

# e2e_dns_records [ROUTE=IP ...]: the records for the example's routes, with
# the given routes' names pointed elsewhere.
# shellcheck disable=SC2120 # run.sh and bench/datapath.sh pass ROUTE=IP arguments; lib.sh does not
e2e_dns_records() {
  declare -A to=([postgres]=$E2E_PG_IP [redis]=$E2E_REDIS_IP [orders-db]=$E2E_MANAGED_DB_IP)
  local kv r records=()
  for kv in "$@"; do to[${kv%%=*}]=${kv#*=}; done
  for r in "${ROUTE_NAMES[@]}"; do records+=("${ROUTE_HOST[$r]}=${to[$r]}"); done
  printf '%s\n' "${records[@]}"
}

e2e_dns_start() {
  e2e_spawn dnsmasq "$NS_CLUSTER" dnsmasq -k --log-facility=- -C /dev/null --no-resolv --no-hosts \
    --listen-address="$E2E_DNS_IP" --bind-interfaces --user=nobody --group=nogroup --pid-file= \
    --local=/cluster.local/ --local=/amazonaws.com/ --local-ttl=1 --addn-hosts="$E2E_RUN/dns/hosts"
  e2e_wait_until 5 "dnsmasq to listen on $E2E_DNS_IP:53" e2e_dns_listening
}
e2e_dns_listening() { [ -n "$(ip netns exec "$NS_CLUSTER" ss -Hlun "src $E2E_DNS_IP:53")" ]; }

# --- Backends ----------------------------------------------------------------------------

# e2e_postgres_start NAME NS IP CLUSTER_NAME: a throwaway PostgreSQL (trust
# auth, user postgres) whose cluster_name setting tells which one answered.
e2e_postgres_start() {
  local name=$1 ns=$2 ip=$3 cname=$4 bin data="$E2E_RUN/$1"
  bin=$(e2e_postgres_bin)
  if [ ! -d "$E2E_RUN/pg-template" ]; then
    install -d -o postgres -g postgres -m 700 "$E2E_RUN/pg-template"
    setpriv --reuid=postgres --regid=postgres --init-groups "$bin/initdb" -D "$E2E_RUN/pg-template" -U postgres -A trust \
      --no-sync >"$E2E_STATE/initdb.log" 2>&1 || { cat "$E2E_STATE/initdb.log" >&2; return 1; }
    echo 'host all all 0.0.0.0/0 trust' >>"$E2E_RUN/pg-template/pg_hba.conf"
  fi
  cp -a "$E2E_RUN/pg-template" "$data"
  e2e_spawn "$name" "$ns" setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$data" \
    -c listen_addresses="$ip" -c port=5432 -c unix_socket_directories="$data" -c cluster_name="$cname" \
    -c fsync=off -c max_connections=50 -c shared_buffers=16MB
}
e2e_postgres_ready() { ip netns exec "$1" pg_isready -q -h "$2" -p 5432 -t 1; }

e2e_redis_start() {
  install -d -o nobody -m 755 "$E2E_RUN/redis"
  e2e_spawn redis "$NS_CLUSTER" setpriv --reuid=nobody --regid=nogroup --clear-groups redis-server --bind "$E2E_REDIS_IP" \
    --port 6379 --save '' --appendonly no --protected-mode no --dir "$E2E_RUN/redis" --daemonize no
}

# e2e_echo_start NAME IP PORT: an echo server that greets with "NAME\n".
e2e_echo_start() {
  e2e_spawn "$1" "$NS_CLUSTER" setpriv --reuid=nobody --regid=nogroup --clear-groups node "$E2E_NET_TOOL" echo-server "$2:$3" "$1"
}
e2e_listening() { [ -n "$(ip netns exec "$1" ss -Hltn "src $2:$3")" ]; }

# e2e_backends_up: DNS with the example's names (unless records were written
# already), both PostgreSQLs, Redis and two echo servers on the redis route's
# target port.
e2e_backends_up() {
  local rport=${ROUTE_TARGET_PORT[redis]} records
  if [ ! -f "$E2E_RUN/dns/hosts" ]; then
    # shellcheck disable=SC2119 # no argument: the example's own records
    mapfile -t records < <(e2e_dns_records)
    e2e_dns_write "${records[@]}"
  fi
  e2e_dns_start || return 1
  e2e_postgres_start pg-cluster "$NS_CLUSTER" "$E2E_PG_IP" in-cluster || return 1
  e2e_postgres_start pg-cloud "$NS_CLOUD" "$E2E_MANAGED_DB_IP" managed-db || return 1
  e2e_redis_start
  e2e_echo_start echo-a "$E2E_ECHO_A_IP" "$rport"
  e2e_echo_start echo-b "$E2E_ECHO_B_IP" "$rport"
  e2e_wait_until 15 "PostgreSQL at $E2E_PG_IP" e2e_postgres_ready "$NS_CLUSTER" "$E2E_PG_IP" || return 1
  e2e_wait_until 15 "PostgreSQL at $E2E_MANAGED_DB_IP" e2e_postgres_ready "$NS_CLOUD" "$E2E_MANAGED_DB_IP" || return 1
  e2e_wait_until 5 "Redis at $E2E_REDIS_IP:6379" e2e_listening "$NS_CLUSTER" "$E2E_REDIS_IP" 6379 || return 1
  e2e_wait_until 5 "echo-a" e2e_listening "$NS_CLUSTER" "$E2E_ECHO_A_IP" "$rport" || return 1
  e2e_wait_until 5 "echo-b" e2e_listening "$NS_CLUSTER" "$E2E_ECHO_B_IP" "$rport"
}

# --- The gateway pod -------------------------------------------------------------------------

# Adaptation "mount modes": `unshare --mount ... sh -c "$E2E_RO_PROGRAM" mounts RO_DIR... -- CMD...`
# runs CMD in a mount namespace of its own in which each RO_DIR (a container's readOnly
# volume mount) is a read-only bind mount of itself. Run as root before the container's
# user and capabilities are set (setpriv, in CMD), so the container cannot undo it.
# shellcheck disable=SC2016 # a program for sh -c: its $ are its own
E2E_RO_PROGRAM='while [ "$1" != -- ]; do mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" || exit 111; shift; done; shift; exec "$@"'

# e2e_gateway_init: the init container: its command, as root, in the pod's
# namespace, with the wireguard-go shim first in PATH. Registers wireguard-go.
e2e_gateway_init() {
  local out="$E2E_STATE/init$E2E_POD.log"
  echo "--- init $(date +%T.%N)" >>"$out"
  local privileges=()
  if [ "$POD_INIT_PRIVILEGED" != 1 ]; then
    local caps
    caps=$(printf ',+%s' "${POD_INIT_CAPS[@]}")
    privileges=(setpriv "--inh-caps=-all$caps" "--bounding-set=-all$caps" --no-new-privs)
  fi
  ip netns exec "$NS_GW" env PATH="$E2E_SHIM:$E2E_BUSYBOX:$PATH" E2E_REAL_IP="$E2E_REAL_IP" E2E_STATE="$E2E_STATE" \
    "${E2E_INIT_ENV[@]}" unshare --mount --propagation private sh -c "$E2E_RO_PROGRAM" mounts "${POD_INIT_RO[@]}" -- \
    "${privileges[@]}" "${POD_INIT_CMD[@]}" >>"$out" 2>&1 </dev/null \
    || { echo "the init container's command failed:" >&2; tail -n 20 "$out" >&2; return 1; }
  [ -f "$E2E_STATE/$WG_GW_IF.wg.pid" ] && e2e_register "wg-gateway$E2E_POD" "$(<"$E2E_STATE/$WG_GW_IF.wg.pid")"
}

# e2e_nginx_start: the nginx container's command (start-nginx.sh, which stays as
# nginx's parent), as the container's user and group (no new privileges, no
# capabilities), in the pod's namespace. Waits until nginx listens on every route.
e2e_nginx_start() {
  local r
  touch "$E2E_STATE/nginx$E2E_POD.stdout.log"
  chown "$POD_NGINX_UID:$POD_NGINX_GID" "$E2E_STATE/nginx$E2E_POD.stdout.log"
  ip netns exec "$NS_GW" env PATH="$E2E_SHIM:$E2E_BUSYBOX:$PATH" E2E_REAL_NGINX="$(command -v nginx)" E2E_STREAM_MODULE="$E2E_STREAM_MODULE" "${E2E_NGINX_ENV[@]}" \
    unshare --mount --propagation private sh -c "$E2E_RO_PROGRAM" mounts "${POD_NGINX_RO[@]}" -- \
    setpriv --reuid="$POD_NGINX_UID" --regid="$POD_NGINX_GID" --groups="$POD_FS_GROUP" \
    --no-new-privs --inh-caps=-all --bounding-set=-all "${POD_NGINX_CMD[@]}" >>"$E2E_STATE/nginx$E2E_POD.stdout.log" 2>>"$E2E_STATE/nginx$E2E_POD.log" </dev/null &
  e2e_register "nginx$E2E_POD" $!
  disown  # its SIGKILL in e2e_nginx_kill is on purpose: no job notice
  for r in "${ROUTE_NAMES[@]}"; do
    e2e_wait_until 5 "nginx to listen on ${ROUTE_ADDR[$r]}:${ROUTE_PORT[$r]}" \
      e2e_listening "$NS_GW" "${ROUTE_ADDR[$r]}" "${ROUTE_PORT[$r]}" || { tail -n 20 "$E2E_STATE/nginx$E2E_POD.log" >&2; return 1; }
  done
}

# e2e_descendants PID: PID and every process below it.
e2e_descendants() {
  local p c
  for p in "$@"; do
    echo "$p"
    # shellcheck disable=SC2013 # the children files hold PIDs separated by spaces: words, on purpose
    for c in $(cat "/proc/$p/task/"*/children 2>/dev/null); do e2e_descendants "$c"; done
  done
}

# e2e_nginx_kill: a crash of the nginx container: SIGKILL to start-nginx.sh,
# nginx's master and its workers.
e2e_nginx_kill() {
  local top all p
  top=$(e2e_pid "nginx$E2E_POD") || return 1
  all=$(e2e_descendants "$top")
  # shellcheck disable=SC2086 # a list of PIDs, one argument each
  kill -KILL $all 2>/dev/null
  for p in $all; do e2e_wait_until 5 "nginx process $p to exit" e2e_gone "$p" || return 1; done
  rm -f "$E2E_STATE/pids/nginx$E2E_POD"
}

# e2e_as_agent CMD...: CMD as the agent container: in the pod's namespace and the
# agent's mount modes, root with NET_ADMIN only (bounding and inheritable sets), no new
# privileges, busybox first in PATH. With E2E_TIMEOUT=N, killed after N seconds (as the
# kubelet does to a probe).
e2e_as_agent() {
  ${E2E_TIMEOUT:+timeout -s KILL "$E2E_TIMEOUT"} ip netns exec "$NS_GW" env PATH="$E2E_BUSYBOX:$PATH" "${E2E_AGENT_ENV[@]}" \
    unshare --mount --propagation private sh -c "$E2E_RO_PROGRAM" mounts "${POD_AGENT_RO[@]}" -- \
    setpriv --inh-caps=-all,+net_admin --bounding-set=-all,+net_admin --no-new-privs "$@"
}

# e2e_as_nginx CMD...: CMD as the nginx container's user (uid 101, no capabilities, no
# new privileges) in the pod's namespace and nginx's mount modes: what a compromised
# nginx could do.
e2e_as_nginx() {
  ip netns exec "$NS_GW" unshare --mount --propagation private sh -c "$E2E_RO_PROGRAM" mounts "${POD_NGINX_RO[@]}" -- \
    setpriv --reuid="$POD_NGINX_UID" --regid="$POD_NGINX_GID" --groups="$POD_FS_GROUP" --no-new-privs --inh-caps=-all --bounding-set=-all "$@"
}

# e2e_agent_start: the agent container's command.
e2e_agent_start() {
  e2e_as_agent "${POD_AGENT_CMD[@]}" >>"$E2E_STATE/agent$E2E_POD.log" 2>&1 </dev/null &
  e2e_register "agent$E2E_POD" $!
  e2e_wait_until 5 "the agent to start watching" grep -q 'agent: watching' "$E2E_STATE/agent$E2E_POD.log"
}

# e2e_ready: the agent's readiness probe, run as the kubelet runs it: its exec
# command in the agent container, killed after the probe's timeoutSeconds.
# Prints its output; its exit code is the verdict.
e2e_ready() { E2E_TIMEOUT=$POD_READY_TIMEOUT e2e_as_agent "${POD_READY_CMD[@]}" 2>&1; }

e2e_gateway_up() { e2e_gateway_init && e2e_nginx_start && e2e_agent_start; }

# e2e_wg_state NS IF: the interface's identity and configuration without the
# moving parts (handshake times, byte counters, endpoints learnt).
e2e_wg_state() {
  ip -n "$1" -o link show dev "$2" | cut -d' ' -f1,2
  ip -n "$1" -o -4 address show dev "$2" | awk '{print $4}'
  ip netns exec "$1" wg show "$2" dump | awk -F'\t' 'NR == 1 {print $2, $3}'
  # Peers in a stable order: wireguard-go lists them in map order.
  ip netns exec "$1" wg show "$2" dump | awk -F'\t' 'NR > 1 {print $1, $4, $8}' | sort
}

# --- Clients --------------------------------------------------------------------------------

# e2e_client_conf PEER [RENDERED_PEER]: the rendered client config of
# RENDERED_PEER (default PEER) with the endpoint adaptation, written as
# $E2E_RUN/clients/<PEER's interface>.conf (wg-quick names the interface after
# the file). Prints the path.
e2e_client_conf() {
  local peer=$1 src dst
  src="$E2E_RUN/clients/rendered/${2:-$peer}.conf"
  dst="$E2E_RUN/clients/${CLIENT_IF[$peer]}.conf"
  sed "s/^Endpoint = .*/Endpoint = 172.31.${E2E_CLIENT_N[$peer]}.1:$GW_LISTEN_PORT/" "$src" >"$dst" || return 1
  chmod 600 "$dst"
  echo "$dst"
}

# e2e_client_up PEER [CONF]: wg-quick up in the peer's namespace with CONF
# (default: e2e_client_conf PEER); wireguard-go comes from the userspace shim.
e2e_client_up() {
  local peer=$1 conf=${2:-}
  [ -n "$conf" ] || conf=$(e2e_client_conf "$peer") || return 1
  ip netns exec "${NS_CLIENT[$peer]}" env WG_QUICK_USERSPACE_IMPLEMENTATION="$E2E_SHIM/wg-userspace" E2E_STATE="$E2E_STATE" \
    wg-quick up "$conf" >>"$E2E_STATE/wg-quick-$peer.log" 2>&1 </dev/null \
    || { echo "wg-quick up for $peer failed:" >&2; tail -n 20 "$E2E_STATE/wg-quick-$peer.log" >&2; return 1; }
  e2e_register "wg-$peer" "$(<"$E2E_STATE/${CLIENT_IF[$peer]}.wg.pid")"
}

# e2e_client_widen PEER CIDR...: the peer adds CIDRs to the gateway's
# AllowedIPs and routes them into its tunnel (what a peer can do on its own).
# e2e_client_restore PEER undoes it.
e2e_client_widen() {
  local peer=$1 ns=${NS_CLIENT[$1]} ifc=${CLIENT_IF[$1]} cur c
  shift
  cur=$(ip netns exec "$ns" wg show "$ifc" allowed-ips | cut -f2)
  [ -f "$E2E_STATE/$ifc.allowed" ] || echo "$cur" >"$E2E_STATE/$ifc.allowed"
  for c in "$@"; do cur="$cur $c"; done
  ip netns exec "$ns" wg set "$ifc" peer "$GW_PUBLIC_KEY" allowed-ips "$(echo "$cur" | tr -s ' ' ',' | sed 's/^,//')" || return 1
  for c in "$@"; do ip -n "$ns" route replace "$c" dev "$ifc" || return 1; done
}
e2e_client_restore() {
  local ns=${NS_CLIENT[$1]} ifc=${CLIENT_IF[$1]} orig c
  [ -f "$E2E_STATE/$ifc.allowed" ] || return 0
  orig=$(<"$E2E_STATE/$ifc.allowed")
  for c in $(ip netns exec "$ns" wg show "$ifc" allowed-ips | cut -f2); do
    case " $orig " in *" $c "*) ;; *) ip -n "$ns" route del "$c" dev "$ifc" 2>/dev/null ;; esac
  done
  ip netns exec "$ns" wg set "$ifc" peer "$GW_PUBLIC_KEY" allowed-ips "$(echo "$orig" | tr -s ' ' ',')"
  rm -f "$E2E_STATE/$ifc.allowed"
}

# e2e_net PEER ARGS...: the TCP tool (tools/e2e-net.js) in a peer's namespace.
e2e_net() {
  local peer=$1
  shift
  ip netns exec "${NS_CLIENT[$peer]}" node "$E2E_NET_TOOL" "$@"
}

# e2e_psql PEER ROUTE SQL: a psql query through the tunnel to a route's address.
e2e_psql() {
  ip netns exec "${NS_CLIENT[$1]}" env PGCONNECT_TIMEOUT="${E2E_PSQL_TIMEOUT:-5}" psql -XAtq \
    "host=${ROUTE_ADDR[$2]} port=${ROUTE_PORT[$2]} user=postgres dbname=postgres sslmode=disable" -c "$3"
}

# e2e_up: everything, in order.
e2e_up() {
  e2e_synth && e2e_extract && e2e_adapt && e2e_topology_up && e2e_backends_up && e2e_gateway_up
}

# --- More replicas behind an emulated UDP Service (availability) ------------------------
#
#   ha1, ha2 (clients) --- lb namespace: VIP 172.29.0.1:<port> --DNAT--> pod A 10.250.1.2
#   172.30.N.2             nftables: client-IP affinity, conntrack    --> pod B 10.250.2.2 ...
#
# What kube-proxy does for the gateway's Service (sessionAffinity ClientIP): a client's
# first packet picks an endpoint (round robin over the endpoints, newest first) and
# remembers the client's address for that endpoint; conntrack keeps the flow on it.
# Removing an endpoint removes it from the choice, then deletes the UDP conntrack
# entries to it, so the client's next packet picks another endpoint.

E2E_VIP=172.29.0.1

# e2e_pod_up NAME N: another replica of the gateway Deployment: its own namespace (cluster
# link 10.244.(10+N).2/24), its own volumes from the same manifest, its three containers.
# The pod functions then act on it (e2e_pod_use NAME).
e2e_pod_up() {
  local name=$1 n=$2
  E2E_POD_IPS[$name]="10.244.$((10 + n)).2"
  e2e_pod_use "$name"
  e2e_extract || return 1
  e2e_adapt_generation "$(readlink -f "$POD_CONFIG_DIR/..data")" >&2 || return 1
  e2e_emptydirs
  echo "$WG_GW_IF" >>"$E2E_STATE/ifaces"
  e2e_ns_add "$NS_GW" 1 || return 1
  e2e_pod_sysctls || return 1
  e2e_link "$NS_GW" eth0 "$E2E_POD_IP/24" "$NS_CLUSTER" "gwpod$name" "10.244.$((10 + n)).1/24" || return 1
  ip -n "$NS_GW" route add default via "10.244.$((10 + n)).1" || return 1
  e2e_resolv_conf
}

# e2e_lb_up: the load balancer's namespace and its nftables table.
e2e_lb_up() {
  e2e_ns_add "$NS_LB" 1 || return 1
  ip -n "$NS_LB" address add "$E2E_VIP/32" dev lo || return 1
  ip netns exec "$NS_LB" nft -f - <<EOF
table ip svc {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr $E2E_VIP udp dport $GW_LISTEN_PORT jump service
  }
  chain service {
  }
}
EOF
}

# e2e_lb_attach N: links the current pod to the load balancer: 10.250.N.2 in the pod.
e2e_lb_attach() {
  local n=$1
  e2e_link "$NS_LB" "ep$n" "10.250.$n.1/24" "$NS_GW" lb0 "10.250.$n.2/24" || return 1
  ip -n "$NS_GW" route add 172.30.0.0/16 via "10.250.$n.1"
}

# e2e_lb_endpoints IP...: the Service's endpoints now (newest first), as kube-proxy
# syncs them: an affinity set and a chain per endpoint; new flows round-robin.
e2e_lb_endpoints() {
  local ip i=0 rules='' map=''
  for ip in "$@"; do
    local n=${ip//./_}
    ip netns exec "$NS_LB" nft list set ip svc "aff_$n" >/dev/null 2>&1 \
      || ip netns exec "$NS_LB" nft -f - <<EOF || return 1
table ip svc {
  set aff_$n { type ipv4_addr; flags dynamic,timeout; timeout 3h; }
  chain ep_$n {
    update @aff_$n { ip saddr }
    dnat to $ip
  }
}
EOF
    rules+="add rule ip svc service ip saddr @aff_$n dnat to $ip"$'\n'
    map+="${map:+, }$i : jump ep_$n"
    i=$((i + 1))
  done
  [ "$i" = 0 ] || rules+="add rule ip svc service numgen inc mod $i vmap { $map }"$'\n'
  ip netns exec "$NS_LB" nft -f - <<EOF || return 1
flush chain ip svc service
$rules
EOF
  # Endpoints no longer listed: their chain and affinity set go.
  for n in $(ip netns exec "$NS_LB" nft list sets ip 2>/dev/null | awk '$1 == "set" && $2 ~ /^aff_/ { sub(/^aff_/, "", $2); print $2 }'); do
    case " ${*//./_} " in *" $n "*) ;; *) ip netns exec "$NS_LB" nft delete chain ip svc "ep_$n" && ip netns exec "$NS_LB" nft delete set ip svc "aff_$n" ;; esac
  done
}

# e2e_lb_forget IP: what kube-proxy does once an endpoint stopped serving: delete the
# UDP conntrack entries to it, so its clients' next packets pick another endpoint.
e2e_lb_forget() {
  ip netns exec "$NS_LB" conntrack -D -p udp --reply-src "$1" >/dev/null 2>&1 || true
}

# e2e_ha_client_up NAME PEER N: a client namespace behind the load balancer (172.30.N.2)
# running PEER's rendered client file, its Endpoint the Service's address.
e2e_ha_client_up() {
  local name=$1 peer=$2 n=$3 conf
  NS_CLIENT[$name]="e2e-$E2E_ID-$name"
  CLIENT_IF[$name]="wg${E2E_ID}$n"
  echo "${CLIENT_IF[$name]}" >>"$E2E_STATE/ifaces"
  e2e_ns_add "${NS_CLIENT[$name]}" 0 || return 1
  e2e_link "${NS_CLIENT[$name]}" uplink "172.30.$n.2/24" "$NS_LB" "cl$n" "172.30.$n.1/24" || return 1
  ip -n "${NS_CLIENT[$name]}" route add default via "172.30.$n.1" || return 1
  conf="$E2E_RUN/clients/${CLIENT_IF[$name]}.conf"
  sed "s/^Endpoint = .*/Endpoint = $E2E_VIP:$GW_LISTEN_PORT/" "$E2E_RUN/clients/rendered/$peer.conf" >"$conf" && chmod 600 "$conf"
  e2e_client_up "$name" "$conf"
}

# e2e_pod_stop [SIGNAL]: the current pod's containers stop (TERM by default, as the
# kubelet after preStop; KILL for a crash) and its WireGuard interface goes with it.
e2e_pod_stop() {
  local sig=${1:-TERM} name
  if [ "$sig" = KILL ]; then e2e_nginx_kill; else e2e_stop "nginx$E2E_POD" TERM; fi
  for name in "agent$E2E_POD" "wg-gateway$E2E_POD"; do e2e_stop "$name" "$sig"; done
}

# Metrics: Prometheus in the cluster namespace, scraping the gateway as its
# PodMonitor says (test/e2e/lib-metrics.sh).
# shellcheck source=test/e2e/lib-metrics.sh
source "$E2E_DIR/lib-metrics.sh"
