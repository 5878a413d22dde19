/**
 * Renders the nginx (stream module) configuration and the script that starts
 * nginx. Pure functions of a GatewaySpec.
 */
import { FILES, GatewaySpec, PATHS, RouteSpec } from './_model';
import { RELOAD_REQUEST, RELOAD_RESULT } from './_render-agent';
import { metricsHttpLines, metricsRotateLines, metricsStartLines, metricsStreamLines } from './_render-metrics-lines';
import { commentText, generatedBy, lines, shellPreamble, sortByAddress } from './_text';

/** The file start-nginx.sh writes with the pod's DNS servers, and nginx.conf includes. */
export const RESOLVER_INCLUDE = `${PATHS.runDir}/resolver.conf`;

function resolverParams(spec: GatewaySpec): string {
  return `valid=${spec.resolver.validSeconds}s ipv6=${spec.resolver.ipv6 ? 'on' : 'off'}`;
}

/** nginx wants IPv6 resolver addresses in brackets. */
function resolverAddress(a: string): string {
  return a.includes(':') ? `[${a}]` : a;
}

function serverBlock(route: RouteSpec): string[] {
  const access = route.allowAddresses === undefined
    ? []
    : [
      ...[...route.allowAddresses].sort().map((a) => `    allow ${a};`),
      '    deny all;',
    ];
  return [
    `  # ${route.kind} ${commentText(route.path)}`,
    '  server {',
    `    listen ${route.address}:${route.listenPort};`,
    ...access,
    // A variable makes nginx resolve the name for every new connection (with
    // the resolver's cache), so traffic follows the target when DNS changes.
    `    set $backend "${route.targetHost}:${route.targetPort}";`,
    '    proxy_pass $backend;',
    `    proxy_connect_timeout ${route.connectTimeoutSeconds}s;`,
    `    proxy_timeout ${route.idleTimeoutSeconds}s;`,
    '    proxy_socket_keepalive on;',
    '  }',
  ];
}

export function renderNginxConf(spec: GatewaySpec): string {
  const resolver = spec.resolver.addresses.length > 0
    ? `  resolver ${spec.resolver.addresses.map(resolverAddress).join(' ')} ${resolverParams(spec)};`
    : `  include ${RESOLVER_INCLUDE}; # written by ${FILES.startNginx} from /etc/resolv.conf`;
  const routes = sortByAddress(spec.routes);
  return lines(
    generatedBy(spec.path),
    `# ${routes.length} route(s); nginx resolves every target per connection.`,
    'daemon off;',
    `worker_processes ${spec.workerProcesses};`,
    `worker_rlimit_nofile ${spec.workerConnections * 2};`,
    `pid ${PATHS.runDir}/nginx.pid;`,
    'error_log stderr notice;',
    `error_log ${RELOAD_LOG} emerg; # read by ${FILES.startNginx} when a reload fails`,
    '',
    'events {',
    `  worker_connections ${spec.workerConnections};`,
    '}',
    '',
    'stream {',
    resolver,
    `  resolver_timeout ${spec.resolver.timeoutSeconds}s;`,
    '  log_format gateway \'$remote_addr [$time_local] $server_addr:$server_port -> $upstream_addr \'',
    '                     \'$status $bytes_received/$bytes_sent $session_time\';',
    '  access_log /dev/stdout gateway;',
    metricsStreamLines(spec),
    // Passed as one array (lines() flattens it): spreading 10,000 routes into
    // call arguments overflows the stack.
    routes.flatMap((r) => ['', ...serverBlock(r)]),
    '}',
    metricsHttpLines(spec),
  );
}

/** The file nginx logs [emerg] lines to, so that a failed reload can say why. */
export const RELOAD_LOG = `${PATHS.runDir}/reload.log`;

/**
 * The nginx container's entry point. It writes the resolver include from the
 * pod's /etc/resolv.conf (unless resolver addresses were given), starts nginx
 * with a copy of the mounted nginx.conf, and stays as its parent: when the
 * agent asks for a reload (a request file in the shared emptyDir), it checks
 * the new file with `nginx -t`, sends SIGHUP, checks that new workers started
 * (nginx keeps its old configuration silently when a reload fails), and
 * answers. SIGTERM and SIGQUIT go to nginx; the container ends with nginx.
 */
export function renderStartNginx(spec: GatewaySpec): string {
  const explicit = spec.resolver.addresses.length > 0;
  return lines(
    shellPreamble(spec.path),
    '# Starts nginx with the pod\'s DNS servers as its resolver, and reloads it when the',
    '# agent asks, checking that the reload took.',
    'set -u',
    `CONFIG_DIR="\${CONFIG_DIR:-${PATHS.configDir}}"`,
    `STATE_DIR="\${STATE_DIR:-${PATHS.stateDir}}"`,
    'RESOLV_CONF="${RESOLV_CONF:-/etc/resolv.conf}"',
    `RUN_DIR="${PATHS.runDir}"`,
    'log() { echo "start-nginx: $*" >&2; }',
    ...(explicit
      ? ['# The resolver addresses are set in nginx.conf.']
      : [
        '# Only plain IPv4/IPv6 addresses are taken: nothing from resolv.conf can add a directive.',
        'servers=$(awk \'$1 == "nameserver" && ($2 ~ /^[0-9.]+$/ || $2 ~ /^[0-9a-fA-F:]+$/) {',
        '  a = $2; if (a ~ /:/) a = "[" a "]"; printf "%s ", a }\' "$RESOLV_CONF")',
        'if [ -z "$servers" ]; then',
        '  log "no usable nameserver in $RESOLV_CONF; set resolverAddresses on the WireguardGateway"',
        '  exit 1',
        'fi',
        `printf 'resolver %s${resolverParams(spec)};\\n' "$servers" > "${RESOLVER_INCLUDE}"`,
      ]),
    metricsStartLines(spec),
    '',
    '# nginx runs from a copy, so that a reload reads exactly the configuration the',
    '# agent applied to wg0, not a newer one the kubelet mounted meanwhile.',
    'serving=$(readlink "$CONFIG_DIR/..data" 2>/dev/null) || serving=""',
    `src="$CONFIG_DIR/\${serving:+$serving/}${FILES.nginxConf}"`,
    `cp "$src" "$RUN_DIR/${FILES.nginxConf}" || { log "cannot copy $src to $RUN_DIR"; exit 1; }`,
    `nginx -e stderr -c "$RUN_DIR/${FILES.nginxConf}" &`,
    'pid=$!',
    'trap \'kill -TERM "$pid" 2>/dev/null\' TERM INT',
    'trap \'kill -QUIT "$pid" 2>/dev/null\' QUIT',
    '',
    '# workers: the PIDs whose parent is nginx\'s master (/proc, whatever the command names).',
    'workers() {',
    '  cat /proc/[0-9]*/stat 2>/dev/null \\',
    '    | awk -v p="$pid" \'{ s = $0; sub(/^.*\\) /, "", s); split(s, f, " "); if (f[2] == p) print $1 }\' | sort',
    '}',
    `answer() { printf '%s\\n' "$*" > "$STATE_DIR/${RELOAD_RESULT}.tmp" && mv -f "$STATE_DIR/${RELOAD_RESULT}.tmp" "$STATE_DIR/${RELOAD_RESULT}"; }`,
    '# reload GEN ID: nginx -t on that generation\'s nginx.conf, SIGHUP, and new workers, or say why not.',
    'reload() {',
    '  case $1 in ..[0-9]*) ;; *) answer "$1 failed not a configuration generation"; return ;; esac',
    '  if [ "$1" = "$serving" ]; then answer "$1 ok already serving it"; return; fi',
    `  new="$RUN_DIR/${FILES.nginxConf}.new"`,
    `  if ! cp "$CONFIG_DIR/$1/${FILES.nginxConf}" "$new" 2>/dev/null; then`,
    '    answer "$1 failed its files are gone (the kubelet mounted a newer configuration)"; return',
    '  fi',
    '  # A reload leaves the old workers with their sessions: never reload for nothing.',
    `  if cmp -s "$new" "$RUN_DIR/${FILES.nginxConf}"; then serving=$1; answer "$1 ok nginx.conf unchanged, no reload"; return; fi`,
    '  if ! out=$(nginx -t -q -e stderr -c "$new" 2>&1); then',
    '    why=$(printf \'%s\\n\' "$out" | grep -m 1 \'\\[emerg\\]\' | sed \'s/^.*\\[emerg\\] [0-9#]*: //\')',
    '    log "config $2 rejected by nginx -t: ${why:-$out}; still serving the previous one"',
    '    answer "$1 failed nginx -t: ${why:-$out}"; return',
    '  fi',
    '  before=$(workers)',
    `  cp "$RUN_DIR/${FILES.nginxConf}" "$RUN_DIR/${FILES.nginxConf}.prev" && mv -f "$new" "$RUN_DIR/${FILES.nginxConf}"`,
    `  : > "${RELOAD_LOG}"`,
    '  kill -HUP "$pid"',
    '  i=0',
    '  while [ "$i" -lt 50 ]; do',
    '    started=$(workers | awk -v old="$before" \'BEGIN { n = split(old, o, "\\n"); for (k = 1; k <= n; k++) was[o[k]] = 1 } !($1 in was) { printf "%s ", $1 }\')',
    '    if [ -n "$started" ]; then',
    '      serving=$1',
    '      log "config $2 loaded: new workers ${started% }"',
    '      answer "$1 ok reloaded, new workers ${started% }"; return',
    '    fi',
    '    i=$((i + 1)); sleep 0.1',
    '  done',
    `  mv -f "$RUN_DIR/${FILES.nginxConf}.prev" "$RUN_DIR/${FILES.nginxConf}"`,
    `  why=$(grep -m 1 '\\[emerg\\]' "${RELOAD_LOG}" | sed 's/^.*\\[emerg\\] [0-9#]*: //')`,
    '  log "config $2 not loaded: no new workers within 5 s after SIGHUP (${why:-see the log above}); still serving the previous one"',
    '  answer "$1 failed reload: no new workers within 5 s (${why:-nginx logged no reason})"',
    '}',
    metricsRotateLines(spec),
    '',
    'handled=""',
    'while kill -0 "$pid" 2>/dev/null; do',
    `  if [ -r "$STATE_DIR/${RELOAD_REQUEST}" ]; then`,
    `    read -r gen id < "$STATE_DIR/${RELOAD_REQUEST}" || :`,
    '    if [ -n "${gen:-}" ] && [ "$gen" != "$handled" ]; then handled=$gen; reload "$gen" "${id:-unknown}"; fi',
    '  fi',
    spec.metrics === undefined ? [] : ['  rotate_sessions'],
    '  sleep 0.25 & wait $! || :',
    'done',
    'wait "$pid"',
  );
}
