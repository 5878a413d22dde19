/**
 * Renders the WireGuard side of the gateway: the peer configuration for
 * `wg syncconf` and the init container's script. Pure functions of a GatewaySpec.
 */
import { FILES, GatewaySpec, PATHS, RouteSpec } from './_model';
import { commentText, generatedBy, lines, shellPreamble, sortAddresses, sortByAddress } from './_text';

/** The distinct service addresses, sorted. */
export function serviceAddresses(routes: RouteSpec[]): string[] {
  return sortAddresses(routes.map((r) => r.address));
}

/**
 * The `wg syncconf` file. It holds no private key: the init script loads that
 * from the mounted Secret with `wg set ... private-key <file>`.
 */
export function renderWgConf(spec: GatewaySpec): string {
  const peers = sortByAddress(spec.peers).flatMap((p) => [
    '',
    `# Peer ${commentText(p.name)} (${commentText(p.path)})`,
    '[Peer]',
    `PublicKey = ${p.publicKey}`,
    `AllowedIPs = ${p.address}/32`,
  ]);
  return lines(
    generatedBy(spec.path),
    `# The private key is not in this file: ${FILES.initScript} loads it from the Secret.`,
    '[Interface]',
    `ListenPort = ${spec.listenPort}`,
    peers, // an array, not spread: call arguments are bounded by the stack
  );
}

export const MODULE_MISSING_MESSAGE =
  'the node\'s kernel has no WireGuard module. Run the gateway on nodes with Linux 5.6 or later ' +
  '(WireGuard is built in), or load it on the node with modprobe wireguard ' +
  '(package wireguard-dkms on older kernels). A pod cannot load kernel modules itself.';

/**
 * The script that brings wg0 to this configuration, changing only what
 * differs, so that it can run again on a live interface without touching
 * anything that did not change. Modes:
 *
 * - `init.sh` (the init container): switches forwarding off, creates wg0,
 *   loads the private key from the Secret, then does what `apply` does and
 *   removes service addresses that no socket uses;
 * - `init.sh check`: checks wg0.conf, changes nothing (the agent runs it
 *   before `apply`);
 * - `init.sh apply` (the agent, on a change): peers, preshared keys, MTU, new
 *   service addresses and the routes to peers, keeping the interface's key;
 * - `init.sh prune` (the agent, after nginx reloaded): removes the service
 *   addresses of earlier configurations once no TCP socket uses them.
 */
export function renderInitScript(spec: GatewaySpec): string {
  const addresses = serviceAddresses(spec.routes);
  const peers = sortByAddress(spec.peers);
  const listeners = sortByAddress(spec.routes).map((r) => `${r.address}:${r.listenPort}`);
  const forwarding = spec.initSetsSysctls
    ? [
      '# No forwarding in the pod: a peer that widens its own AllowedIPs must reach',
      '# nothing but nginx. Pods inherit forwarding from the node, so switch it off.',
      'if [ "$MODE" = init ]; then',
      '  echo 0 > /proc/sys/net/ipv4/ip_forward',
      '  if [ -w /proc/sys/net/ipv6/conf/all/forwarding ]; then echo 0 > /proc/sys/net/ipv6/conf/all/forwarding; fi',
      'fi',
    ]
    : [
      '# Forwarding is switched off by the pod\'s sysctls (the init container has',
      '# NET_ADMIN only and cannot write /proc/sys); check that it really is.',
    ];
  return lines(
    shellPreamble(spec.path),
    '# Brings the WireGuard interface in the pod\'s network namespace to this',
    '# configuration, changing only what differs; safe to run again on a live interface.',
    '#   init.sh         the init container: forwarding off, create wg0, key from the Secret, then apply',
    '#   init.sh check   check wg0.conf; change nothing',
    '#   init.sh apply   the agent, on a change: peers, MTU, new addresses, peer routes; key kept',
    '#   init.sh prune   the agent: remove old service addresses once no TCP socket uses them',
    '#   init.sh ready   the readiness probe: wg0 up with its key, every address, nginx on every route',
    'set -eu',
    'MODE="${1:-init}"',
    `CONFIG_DIR="\${CONFIG_DIR:-${PATHS.configDir}}"`,
    `KEY_FILE="\${KEY_FILE:-${PATHS.keyDir}/${PATHS.keyFile}}"`,
    `WG_IF="${spec.interfaceName}"`,
    `# The service addresses (${addresses.length}) and the peers' tunnel addresses (${peers.length}).`,
    `ADDRESSES="${addresses.join(' ')}"`,
    `PEERS="${peers.map((p) => p.address).join(' ')}"`,
    `# What nginx listens on (${listeners.length}).`,
    `LISTENERS="${listeners.join(' ')}"`,
    '',
    'log() { echo "$MODE: $*"; }',
    'fail() { echo "$MODE: $*" >&2; exit 1; }',
    'case $MODE in init | check | apply | prune | ready) ;; *) fail "unknown mode (use init, check, apply, prune or ready)" ;; esac',
    '',
    '# wg0.conf holds [Interface] with ListenPort, then one [Peer] per peer; anything else',
    '# means the file is not what the library wrote, and nothing is applied.',
    'check_conf() {',
    '  awk \'',
    '    /^(#.*)?$/ { next }',
    '    /^\\[Interface\\]$/ { if ((seen++ || peers) && !bad) bad = NR; next }',
    '    /^\\[Peer\\]$/ { if (!seen && !bad) bad = NR; peers++; next }',
    '    /^(ListenPort|PersistentKeepalive) = [0-9]+$/ { next }',
    '    /^PublicKey = [A-Za-z0-9+\\/]+=$/ && length($0) == 56 { next }',
    '    /^AllowedIPs = [0-9.\\/]+(, [0-9.\\/]+)*$/ { next }',
    '    { if (!bad) bad = NR }',
    '    END { if (bad) { print "line " bad; exit 1 } if (!seen) { print "no [Interface]"; exit 1 } }\' "$1"',
    '}',
    `if ! where=$(check_conf "$CONFIG_DIR/${FILES.wgConf}"); then`,
    `  fail "$CONFIG_DIR/${FILES.wgConf} is not a WireGuard configuration this library wrote ($where); nothing applied"`,
    'fi',
    '[ "$MODE" != check ] || exit 0',
    '',
    '# in_use ADDRESS: a TCP socket (any state but TIME_WAIT) has ADDRESS as its local',
    '# address. /proc/net/tcp prints it as hex in host byte order: both orders are tried.',
    'in_use() {',
    '  old_ifs=$IFS; IFS=.; set -- $1; IFS=$old_ifs',
    '  awk -v a="$(printf \'%02X%02X%02X%02X\' "$4" "$3" "$2" "$1")" -v b="$(printf \'%02X%02X%02X%02X\' "$1" "$2" "$3" "$4")" \\',
    '    \'NR > 1 { split($2, l, ":"); if ((l[1] == a || l[1] == b) && $4 != "06") { found = 1; exit } } END { exit !found }\' /proc/net/tcp',
    '}',
    '# prune: removes the service addresses this configuration does not have, once',
    '# nginx no longer listens on them and their last session has closed.',
    'prune() {',
    '  for a in $(ip -4 -o address show dev "$WG_IF" | awk \'{ sub(/\\/.*/, "", $4); print $4 }\'); do',
    '    case " $ADDRESSES " in *" $a "*) continue ;; esac',
    '    if in_use "$a"; then continue; fi',
    '    ip address del "$a/32" dev "$WG_IF"',
    '    log "removed service address $a: not in this configuration, and no socket uses it"',
    '  done',
    '}',
    'if [ "$MODE" = prune ]; then prune; exit 0; fi',
    '',
    '# ready: the readiness probe. Peers can be served: wg0 is up with a key on its port, has',
    '# every service address, and nginx listens on every route.',
    'ready() {',
    '  flags=$(ip -o link show dev "$WG_IF" 2>/dev/null) || { echo "not ready: $WG_IF does not exist"; return 1; }',
    '  case $flags in *[\\<,]UP[,\\>]*) ;; *) echo "not ready: $WG_IF is down"; return 1 ;; esac',
    '  case $(wg show "$WG_IF" private-key 2>/dev/null) in "" | "(none)") echo "not ready: $WG_IF has no private key"; return 1 ;; esac',
    `  [ "$(wg show "$WG_IF" listen-port 2>/dev/null)" = ${spec.listenPort} ] || { echo "not ready: $WG_IF does not listen on UDP ${spec.listenPort}"; return 1; }`,
    '  have=" $(ip -4 -o address show dev "$WG_IF" | awk \'{ sub(/\\/.*/, "", $4); printf "%s ", $4 }\')"',
    '  for a in $ADDRESSES; do',
    '    case $have in *" $a "*) ;; *) echo "not ready: $WG_IF lacks the service address $a"; return 1 ;; esac',
    '  done',
    '  # One pass over /proc/net/tcp for every listener (LISTEN is state 0A; the port is always big-endian hex).',
    '  missing=$(awk -v want="$LISTENERS" \'BEGIN { n = split(want, w, " ") } NR > 1 && $4 == "0A" { have[$2] = 1 }',
    '    END { for (i = 1; i <= n; i++) { split(w[i], p, ":"); split(p[1], o, ".")',
    '      le = sprintf("%02X%02X%02X%02X:%04X", o[4], o[3], o[2], o[1], p[2]); be = sprintf("%02X%02X%02X%02X:%04X", o[1], o[2], o[3], o[4], p[2])',
    '      if (!(le in have) && !(be in have)) { print w[i]; exit } } }\' /proc/net/tcp)',
    '  [ -z "$missing" ] || { echo "not ready: nothing listens on $missing (nginx)"; return 1; }',
    `  echo "ready: $WG_IF is up with its key on UDP ${spec.listenPort}, ${addresses.length} service address(es), nginx listens on ${listeners.length} route(s)"`,
    '}',
    'if [ "$MODE" = ready ]; then ready; exit; fi',
    '',
    ...forwarding,
    'if [ "$(cat /proc/sys/net/ipv4/ip_forward)" != 0 ]; then',
    '  fail "net.ipv4.ip_forward is still on in the pod; refusing to start a gateway that forwards"',
    'fi',
    '',
    'if ! ip link show dev "$WG_IF" >/dev/null 2>&1; then',
    '  [ "$MODE" = init ] || fail "$WG_IF does not exist; the init container creates it: restart the pod"',
    '  if ! ip link add dev "$WG_IF" type wireguard; then',
    `    fail "cannot create $WG_IF: ${MODULE_MISSING_MESSAGE}"`,
    '  fi',
    'fi',
    '',
    '# The peers, with wg syncconf: it changes only what differs, so live sessions stay.',
    '# It reads a whole configuration, key included: without PrivateKey it would clear',
    '# the key, and a different key would end every peer\'s session. init takes the key',
    '# from the Secret; apply keeps the interface\'s own. It goes through a pipe only.',
    'if [ "$MODE" = init ]; then',
    '  if [ ! -r "$KEY_FILE" ]; then',
    '    fail "the private key file $KEY_FILE is missing or unreadable; check the Secret named by the gateway\'s privateKey"',
    '  fi',
    '  key=$(cat "$KEY_FILE")',
    'else',
    '  key=$(wg show "$WG_IF" private-key)',
    'fi',
    'case $key in',
    `  ${'?'.repeat(43)}=) ;;`,
    '  *) fail "no private key to keep on $WG_IF (expected 44 characters of base64; not shown)" ;;',
    'esac',
    'before=$(wg show "$WG_IF" peers)',
    `{ printf '[Interface]\\nPrivateKey = %s\\n' "$key"; sed '1,/^\\[Interface\\]$/d' "$CONFIG_DIR/${FILES.wgConf}"; } | wg syncconf "$WG_IF" /dev/stdin`,
    'unset key',
    peers
      .filter((p) => p.presharedKeyFile !== undefined)
      .map((p) => `wg set "$WG_IF" peer "${p.publicKey}" preshared-key "${p.presharedKeyFile}"`),
    '',
    `ip link set dev "$WG_IF" mtu ${spec.mtu}`,
    'ip link set dev "$WG_IF" up',
    '# New service addresses, and a route per peer; routes to peers that left go.',
    'current=$(ip -4 -o address show dev "$WG_IF" | awk \'{ sub(/\\/.*/, "", $4); print $4 }\')',
    'routes=$(ip -4 route show dev "$WG_IF" | awk \'{ sub(/\\/32$/, "", $1); print $1 }\')',
    'awk -v want="$ADDRESSES" -v have="$current" -v peers="$PEERS" -v routes="$routes" -v dev="$WG_IF" \'BEGIN {',
    '  n = split(have, h, /[ \\n]+/); for (i = 1; i <= n; i++) got[h[i]] = 1',
    '  n = split(want, w, " "); for (i = 1; i <= n; i++) if (!(w[i] in got)) print "address add " w[i] "/32 dev " dev',
    '  n = split(peers, p, " "); for (i = 1; i <= n; i++) { print "route replace " p[i] "/32 dev " dev; keep[p[i]] = 1 }',
    '  n = split(routes, r, /[ \\n]+/); for (i = 1; i <= n; i++) if (r[i] != "" && !(r[i] in keep)) print "route del " r[i] "/32 dev " dev',
    '}\' | ip -batch -',
    '',
    'after=$(wg show "$WG_IF" peers)',
    'changes=$(awk -v a="$before" -v b="$after" \'BEGIN { n = split(a, x, /\\n/); for (i = 1; i <= n; i++) if (x[i] != "") old[x[i]] = 1',
    '  m = split(b, y, /\\n/); for (i = 1; i <= m; i++) if (y[i] != "") { if (y[i] in old) delete old[y[i]]; else add++ }',
    '  for (k in old) del++; printf "+%d -%d", add, del }\')',
    'if [ "$MODE" = init ]; then',
    '  prune',
    `  log "$WG_IF is up on UDP ${spec.listenPort} with ${addresses.length} service address(es) and ${peers.length} peer(s)"`,
    'else',
    `  log "$WG_IF has ${addresses.length} service address(es) and ${peers.length} peer(s) ($changes peers); MTU ${spec.mtu}"`,
    'fi',
  );
}
