#!/bin/sh
# init.sh (cdk8s-wireguard-gateway): brings the pod's WireGuard interface and its
# packet filter to the configuration in $CONFIG_DIR, changing only what differs,
# so that it can run again on a live interface without touching what did not change.
#
#   init.sh           the init container: forwarding off, create wg0, the key from
#                     the Secret, then what apply does, then prune
#   init.sh check     check the configuration's files as data; change nothing
#   init.sh restrict  the agent, on a change, before nginx has it: wg0 drops the peers
#                     the configuration lacks (or has at another address) and adds none;
#                     preshared keys of the peers it keeps, MTU, new service addresses,
#                     routes to peers, the packet filter
#   init.sh apply     the agent, once nginx serves the configuration: what restrict
#                     does, and the new peers; the interface keeps its own key
#   init.sh prune     the agent: remove the service addresses of earlier configurations
#                     once no TCP socket uses them
#   init.sh ready     the readiness probe: wg0 up with its key, every service address,
#                     the packet filter in place, nginx listening on every route
#
# The packet filter (iptables, nf_tables backend: NET_ADMIN only), chains WGGW-INPUT
# and WGGW-FORWARD, first in INPUT and FORWARD: from wg0, only a new TCP connection to
# a route's address and port (and the segments of connections that exist) reaches the
# pod; nothing else from wg0, and nothing from another interface reaches the service
# network; nothing is forwarded.
#
# The same file for every gateway, run from a copy each container checked against the
# SHA-256 sum its Deployment names. What differs between gateways is data, which this
# script parses and checks and never runs: wg0.conf (the peers, for wg), routes.tsv,
# peers.tsv and live.env, and start.env (the service network; who switches forwarding
# off), read from START_SETTINGS, which the agent points at its copy made at its start.
# Keys never reach a log: every key is checked before wg reads it, and wg's messages
# are shown with anything that may be a key cut out.
# Every path below can be redirected through the environment (the tests do).
set -eu
# Bytes, not characters: the same parsing whatever locale the image or the caller sets.
export LC_ALL=C
MODE="${1:-init}"
CONFIG_DIR="${CONFIG_DIR:-/etc/wireguard-gateway}"
START_SETTINGS="${START_SETTINGS:-$CONFIG_DIR/start.env}"
KEY_FILE="${KEY_FILE:-/run/secrets/wireguard-gateway/private-key}"
PSK_DIR="${PSK_DIR:-/run/secrets/wireguard-gateway-psk}"
PROC="${PROC:-/proc}"
WG_IF="${WG_IF:-wg0}"
IPTABLES="${IPTABLES:-iptables-nft}"
IPTABLES_RESTORE="${IPTABLES_RESTORE:-iptables-nft-restore}"
FILTER_INPUT=WGGW-INPUT
FILTER_FORWARD=WGGW-FORWARD
TAB=$(printf '\t')

log() { echo "$MODE: $*"; }
fail() { echo "$MODE: $*" >&2; exit 1; }
case $MODE in init | check | restrict | apply | prune | ready) ;; *) fail "unknown mode (use init, check, restrict, apply, prune or ready)" ;; esac

# setting NAME FILE: the value of NAME in FILE, whose lines are "name=value" or "# comment".
setting() {
  awk -v k="$1" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); found = 1; exit } END { exit !found }' "$2" \
    || fail "$2 has no setting $1 (or cannot be read); nothing applied"
}

# is_key TEXT: TEXT is a WireGuard key as wg writes one: 32 bytes of base64, so 44
# characters, the 43rd one of the 16 whose last two bits are zero, the 44th "=".
is_key() {
  case $1 in *[!A-Za-z0-9+/=]*) return 1 ;; esac
  [ "${#1}" -eq 44 ] || return 1
  case $1 in *[AEIMQUYcgkosw048]=) ;; *) return 1 ;; esac
  case ${1%=} in *=*) return 1 ;; esac
}

# without_keys: wg's message, its last line, with anything that may be a key cut out
# (wg quotes what it could not parse, which may be a key).
without_keys() {
  tail -n 1 | sed -e "s/\`[^']*'/<not shown>/g" -e 's/[A-Za-z0-9+\/]\{20,\}=*/<not shown>/g' | cut -c 1-200
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
    /^PublicKey = [A-Za-z0-9+\/]+[AEIMQUYcgkosw048]=$/ && length($0) == 56 { next }
    /^AllowedIPs = [0-9.\/]+(, [0-9.\/]+)*$/ { next }
    { if (!bad) bad = NR }
    END { if (bad) { print "line " bad; exit 1 } if (!seen) { print "no [Interface]"; exit 1 } }' "$1"
}

# The checks the two tables share, in awk: net.awk's (an IPv4 address, one inside
# the service network, a TCP port), a name (a Prometheus label value: \\, \" and \n
# escaped, no control character), the first problem with its line, and a value
# shown in a message (printable, cut short).
NET_AWK=$(cat "$(dirname "$0")/net.awk") || fail "cannot read net.awk next to $0"
TABLE_AWK="$NET_AWK"'
  function name(n,  t) {
    if (n == "" || n ~ /[[:cntrl:]]/) return 0
    t = n; gsub(/\\\\|\\"|\\n/, "", t); return t !~ /["\\]/
  }
  function show(v) { gsub(/[^ -~]/, "?", v); return "\"" substr(v, 1, 60) "\"" }
  function bad(why) { print "line " FNR ": " why; exit 1 }
  /^#/ { next }
'

# routes.tsv: "address TAB port TAB target TAB name", one route a line; every address
# inside the service network.
check_routes() {
  awk -F '\t' -v net="$SERVICE_NETWORK" "$TABLE_AWK"'
    NF != 4 { bad(NF " fields; expected 4: address, port, target, name") }
    !ipv4($1) { bad("address " show($1) " is not an IPv4 address") }
    !inside($1) { bad("address " $1 " is outside the service network " net) }
    !port($2) { bad("port " show($2) " is not a TCP port") }
    $3 !~ /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/ || length($3) > 253 { bad("target " show($3) " is not a DNS name") }
    !name($4) { bad("the name is empty, holds a control character or an unescaped \" or \\") }' "$1"
}

# peers.tsv: "public key TAB address TAB preshared-key volume or - TAB name", one peer
# a line, every address outside the service network; and wg0.conf must have exactly
# these peers, each with AllowedIPs <address>/32.
check_peers() {
  awk -F '\t' -v net="$SERVICE_NETWORK" "$TABLE_AWK"'
    NF != 4 { bad(NF " fields; expected 4: public key, address, preshared key, name") }
    $1 !~ /^[A-Za-z0-9+\/]+[AEIMQUYcgkosw048]=$/ || length($1) != 44 { bad("public key " show($1) " is not a WireGuard key") }
    !ipv4($2) { bad("address " show($2) " is not an IPv4 address") }
    inside($2) { bad("address " $2 " is inside the service network " net) }
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

SERVICE_NETWORK=$(setting service_network "$START_SETTINGS")
printf '%s\n' "$SERVICE_NETWORK" | awk -F / '
  NF == 2 && $2 ~ /^[0-9]+$/ && $2 >= 16 && $2 <= 32 && split($1, o, ".") == 4 {
    for (i = 1; i <= 4; i++) if (o[i] !~ /^[0-9]+$/ || o[i] > 255) exit 1
    exit 0
  }
  { exit 1 }' || fail "$START_SETTINGS: service_network \"$SERVICE_NETWORK\" is not an IPv4 network of /16 to /32; nothing applied"
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
# (distinct), what nginx listens on (address:port).
LISTEN_PORT=$(awk '$1 == "ListenPort" { print $3; exit }' "$WG_CONF")
ADDRESSES=$(awk -F '\t' '!/^#/ && !seen[$1]++ { printf "%s ", $1 }' "$ROUTES")
LISTENERS=$(awk -F '\t' '!/^#/ { printf "%s:%s ", $1, $2 }' "$ROUTES")
N_ADDRESSES=$(echo "$ADDRESSES" | wc -w | tr -d ' ')
N_LISTENERS=$(echo "$LISTENERS" | wc -w | tr -d ' ')

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

# filter_hooked: the packet filter's chains are hooked into INPUT and FORWARD.
filter_hooked() {
  "$IPTABLES" -C INPUT -j "$FILTER_INPUT" >/dev/null 2>&1 && "$IPTABLES" -C FORWARD -j "$FILTER_FORWARD" >/dev/null 2>&1
}

# ready: the readiness probe. Peers can be served: wg0 is up with a key on its port, has
# every service address, the packet filter is in place, and nginx listens on every route.
ready() {
  flags=$(ip -o link show dev "$WG_IF" 2>/dev/null) || { echo "not ready: $WG_IF does not exist"; return 1; }
  case $flags in *[\<,]UP[,\>]*) ;; *) echo "not ready: $WG_IF is down"; return 1 ;; esac
  case $(wg show "$WG_IF" private-key 2>/dev/null) in "" | "(none)") echo "not ready: $WG_IF has no private key"; return 1 ;; esac
  [ "$(wg show "$WG_IF" listen-port 2>/dev/null)" = "$LISTEN_PORT" ] || { echo "not ready: $WG_IF does not listen on UDP $LISTEN_PORT"; return 1; }
  have=" $(addresses_of_wg0 | tr '\n' ' ')"
  for a in $ADDRESSES; do
    case $have in *" $a "*) ;; *) echo "not ready: $WG_IF lacks the service address $a"; return 1 ;; esac
  done
  filter_hooked || { echo "not ready: the packet filter ($FILTER_INPUT, $FILTER_FORWARD) is not in place"; return 1; }
  # One pass over /proc/net/tcp for every listener (LISTEN is state 0A; the port is always big-endian hex).
  missing=$(awk -v want="$LISTENERS" 'BEGIN { n = split(want, w, " ") } NR > 1 && $4 == "0A" { have[$2] = 1 }
    END { for (i = 1; i <= n; i++) { split(w[i], p, ":"); split(p[1], o, ".")
      le = sprintf("%02X%02X%02X%02X:%04X", o[4], o[3], o[2], o[1], p[2]); be = sprintf("%02X%02X%02X%02X:%04X", o[1], o[2], o[3], o[4], p[2])
      if (!(le in have) && !(be in have)) { print w[i]; exit } } }' "$PROC/net/tcp")
  [ -z "$missing" ] || { echo "not ready: nothing listens on $missing (nginx)"; return 1; }
  echo "ready: $WG_IF is up with its key on UDP $LISTEN_PORT, $N_ADDRESSES service address(es), the packet filter, nginx listens on $N_LISTENERS route(s)"
}
if [ "$MODE" = ready ]; then ready; exit; fi

# --- init, restrict and apply change the interface and the filter from here on.

# No forwarding in the pod: a peer that widens its own AllowedIPs must reach nothing but
# nginx. Pods inherit forwarding from the node. start.env says who switches it off: this
# script (a privileged init container), or the pod's sysctl (NET_ADMIN cannot write
# /proc/sys). The packet filter drops what would be forwarded as well.
if [ "$MODE" = init ]; then
  off_by=$(setting forwarding_off_by "$START_SETTINGS")
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

# The packet filter, before anything listens: the chains are replaced as a whole, and
# hooked first into INPUT and FORWARD, in one iptables-restore transaction.
filter_rules() {
  echo '*filter'
  echo ":$FILTER_INPUT - [0:0]"
  echo ":$FILTER_FORWARD - [0:0]"
  awk -F '\t' -v c="$FILTER_INPUT" -v i="$WG_IF" '!/^#/ && !seen[$1 ":" $2]++ {
    print "-A " c " -i " i " -p tcp --syn -d " $1 "/32 --dport " $2 " -j ACCEPT" }' "$ROUTES"
  echo "-A $FILTER_INPUT -i $WG_IF -p tcp ! --syn -d $SERVICE_NETWORK -j ACCEPT"
  echo "-A $FILTER_INPUT -i $WG_IF -p tcp -j REJECT --reject-with tcp-reset"
  echo "-A $FILTER_INPUT -i $WG_IF -j DROP"
  echo "-A $FILTER_INPUT -d $SERVICE_NETWORK -j DROP"
  echo "-A $FILTER_FORWARD -j DROP"
  "$IPTABLES" -C INPUT -j "$FILTER_INPUT" >/dev/null 2>&1 || echo "-I INPUT 1 -j $FILTER_INPUT"
  "$IPTABLES" -C FORWARD -j "$FILTER_FORWARD" >/dev/null 2>&1 || echo "-I FORWARD 1 -j $FILTER_FORWARD"
  echo 'COMMIT'
}
command -v "$IPTABLES_RESTORE" >/dev/null 2>&1 \
  || fail "$IPTABLES_RESTORE is not in the image: the packet filter needs iptables 1.8 or later with its nf_tables backend (the default init image has it)"
rules=$(filter_rules)
if ! out=$(printf '%s\n' "$rules" | "$IPTABLES_RESTORE" --noflush 2>&1); then
  fail "cannot set the packet filter ($IPTABLES_RESTORE: $(printf '%s\n' "$out" | tail -n 1 | cut -c 1-200)); does the node's kernel have nf_tables?"
fi
N_FILTERED=$(awk -F '\t' '!/^#/ && !seen[$1 ":" $2]++ { n++ } END { print n + 0 }' "$ROUTES")

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
# from the Secret; restrict and apply keep the interface's own. It goes through a
# pipe only, and is checked first: wg would print a key it cannot parse.
if [ "$MODE" = init ]; then
  if [ ! -r "$KEY_FILE" ]; then
    fail "the private key file $KEY_FILE is missing or unreadable; check the Secret named by the gateway's privateKey"
  fi
  key=$(cat "$KEY_FILE")
  is_key "$key" || fail "the private key in $KEY_FILE is not a WireGuard key (${#key} characters; not shown): expected 44 characters of base64 ending in \"=\", as printed by wg genkey"
else
  key=$(wg show "$WG_IF" private-key 2>/dev/null) || key=""
  is_key "$key" || fail "no private key to keep on $WG_IF (expected a WireGuard key; not shown)"
fi
before=$(wg show "$WG_IF" peers)
# peer_blocks: wg0.conf after its [Interface] line; with restrict, only the peers wg0 has
# now at the same address (a peer the configuration moved leaves until apply).
peer_blocks() {
  if [ "$MODE" = restrict ]; then
    # A tagged stream (W: what wg0 has, C: wg0.conf), not awk -v: a 10,000-peer list is
    # longer than one argument may be.
    { wg show "$WG_IF" allowed-ips | sed "s/^/W$TAB/"; sed "s/^/C$TAB/" "$WG_CONF"; } | awk -F '\t' '
      function flush() { if (block != "" && ((key " " ips) in have)) printf "%s", block; block = "" }
      $1 == "W" { have[$2 " " $3] = 1; next }
      { line = substr($0, 3) }
      line == "" || line ~ /^#/ { next }
      !started { if (line == "[Interface]") started = 1; next }
      line == "[Peer]" { flush(); peer = 1 }
      !peer { print line; next }
      line ~ /^PublicKey = / { key = substr(line, 13) }
      line ~ /^AllowedIPs = / { ips = substr(line, 14) }
      { block = block line "\n" }
      END { flush() }'
  else
    sed '1,/^\[Interface\]$/d' "$WG_CONF"
  fi
}
if ! out=$({ printf '[Interface]\nPrivateKey = %s\n' "$key"; peer_blocks; } | wg syncconf "$WG_IF" /dev/stdin 2>&1); then
  fail "wg syncconf $WG_IF failed: $(printf '%s\n' "$out" | without_keys)"
fi
unset key
after=$(wg show "$WG_IF" peers)
# Preshared keys of the peers wg0 has, from their mounted files (peers.tsv names each
# one's volume); each checked first: an empty file would remove the key, and wg would
# print one it cannot parse.
{ printf '%s\n' "$after" | sed "s/^/W$TAB/"; sed "s/^/P$TAB/" "$PEERS_TSV"; } | awk -F '\t' '
  $1 == "W" { on[$2] = 1; next }
  $2 !~ /^#/ && $4 != "-" && ($2 in on) { print $2, $4 }' | while read -r peer volume; do
  file="$PSK_DIR/$volume/psk"
  psk=$(cat "$file" 2>/dev/null) || fail "cannot read the preshared key of peer $peer ($file); check its presharedKeySecret"
  is_key "$psk" || fail "the preshared key of peer $peer ($file) is not a WireGuard key (${#psk} characters; not shown): expected 44 characters of base64 ending in \"=\", as printed by wg genpsk"
  out=$(wg set "$WG_IF" peer "$peer" preshared-key "$file" 2>&1) || fail "cannot set the preshared key of peer $peer from $file: $(printf '%s\n' "$out" | without_keys)"
done

ip link set dev "$WG_IF" mtu "$MTU"
ip link set dev "$WG_IF" up
# New service addresses, and a route per peer wg0 has; routes to peers that left go.
# What is there now, as one tagged list (S: service address, A: on wg0, P: a peer's
# address, R: a route), read before anything changes.
now=$(
  for a in $ADDRESSES; do echo "S $a"; done
  addresses_of_wg0 | sed 's/^/A /'
  wg show "$WG_IF" allowed-ips | cut -f 2 | tr ' ' '\n' | sed -n 's#^\([0-9.]*\)/32$#P \1#p'
  ip -4 route show dev "$WG_IF" | awk '{ sub(/\/32$/, "", $1); print "R " $1 }'
)
printf '%s\n' "$now" | awk -v dev="$WG_IF" '
  $1 == "S" { want[++n] = $2; next }
  $1 == "A" { got[$2] = 1; next }
  $1 == "P" { print "route replace " $2 "/32 dev " dev; keep[$2] = 1; next }
  $1 == "R" { route[++m] = $2 }
  END {
    for (i = 1; i <= n; i++) if (!(want[i] in got)) print "address add " want[i] "/32 dev " dev
    for (i = 1; i <= m; i++) if (!(route[i] in keep)) print "route del " route[i] "/32 dev " dev
  }' | ip -batch -

changes=$({ printf '%s\n' "$before" | sed 's/^/-/'; printf '%s\n' "$after" | sed 's/^/+/'; } | awk '
  /^-./ { old[substr($0, 2)] = 1; next }
  /^\+./ { k = substr($0, 2); if (k in old) delete old[k]; else add++ }
  END { for (k in old) del++; printf "+%d -%d", add, del }')
N_PEERS=$(printf '%s\n' "$after" | awk 'NF { n++ } END { print n + 0 }')
N_WANTED=$(awk '!/^#/ { n++ } END { print n + 0 }' "$PEERS_TSV")
case $MODE in
  init)
    prune
    log "$WG_IF is up on UDP $LISTEN_PORT with $N_ADDRESSES service address(es) and $N_PEERS peer(s); the packet filter admits $N_FILTERED route(s)" ;;
  restrict)
    log "$WG_IF has $N_ADDRESSES service address(es) and $N_PEERS peer(s) ($changes peers; $((N_WANTED - N_PEERS)) wait for nginx); MTU $MTU; the packet filter admits $N_FILTERED route(s)" ;;
  *)
    log "$WG_IF has $N_ADDRESSES service address(es) and $N_PEERS peer(s) ($changes peers); MTU $MTU; the packet filter admits $N_FILTERED route(s)" ;;
esac
