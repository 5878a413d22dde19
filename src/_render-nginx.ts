/**
 * Renders the nginx configuration: the stream module's server block per
 * route, the per-peer session limit, and with metrics the sessions log and the
 * http server of /metrics. The resolver comes from an include that
 * start-nginx.sh writes when the container starts (start.env and the pod's
 * resolv.conf). A pure function of a GatewaySpec.
 *
 * nginx.conf arrives in a running pod as data: start-nginx.sh accepts only the
 * directives and value shapes written here (its check_nginx_conf) before
 * `nginx -t`. A new directive here needs a line there too; the property tests
 * run the check on rendered files.
 */
import { AGENT_OUT_FILES, FILES, NGINX_OUT_FILES, RUN_FILES, SCRIPT_FILES, agentOutPath, nginxOutPath, runPath } from './_contract';
import { GatewaySpec, RouteSpec } from './_model';
import { commentText, generatedBy, lines, sortByAddress } from './_text';

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
  const routes = sortByAddress(spec.routes);
  return lines(
    generatedBy(spec.path),
    `# ${routes.length} route(s); nginx resolves every target per connection.`,
    'daemon off;',
    `worker_processes ${spec.workerProcesses};`,
    `worker_rlimit_nofile ${spec.workerConnections * 2};`,
    `pid ${runPath(RUN_FILES.pid)};`,
    'error_log stderr notice;',
    `error_log ${runPath(RUN_FILES.reloadLog)} emerg; # read by ${SCRIPT_FILES.startNginx} when a reload fails`,
    '',
    'events {',
    `  worker_connections ${spec.workerConnections};`,
    '}',
    '',
    'stream {',
    `  include ${runPath(RUN_FILES.resolverInclude)}; # resolver and resolver_timeout: written by ${SCRIPT_FILES.startNginx} from ${FILES.startSettings}`,
    '  log_format gateway \'$remote_addr [$time_local] $server_addr:$server_port -> $upstream_addr \'',
    '                     \'$status $bytes_received/$bytes_sent $session_time\';',
    '  access_log /dev/stdout gateway;',
    `  # Every peer (by its tunnel address) holds at most ${spec.maxSessionsPerPeer} session(s) at once, over all routes; nginx closes the next at once.`,
    '  limit_conn_zone $binary_remote_addr zone=peers:2m;',
    `  limit_conn peers ${spec.maxSessionsPerPeer};`,
    metricsStreamLines(spec),
    // Passed as one array (lines() flattens it): spreading 10,000 routes into
    // call arguments overflows the stack.
    routes.flatMap((r) => ['', ...serverBlock(r)]),
    '}',
    metricsHttpLines(spec),
  );
}

/** With metrics, in the stream block: the sessions log the agent counts. */
export function metricsStreamLines(spec: GatewaySpec): string[] {
  if (spec.metrics === undefined) return [];
  return [
    `  # Metrics: one line per ended session, counted by the agent (${SCRIPT_FILES.metricsScript}).`,
    '  log_format sessions \'$server_addr:$server_port $status\';',
    `  access_log ${nginxOutPath(NGINX_OUT_FILES.sessionsLog)} sessions;`,
  ];
}

/**
 * With metrics, the http block: /metrics on the pod's own address only. Linux
 * accepts a packet for any local address on any interface, so a peer that
 * routes the pod's address into its tunnel would reach this server through
 * wg0, but the pod's packet filter (init.sh) takes from wg0 only new
 * connections to the routes' addresses and ports, from the first packet of a
 * new peer on. nginx needs no list of the peers here (measured: 34 bytes per
 * peer with short names, 0.34 MB at 10,000 peers).
 */
export function metricsHttpLines(spec: GatewaySpec): string[] {
  if (spec.metrics === undefined) return [];
  return [
    '',
    `# Metrics: ${SCRIPT_FILES.metricsScript}'s output (written by the agent), on the pod's own address only.`,
    'http {',
    '  access_log off;',
    '  server_tokens off;',
    '  # The root filesystem is read-only: temporary files go to the emptyDir.',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${runPath(`http-${t.replace('_', '-')}`)};`),
    '  server {',
    `    include ${runPath(RUN_FILES.metricsListenInclude)}; # listen <pod IP>:${spec.metrics.port}; written by ${SCRIPT_FILES.startNginx}`,
    '    # No peer reaches this server: the packet filter drops from wg0 all but the routes.',
    '    location = /metrics {',
    '      types { }',
    '      default_type "text/plain; version=0.0.4; charset=utf-8";',
    `      alias ${agentOutPath(AGENT_OUT_FILES.metrics)};`,
    '    }',
    '    location / {',
    '      return 404;',
    '    }',
    '  }',
    '}',
  ];
}
