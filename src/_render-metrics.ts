/**
 * Renders metrics.sh, which prints the gateway's Prometheus text (metrics on),
 * and the names the metrics' parts share. A pure function of a GatewaySpec;
 * the lines nginx.conf, start-nginx.sh and agent.sh add are in
 * _render-metrics-lines.ts.
 *
 * How it fits together: the agent runs metrics.sh every few seconds and moves
 * its output into the shared emptyDir (metrics.prom); nginx's http module
 * serves that file. Per peer, metrics.sh reads `wg show` (the names and labels
 * of prometheus_wireguard_exporter); per route, the established sockets in
 * /proc/net/tcp and the lines of nginx's sessions log (one per ended session);
 * for the gateway, the counters the agent keeps of each configuration change.
 */
import { FILES, GatewaySpec, MetricsSpec, PATHS, PeerSpec, RouteSpec } from './_model';
import { lines, shellPreamble, sortByAddress } from './_text';

/** The Prometheus text the agent writes into the shared emptyDir; nginx serves it. */
export const METRICS_FILE = 'metrics.prom';
/** nginx's stream log of ended sessions ("address:port status"), in the shared emptyDir. */
export const SESSIONS_LOG = 'sessions.log';
/** The include start-nginx.sh writes with `listen <pod IP>:<port>;`. */
export const METRICS_LISTEN_INCLUDE = `${PATHS.runDir}/metrics-listen.conf`;
/** start-nginx.sh renames the sessions log for the agent once it is this large. */
export const SESSIONS_LOG_ROTATE_BYTES = 1024 * 1024;
/**
 * When the agent has not read the last rotated log and the current one reaches
 * this size, start-nginx.sh empties it: the emptyDir stays bounded, and those
 * sessions are not counted.
 */
export const SESSIONS_LOG_DROP_BYTES = 4 * 1024 * 1024;
/** The agent deletes a rotated sessions log once nginx has not written to it for this long. */
export const SESSIONS_LOG_SEAL_SECONDS = 3;
/** How often the agent checks that each route's target resolves. */
export const RESOLVE_EVERY_SECONDS = 30;
/** nginx stream statuses every route reports from the start (0 until seen), so increase() sees the first one. */
const KNOWN_STATUSES = ['200', '403', '502'];

/**
 * A label value in the Prometheus text format: backslash, double quote and
 * line feed escaped; other control characters (a tab would split metrics.sh's
 * tables) become "_".
 */
export function promLabelValue(text: string): string {
  return String(text)
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/[\x00-\x1f\x7f]/g, '_'); // eslint-disable-line no-control-regex
}

function routeTable(routes: RouteSpec[]): string[] {
  return sortByAddress(routes).map((r) => [r.address, r.listenPort, promLabelValue(r.name), r.targetHost].join('\t'));
}

function peerTable(peers: PeerSpec[]): string[] {
  return [...peers].sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1)).map((p) => `${p.publicKey}\t${promLabelValue(p.name)}`);
}

/** prometheus_wireguard_exporter's families, in its order: name, type, help (sections 1 to 3 of metrics.sh's peer table). */
const EXPORTER_FAMILIES: Array<[string, 'counter' | 'gauge', string]> = [
  ['wireguard_sent_bytes_total', 'counter', 'Bytes sent to the peer'],
  ['wireguard_received_bytes_total', 'counter', 'Bytes received from the peer'],
  ['wireguard_latest_handshake_seconds', 'gauge', 'Seconds from the last handshake'],
];

/** The HELP and TYPE lines of one metric family. */
function family(name: string, type: 'counter' | 'gauge', help: string): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
}

/** `printf` lines that print a family's HELP and TYPE (no shell expansion in them). */
function printFamily(name: string, type: 'counter' | 'gauge', help: string): string {
  return `printf '%s\\n' ${family(name, type, help).map((l) => `'${l.replace(/'/g, '\'\\\'\'')}'`).join(' ')}`;
}

/**
 * metrics.sh: prints the gateway's metrics. Run by the agent (root with
 * NET_ADMIN), from its own copy of the configuration that applied
 * (APPLIED_DIR), every `refreshSeconds`.
 */
export function renderMetricsScript(spec: GatewaySpec): string {
  const m = metricsOf(spec);
  const routes = routeTable(spec.routes);
  const peers = peerTable(spec.peers);
  return lines(
    shellPreamble(spec.path),
    '# Prints the gateway\'s metrics in the Prometheus text format. The agent runs it',
    `# every ${m.refreshSeconds} s and moves what it prints to $STATE_DIR/${METRICS_FILE}, which nginx serves`,
    `# on the pod's own address at /metrics (port ${m.port}). It reads, and changes nothing but its own`,
    '# bookkeeping in $AGENT_DIR:',
    '#   per peer   wg show (transfer, latest-handshakes, allowed-ips), never the private key;',
    '#   per route  established TCP sockets on its address:port (/proc/net/tcp); the lines of',
    `#              nginx's sessions log (${SESSIONS_LOG}, one per ended session); whether its target resolves;`,
    '#   gateway    its version and configuration, and the agent\'s counts of configuration changes.',
    'set -u',
    `CONFIG_DIR="\${CONFIG_DIR:-${PATHS.configDir}}"`,
    `STATE_DIR="\${STATE_DIR:-${PATHS.stateDir}}"`,
    `AGENT_DIR="\${AGENT_DIR:-${PATHS.agentDir}}"`,
    'APPLIED_DIR="${APPLIED_DIR:-$AGENT_DIR/good}"',
    'PROC_NET_TCP="${PROC_NET_TCP:-/proc/net/tcp}"',
    `WG_IF="${spec.interfaceName}"`,
    `VERSION="${m.version.replace(/[^A-Za-z0-9.+_-]/g, '_')}"`,
    'fail() { echo "metrics: $*" >&2; exit 1; }',
    'now=$(date +%s)',
    'TAB=$(printf \'\\t\')',
    '',
    `# The routes (${routes.length}): address, port, name (a label value), target; tab-separated.`,
    'routes() {',
    '  cat <<\'ROUTES\'',
    routes,
    'ROUTES',
    '}',
    `# The peers (${peers.length}): public key, name (a label value).`,
    'peers() {',
    '  cat <<\'PEERS\'',
    peers,
    'PEERS',
    '}',
    '',
    '# --- Per peer: prometheus_wireguard_exporter\'s names, labels and help texts. ---',
    'transfer=$(wg show "$WG_IF" transfer) || fail "wg show $WG_IF transfer failed"',
    'handshakes=$(wg show "$WG_IF" latest-handshakes) || fail "wg show $WG_IF latest-handshakes failed"',
    'allowed=$(wg show "$WG_IF" allowed-ips) || fail "wg show $WG_IF allowed-ips failed"',
    '{',
    '  peers | sed "s/^/N$TAB/"',
    '  [ -z "$transfer" ] || printf \'%s\\n\' "$transfer" | sed "s/^/T$TAB/"',
    '  [ -z "$handshakes" ] || printf \'%s\\n\' "$handshakes" | sed "s/^/H$TAB/"',
    '  [ -z "$allowed" ] || printf \'%s\\n\' "$allowed" | sed "s/^/A$TAB/"',
    '} | awk -v ifc="$WG_IF" \'',
    '  BEGIN { FS = "\\t" }',
    '  $1 == "N" { name[$2] = $3; next }',
    '  $1 == "T" { rx[$2] = $3; tx[$2] = $4; seen[$2] = 1; next }',
    '  $1 == "H" { hs[$2] = $3; seen[$2] = 1; next }',
    '  $1 == "A" { ips = $3; gsub(/ /, ",", ips); al[$2] = ips; seen[$2] = 1; next }',
    '  END {',
    '    for (k in seen) {',
    '      l = "interface=\\"" ifc "\\",public_key=\\"" k "\\",allowed_ips=\\"" al[k] "\\""',
    '      if (k in name) l = l ",friendly_name=\\"" name[k] "\\""',
    '      print "1\\t" k "\\twireguard_sent_bytes_total{" l "} " (tx[k] + 0)',
    '      print "2\\t" k "\\twireguard_received_bytes_total{" l "} " (rx[k] + 0)',
    '      print "3\\t" k "\\twireguard_latest_handshake_seconds{" l "} " (hs[k] + 0)',
    '    }',
    '  }\' | sort -t "$TAB" -k1,1n -k2,2 > "$AGENT_DIR/peers.tmp" || fail "cannot write $AGENT_DIR/peers.tmp"',
    'section() { awk -F "$TAB" -v s="$1" \'$1 == s { print $3 }\' "$AGENT_DIR/peers.tmp"; }',
    EXPORTER_FAMILIES.flatMap(([name, type, help], i) => [printFamily(name, type, help), `section ${i + 1}`]),
    'rm -f "$AGENT_DIR/peers.tmp"',
    '',
    '# --- The gateway: version, configuration, configuration changes. ---',
    `applied_id=$(head -c 16 "$APPLIED_DIR/${FILES.configId}" 2>/dev/null) || applied_id=unknown`,
    `mounted_id=$(head -c 16 "$CONFIG_DIR/${FILES.configId}" 2>/dev/null) || mounted_id=unknown`,
    '# reloads: "applied rejected failed last-applied-time", kept by the agent (one count per log line).',
    'read -r ok rejected failed last 2>/dev/null < "$AGENT_DIR/reloads" || { ok=0 rejected=0 failed=0 last=0; }',
    printFamily('wireguard_gateway_info', 'gauge', 'The library version and the configuration the gateway serves (config-id, first 16 characters).'),
    'printf \'wireguard_gateway_info{version="%s",config_id="%s"} 1\\n\' "$VERSION" "$applied_id"',
    printFamily('wireguard_gateway_config_up_to_date', 'gauge', '1 when the configuration the kubelet mounted is the one the gateway serves, else 0.'),
    'if [ "$mounted_id" = "$applied_id" ]; then echo \'wireguard_gateway_config_up_to_date 1\'; else echo \'wireguard_gateway_config_up_to_date 0\'; fi',
    printFamily('wireguard_gateway_config_reloads_total', 'counter',
      'Configuration changes the agent handled, by result: applied, rejected (did not pass the check; nothing applied), failed (rolled back, or nginx did not answer).'),
    'printf \'wireguard_gateway_config_reloads_total{result="%s"} %s\\n\' applied "$ok" rejected "$rejected" failed "$failed"',
    printFamily('wireguard_gateway_config_last_applied_timestamp_seconds', 'gauge', 'When a configuration last applied (UNIX time; 0: none since the agent started).'),
    'echo "wireguard_gateway_config_last_applied_timestamp_seconds $last"',
    '',
    '# --- Per route: established sessions (TCP sockets whose local end is its address:port;',
    '# /proc/net/tcp prints addresses as hex in host byte order: both orders are tried). ---',
    printFamily('wireguard_gateway_route_sessions', 'gauge', 'Established sessions on the route (TCP connections to its address and port).'),
    'ROUTES_TSV=$(routes) awk \'',
    '  function hex(a, b, c, d, p) { return sprintf("%02X%02X%02X%02X:%04X", a, b, c, d, p) }',
    '  BEGIN {',
    '    n = split(ENVIRON["ROUTES_TSV"], r, "\\n")',
    '    for (i = 1; i <= n; i++) {',
    '      split(r[i], f, "\\t"); split(f[1], o, ".")',
    '      le[i] = hex(o[4], o[3], o[2], o[1], f[2]); be[i] = hex(o[1], o[2], o[3], o[4], f[2])',
    '      label[i] = "route=\\"" f[3] "\\",address=\\"" f[1] "\\",port=\\"" f[2] "\\""',
    '    }',
    '  }',
    '  NR > 1 && $4 == "01" { est[$2]++ }',
    '  END { for (i = 1; i <= n; i++) if (r[i] != "") print "wireguard_gateway_route_sessions{" label[i] "} " (est[le[i]] + (le[i] == be[i] ? 0 : est[be[i]])) }',
    '\' "$PROC_NET_TCP" || fail "cannot read $PROC_NET_TCP"',
    '',
    ...sessionsEnded(),
    '',
    ...targetResolves(),
    '',
    printFamily('wireguard_gateway_metrics_updated_timestamp_seconds', 'gauge', 'When the agent wrote these metrics (UNIX time): older than a few seconds means the agent stopped.'),
    'echo "wireguard_gateway_metrics_updated_timestamp_seconds $now"',
  );
}

/** metrics.sh: the sessions-log bookkeeping and the sessions-ended counter. */
function sessionsEnded(): string[] {
  return [
    '# --- Per route: sessions ended, by nginx\'s status (200 ok, 403 refused by allowPeers,',
    '# 502 target unreachable or not resolved). nginx writes one line per ended session',
    `# ("address:port status") to $STATE_DIR/${SESSIONS_LOG}; start-nginx.sh renames it to ${SESSIONS_LOG}.old when`,
    '# it has grown, and makes nginx reopen its logs. Each run counts the complete lines',
    '# after where the last run stopped, and deletes the .old file once nginx has not',
    `# written to it for ${SESSIONS_LOG_SEAL_SECONDS} s. The counts and the read position are one file, replaced at once. ---`,
    `LOG="$STATE_DIR/${SESSIONS_LOG}"`,
    'COUNTS="$AGENT_DIR/sessions.counts"',
    'inode() { ls -di "$1" 2>/dev/null | awk \'{ print $1 }\'; }',
    '# consume FILE: adds its complete lines after the recorded position (if COUNTS records',
    '# this file; else from its start) to the counts, and records the new position.',
    'consume() {',
    '  ino=$(inode "$1") size=$(wc -c 2>/dev/null < "$1") || return 0',
    '  read -r tag pino off 2>/dev/null < "$COUNTS" || { pino="" off=0; }',
    '  [ "$pino" = "$ino" ] && [ "$off" -le "$size" ] || off=0',
    '  tail -c +$((off + 1)) "$1" | head -c $((size - off)) | awk -v ino="$ino" -v off="$off" -v avail=$((size - off)) -v counts="$COUNTS" \'',
    '    { n = length($0) + 1; if (used + n > avail) exit; used += n',
    '      if ($0 ~ /^[0-9.]+:[0-9]+ [0-9]+$/) { split($0, f, " "); c[f[1] "\\t" f[2]]++ } }',
    '    END {',
    '      while ((getline line < counts) > 0) if (line !~ /^#/) { split(line, f, "\\t"); c[f[1] "\\t" f[2]] += f[3] }',
    '      print "#pos " ino " " (off + used) > (counts ".tmp")',
    '      for (k in c) print k "\\t" c[k] > (counts ".tmp")',
    '    }\' && mv -f "$COUNTS.tmp" "$COUNTS"',
    '}',
    'if [ -f "$LOG.old" ]; then',
    '  sealed=0',
    `  [ $((now - $(date -r "$LOG.old" +%s))) -lt ${SESSIONS_LOG_SEAL_SECONDS} ] || sealed=1`,
    '  consume "$LOG.old" || fail "cannot count $LOG.old"',
    '  # Once sealed: deleted first, so that a crash in between never counts it twice.',
    '  [ "$sealed" = 0 ] || { rm -f "$LOG.old"; consume "$LOG" || fail "cannot count $LOG"; }',
    'elif [ -f "$LOG" ]; then',
    '  consume "$LOG" || fail "cannot count $LOG"',
    'fi',
    printFamily('wireguard_gateway_route_sessions_ended_total', 'counter',
      'Sessions ended on the route, by nginx stream status: 200 ended normally, 403 refused by allowPeers, 502 target unreachable or not resolved.'),
    '# The counts, and 0 for the usual statuses of every route (so that increase() sees the first one).',
    `cat "$COUNTS" 2>/dev/null | ROUTES_TSV=$(routes) awk -v known="${KNOWN_STATUSES.join(' ')}" '`,
    '  BEGIN {',
    '    FS = "\\t"; n = split(ENVIRON["ROUTES_TSV"], r, "\\n"); split(known, ks, " ")',
    '    for (i = 1; i <= n; i++) if (r[i] != "") {',
    '      split(r[i], f, "\\t"); key = f[1] ":" f[2]',
    '      label[key] = "route=\\"" f[3] "\\",address=\\"" f[1] "\\",port=\\"" f[2] "\\""',
    '      for (s in ks) c[key "\\t" ks[s]] += 0',
    '    }',
    '  }',
    '  !/^#/ { c[$1 "\\t" $2] += $3 }',
    '  END {',
    '    for (k in c) { split(k, f, "\\t"); if (f[1] in label)',
    '      print "wireguard_gateway_route_sessions_ended_total{" label[f[1]] ",status=\\"" f[2] "\\"} " c[k] }',
    "  }' | sort",
  ];
}

/** metrics.sh: whether each route's target resolves, refreshed in the background. */
function targetResolves(): string[] {
  return [
    '# --- Per route: does its target resolve? getent through the pod\'s resolv.conf, at most',
    `# every ${RESOLVE_EVERY_SECONDS} s, in the background (2 s per name at most), so a DNS outage never delays`,
    '# the metrics. Left out when the image has no getent. ---',
    'RESOLVES="$AGENT_DIR/resolves"',
    'age() { echo $((now - $(date -r "$1" +%s 2>/dev/null || echo 0))); }',
    'if command -v getent >/dev/null 2>&1; then',
    `  if [ ! -f "$RESOLVES" ] || [ "$(age "$RESOLVES")" -ge ${RESOLVE_EVERY_SECONDS} ]; then`,
    '    [ ! -d "$RESOLVES.lock" ] || [ "$(age "$RESOLVES.lock")" -lt 120 ] || rmdir "$RESOLVES.lock"',
    '    if mkdir "$RESOLVES.lock" 2>/dev/null; then',
    '      (',
    '        routes | cut -f 4 | sort -u | while read -r host; do',
    '          if timeout 2 getent hosts "$host." >/dev/null 2>&1; then r=1; else r=0; fi',
    '          printf \'%s\\t%s\\n\' "$host" "$r"',
    '        done > "$RESOLVES.tmp" && mv -f "$RESOLVES.tmp" "$RESOLVES"',
    '        rmdir "$RESOLVES.lock"',
    '      ) </dev/null >/dev/null 2>&1 &',
    '    fi',
    '  fi',
    '  if [ -f "$RESOLVES" ]; then',
    `    ${printFamily('wireguard_gateway_route_target_resolves', 'gauge', '1 when the route\'s target name resolved at the last check (every 30 s), else 0.')}`,
    '    ROUTES_TSV=$(routes) awk -F "$TAB" \'',
    '      { ok[$1] = $2 }',
    '      END { n = split(ENVIRON["ROUTES_TSV"], r, "\\n"); for (i = 1; i <= n; i++) if (r[i] != "") { split(r[i], f, "\\t")',
    '        if (f[4] in ok) print "wireguard_gateway_route_target_resolves{route=\\"" f[3] "\\",address=\\"" f[1] "\\",port=\\"" f[2] "\\",target=\\"" f[4] "\\"} " ok[f[4]] } }',
    '    \' "$RESOLVES"',
    '  fi',
    'fi',
  ];
}

function metricsOf(spec: GatewaySpec): MetricsSpec {
  if (spec.metrics === undefined) throw new Error(`${spec.path}: metrics are off`);
  return spec.metrics;
}
