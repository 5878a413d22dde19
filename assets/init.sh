#!/bin/sh
# init.sh (cdk8s-wireguard-gateway): brings the pod's WireGuard interface to the
# configuration in $CONFIG_DIR, changing only what differs, so that it can run
# again on a live interface without touching what did not change.
#
#   init.sh         the init container: forwarding off, create wg0, the key from
#                   the Secret, then what apply does, then prune
#   init.sh check   check the configuration's files; change nothing
#   init.sh apply   the agent, on a change: peers, preshared keys, MTU, new service
#                   addresses, routes to peers; the interface keeps its own key
#   init.sh prune   the agent: remove the service addresses of earlier configurations
#                   once no TCP socket uses them
#   init.sh ready   the readiness probe: wg0 up with its key, every service address,
#                   nginx listening on every route
#
# The same file for every gateway. What differs between gateways is data, which
# this script parses and checks and never runs: wg0.conf (the peers, for wg),
# routes.tsv, peers.tsv and live.env (and start.env, read by init only).
# Every path below can be redirected through the environment (the tests do).
set -eu
# Bytes, not characters: the same parsing whatever locale the image or the caller sets.
export LC_ALL=C
MODE="${1:-init}"
CONFIG_DIR="${CONFIG_DIR:-/etc/wireguard-gateway}"
KEY_FILE="${KEY_FILE:-/run/secrets/wireguard-gateway/private-key}"
PSK_DIR="${PSK_DIR:-/run/secrets/wireguard-gateway-psk}"
PROC="${PROC:-/proc}"
WG_IF="${WG_IF:-wg0}"

log() { echo "$MODE: $*"; }
fail() { echo "$MODE: $*" >&2; exit 1; }
case $MODE in init | check | apply | prune | ready) ;; *) fail "unknown mode (use init, check, apply, prune or ready)" ;; esac

# setting NAME FILE: the value of NAME in FILE, whose lines are "name=value" or "# comment".
setting() {
  awk -v k="$1" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); found = 1; exit } END { exit !found }' "$2" \
    || fail "$2 has no setting $1 (or cannot be read); nothing applied"
}

# --- The configuration, checked as data: nothing applies unless every file is what
# the library writes. Each check prints where the first problem is.

# wg0.conf holds [Interface] with ListenPort, then one [Peer] per peer.
check_wg_conf() {
  awk '
    /^(#.*)?$/ { next }
    /^\[Interface\]$/ { if ((seen++ || peers) && !bad) bad = NR; next }
    /^\[Peer\]$/ { if (!seen && !bad) bad = NR; peers++; next }
    /^(ListenPort|PersistentKeepalive) = [0-9]+$/ { next }
    /^PublicKey = [A-Za-z0-9+\/]+=$/ && length($0) == 56 { next }
    /^AllowedIPs = [0-9.\/]+(, [0-9.\/]+)*$/ { next }
    { if (!bad) bad = NR }
    END { if (bad) { print "line " bad; exit 1 } if (!seen) { print "no [Interface]"; exit 1 } }' "$1"
}

# The checks the two tables share, in awk: an IPv4 address, a TCP port, a name (a
# Prometheus label value: \\, \" and \n escaped, no control character), the first
# problem with its line, and a value shown in a message (printable, cut short).
TABLE_AWK='
  function ipv4(a,  o, i) {
    if (split(a, o, ".") != 4) return 0
    for (i = 1; i <= 4; i++) if (o[i] !~ /^(0|[1-9][0-9]?[0-9]?)$/ || o[i] + 0 > 255) return 0
    return 1
  }
  function port(p) { return p ~ /^[1-9][0-9]*$/ && p + 0 <= 65535 }
  function name(n,  t) {
    if (n == "" || n ~ /[[:cntrl:]]/) return 0
    t = n; gsub(/\\\\|\\"|\\n/, "", t); return t !~ /["\\]/
  }
  function show(v) { gsub(/[^ -~]/, "?", v); return "\"" substr(v, 1, 60) "\"" }
  function bad(why) { print "line " FNR ": " why; exit 1 }
  /^#/ { next }
'

# routes.tsv: "address TAB port TAB target TAB name", one route a line.
check_routes() {
  awk -F '\t' "$TABLE_AWK"'
    NF != 4 { bad(NF " fields; expected 4: address, port, target, name") }
    !ipv4($1) { bad("address " show($1) " is not an IPv4 address") }
    !port($2) { bad("port " show($2) " is not a TCP port") }
    $3 !~ /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/ || length($3) > 253 { bad("target " show($3) " is not a DNS name") }
    !name($4) { bad("the name is empty, holds a control character or an unescaped \" or \\") }' "$1"
}

# peers.tsv: "public key TAB address TAB preshared-key volume or - TAB name", one peer
# a line; and wg0.conf must have exactly these peers, each with AllowedIPs <address>/32.
check_peers() {
  awk -F '\t' "$TABLE_AWK"'
    NF != 4 { bad(NF " fields; expected 4: public key, address, preshared key, name") }
    $1 !~ /^[A-Za-z0-9+\/]+=$/ || length($1) != 44 { bad("public key " show($1) " is not a WireGuard key") }
    !ipv4($2) { bad("address " show($2) " is not an IPv4 address") }
    $3 != "-" && $3 !~ /^psk-[0-9a-f]+$/ { bad("preshared key volume " show($3) " is neither - nor psk-<hex>") }
    !name($4) { bad("the name is empty, holds a control character or an unescaped \" or \\") }' "$1"
}
same_peers() {
  awk '
    FNR == 1 { file++ }
    file == 1 && /^PublicKey = / { key = $3; next }
    file == 1 && /^AllowedIPs = / { conf[key] = $3; n++; next }
    file == 2 && !/^#/ {
      split($0, f, "\t")
      if (conf[f[1]] != f[2] "/32") { print "peer " f[1] " (" f[2] ") is not in wg0.conf with AllowedIPs = " f[2] "/32"; differ = 1; exit 1 }
      m++
    }
    END { if (!differ && m != n) { print "wg0.conf has " n + 0 " peer(s), peers.tsv " m + 0; exit 1 } }' "$1" "$2"
}

WG_CONF="$CONFIG_DIR/wg0.conf"
ROUTES="$CONFIG_DIR/routes.tsv"
PEERS_TSV="$CONFIG_DIR/peers.tsv"
where=$(check_wg_conf "$WG_CONF") || fail "$WG_CONF is not a WireGuard configuration this library wrote ($where); nothing applied"
where=$(check_routes "$ROUTES") || fail "$ROUTES is not a route table this library wrote ($where); nothing applied"
where=$(check_peers "$PEERS_TSV") || fail "$PEERS_TSV is not a peer table this library wrote ($where); nothing applied"
where=$(same_peers "$WG_CONF" "$PEERS_TSV") || fail "$WG_CONF and $PEERS_TSV disagree: $where; nothing applied"
MTU=$(setting mtu "$CONFIG_DIR/live.env")
case $MTU in [1-9][0-9][0-9][0-9]) [ "$MTU" -ge 1280 ] && [ "$MTU" -le 9000 ] ;; *) false ;; esac \
  || fail "live.env: mtu \"$MTU\" is not a number from 1280 to 9000; nothing applied"
[ "$MODE" != check ] || exit 0

# What the checked files say: the port WireGuard listens on, the service addresses
# (distinct), what nginx listens on (address:port), and the peers' tunnel addresses.
LISTEN_PORT=$(awk '$1 == "ListenPort" { print $3; exit }' "$WG_CONF")
ADDRESSES=$(awk -F '\t' '!/^#/ && !seen[$1]++ { printf "%s ", $1 }' "$ROUTES")
LISTENERS=$(awk -F '\t' '!/^#/ { printf "%s:%s ", $1, $2 }' "$ROUTES")
PEERS=$(awk -F '\t' '!/^#/ { printf "%s ", $2 }' "$PEERS_TSV")
N_ADDRESSES=$(echo "$ADDRESSES" | wc -w | tr -d ' ')
N_LISTENERS=$(echo "$LISTENERS" | wc -w | tr -d ' ')
N_PEERS=$(echo "$PEERS" | wc -w | tr -d ' ')

# addresses_of_wg0: the IPv4 addresses on the interface, one a line.
addresses_of_wg0() { ip -4 -o address show dev "$WG_IF" | awk '{ sub(/\/.*/, "", $4); print $4 }'; }

# in_use ADDRESS: a TCP socket (any state but TIME_WAIT) has ADDRESS as its local
# address. /proc/net/tcp prints it as hex in host byte order: both orders are tried.
in_use() {
  awk -v a="$1" 'BEGIN { split(a, o, "."); le = sprintf("%02X%02X%02X%02X", o[4], o[3], o[2], o[1]); be = sprintf("%02X%02X%02X%02X", o[1], o[2], o[3], o[4]) }
    NR > 1 { split($2, l, ":"); if ((l[1] == le || l[1] == be) && $4 != "06") { found = 1; exit } } END { exit !found }' "$PROC/net/tcp"
}

# prune: removes the service addresses this configuration does not have, once
# nginx no longer listens on them and their last session has closed.
prune() {
  for a in $(addresses_of_wg0); do
    case " $ADDRESSES" in *" $a "*) continue ;; esac
    if in_use "$a"; then continue; fi
    ip address del "$a/32" dev "$WG_IF"
    log "removed service address $a: not in this configuration, and no socket uses it"
  done
}
if [ "$MODE" = prune ]; then prune; exit 0; fi

# ready: the readiness probe. Peers can be served: wg0 is up with a key on its port, has
# every service address, and nginx listens on every route.
ready() {
  flags=$(ip -o link show dev "$WG_IF" 2>/dev/null) || { echo "not ready: $WG_IF does not exist"; return 1; }
  case $flags in *[\<,]UP[,\>]*) ;; *) echo "not ready: $WG_IF is down"; return 1 ;; esac
  case $(wg show "$WG_IF" private-key 2>/dev/null) in "" | "(none)") echo "not ready: $WG_IF has no private key"; return 1 ;; esac
  [ "$(wg show "$WG_IF" listen-port 2>/dev/null)" = "$LISTEN_PORT" ] || { echo "not ready: $WG_IF does not listen on UDP $LISTEN_PORT"; return 1; }
  have=" $(addresses_of_wg0 | tr '\n' ' ')"
  for a in $ADDRESSES; do
    case $have in *" $a "*) ;; *) echo "not ready: $WG_IF lacks the service address $a"; return 1 ;; esac
  done
  # One pass over /proc/net/tcp for every listener (LISTEN is state 0A; the port is always big-endian hex).
  missing=$(awk -v want="$LISTENERS" 'BEGIN { n = split(want, w, " ") } NR > 1 && $4 == "0A" { have[$2] = 1 }
    END { for (i = 1; i <= n; i++) { split(w[i], p, ":"); split(p[1], o, ".")
      le = sprintf("%02X%02X%02X%02X:%04X", o[4], o[3], o[2], o[1], p[2]); be = sprintf("%02X%02X%02X%02X:%04X", o[1], o[2], o[3], o[4], p[2])
      if (!(le in have) && !(be in have)) { print w[i]; exit } } }' "$PROC/net/tcp")
  [ -z "$missing" ] || { echo "not ready: nothing listens on $missing (nginx)"; return 1; }
  echo "ready: $WG_IF is up with its key on UDP $LISTEN_PORT, $N_ADDRESSES service address(es), nginx listens on $N_LISTENERS route(s)"
}
if [ "$MODE" = ready ]; then ready; exit; fi

# --- init and apply change the interface from here on.

# No forwarding in the pod: a peer that widens its own AllowedIPs must reach nothing but
# nginx. Pods inherit forwarding from the node. start.env says who switches it off: this
# script (a privileged init container), or the pod's sysctl (NET_ADMIN cannot write /proc/sys).
if [ "$MODE" = init ]; then
  off_by=$(setting forwarding_off_by "$CONFIG_DIR/start.env")
  case $off_by in
    init)
      echo 0 > "$PROC/sys/net/ipv4/ip_forward" || fail "cannot switch forwarding off ($PROC/sys/net/ipv4/ip_forward)"
      if [ -w "$PROC/sys/net/ipv6/conf/all/forwarding" ]; then echo 0 > "$PROC/sys/net/ipv6/conf/all/forwarding"; fi
      log "forwarding switched off" ;;
    pod-sysctl) ;;
    *) fail "start.env: forwarding_off_by \"$off_by\" is neither init nor pod-sysctl" ;;
  esac
fi
if [ "$(cat "$PROC/sys/net/ipv4/ip_forward")" != 0 ]; then
  fail "net.ipv4.ip_forward is still on in the pod; refusing to start a gateway that forwards"
fi

if ! ip link show dev "$WG_IF" >/dev/null 2>&1; then
  [ "$MODE" = init ] || fail "$WG_IF does not exist; the init container creates it: restart the pod"
  if ! ip link add dev "$WG_IF" type wireguard; then
    fail "cannot create $WG_IF: the node's kernel has no WireGuard module. Run the gateway on nodes with Linux 5.6 or later (WireGuard is built in), or load it on the node with modprobe wireguard (package wireguard-dkms on older kernels). A pod cannot load kernel modules itself."
  fi
  log "created $WG_IF"
fi

# The peers, with wg syncconf: it changes only what differs, so live sessions stay.
# It reads a whole configuration, key included: without PrivateKey it would clear
# the key, and a different key would end every peer's session. init takes the key
# from the Secret; apply keeps the interface's own. It goes through a pipe only.
if [ "$MODE" = init ]; then
  if [ ! -r "$KEY_FILE" ]; then
    fail "the private key file $KEY_FILE is missing or unreadable; check the Secret named by the gateway's privateKey"
  fi
  key=$(cat "$KEY_FILE")
else
  key=$(wg show "$WG_IF" private-key)
fi
case $key in
  ???????????????????????????????????????????=) ;;
  *) fail "no private key to keep on $WG_IF (expected 44 characters of base64; not shown)" ;;
esac
before=$(wg show "$WG_IF" peers)
{ printf '[Interface]\nPrivateKey = %s\n' "$key"; sed '1,/^\[Interface\]$/d' "$WG_CONF"; } | wg syncconf "$WG_IF" /dev/stdin
unset key
# Preshared keys, from their mounted files (peers.tsv names each one's volume).
awk -F '\t' '!/^#/ && $3 != "-" { print $1, $3 }' "$PEERS_TSV" | while read -r peer volume; do
  wg set "$WG_IF" peer "$peer" preshared-key "$PSK_DIR/$volume/psk" || fail "cannot set the preshared key of peer $peer from $PSK_DIR/$volume/psk"
done

ip link set dev "$WG_IF" mtu "$MTU"
ip link set dev "$WG_IF" up
# New service addresses, and a route per peer; routes to peers that left go.
current=$(addresses_of_wg0)
routes=$(ip -4 route show dev "$WG_IF" | awk '{ sub(/\/32$/, "", $1); print $1 }')
awk -v want="$ADDRESSES" -v have="$current" -v peers="$PEERS" -v routes="$routes" -v dev="$WG_IF" 'BEGIN {
  n = split(have, h, /[ \n]+/); for (i = 1; i <= n; i++) got[h[i]] = 1
  n = split(want, w, " "); for (i = 1; i <= n; i++) if (!(w[i] in got)) print "address add " w[i] "/32 dev " dev
  n = split(peers, p, " "); for (i = 1; i <= n; i++) { print "route replace " p[i] "/32 dev " dev; keep[p[i]] = 1 }
  n = split(routes, r, /[ \n]+/); for (i = 1; i <= n; i++) if (r[i] != "" && !(r[i] in keep)) print "route del " r[i] "/32 dev " dev
}' | ip -batch -

after=$(wg show "$WG_IF" peers)
changes=$(awk -v a="$before" -v b="$after" 'BEGIN { n = split(a, x, /\n/); for (i = 1; i <= n; i++) if (x[i] != "") old[x[i]] = 1
  m = split(b, y, /\n/); for (i = 1; i <= m; i++) if (y[i] != "") { if (y[i] in old) delete old[y[i]]; else add++ }
  for (k in old) del++; printf "+%d -%d", add, del }')
if [ "$MODE" = init ]; then
  prune
  log "$WG_IF is up on UDP $LISTEN_PORT with $N_ADDRESSES service address(es) and $N_PEERS peer(s)"
else
  log "$WG_IF has $N_ADDRESSES service address(es) and $N_PEERS peer(s) ($changes peers); MTU $MTU"
fi
