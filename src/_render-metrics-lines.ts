/**
 * The lines nginx.conf, start-nginx.sh and agent.sh add when metrics are on:
 * nginx's sessions log and its http server for /metrics (on the pod's own
 * address, refusing every peer), the listen line from POD_IP and the sessions
 * log's rotation in start-nginx.sh, and the agent's metrics loop. Each returns
 * no line without metrics, so those files are unchanged then. Pure functions
 * of a GatewaySpec; metrics.sh itself is in _render-metrics.ts.
 */
import { FILES, GatewaySpec, PATHS } from './_model';
import {
  METRICS_FILE, METRICS_LISTEN_INCLUDE, SESSIONS_LOG, SESSIONS_LOG_DROP_BYTES, SESSIONS_LOG_ROTATE_BYTES,
} from './_render-metrics';
import { commentText, sortByAddress } from './_text';

/** nginx.conf, stream block: the sessions log the agent counts. */
export function metricsStreamLines(spec: GatewaySpec): string[] {
  if (spec.metrics === undefined) return [];
  return [
    `  # Metrics: one line per ended session, counted by the agent (${FILES.metricsScript}).`,
    '  log_format sessions \'$server_addr:$server_port $status\';',
    `  access_log ${PATHS.stateDir}/${SESSIONS_LOG} sessions;`,
  ];
}

/**
 * nginx.conf, http block: /metrics on the pod's own address only. Linux
 * accepts a packet for any local address on any interface, so a peer that
 * routes the pod's address into its tunnel would reach this server through
 * wg0: every peer's tunnel address is refused (WireGuard binds each source
 * address to one peer's key, so that list is exact).
 */
export function metricsHttpLines(spec: GatewaySpec): string[] {
  if (spec.metrics === undefined) return [];
  const peers = sortByAddress(spec.peers);
  return [
    '',
    `# Metrics: ${FILES.metricsScript}'s output (written by the agent), on the pod's own address only.`,
    'http {',
    '  access_log off;',
    '  server_tokens off;',
    '  # The root filesystem is read-only: temporary files go to the emptyDir.',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${PATHS.runDir}/http-${t.replace('_', '-')};`),
    '  server {',
    `    include ${METRICS_LISTEN_INCLUDE}; # listen <pod IP>:${spec.metrics.port}; written by ${FILES.startNginx}`,
    `    # Peers reach the pod's address too, through wg0: refuse every peer's tunnel address (${peers.length}).`,
    ...peers.map((p) => `    deny ${p.address}; # ${commentText(p.name)}`),
    '    allow all;',
    '    location = /metrics {',
    '      types { }',
    '      default_type "text/plain; version=0.0.4; charset=utf-8";',
    `      alias ${PATHS.stateDir}/${METRICS_FILE};`,
    '    }',
    '    location / {',
    '      return 404;',
    '    }',
    '  }',
    '}',
  ];
}

/** start-nginx.sh, before nginx starts: the listen include from POD_IP (the downward API). */
export function metricsStartLines(spec: GatewaySpec): string[] {
  if (spec.metrics === undefined) return [];
  return [
    '',
    '# Metrics are served on the pod\'s own address only (POD_IP, from the downward API).',
    'case ${POD_IP:-} in',
    '  \'\' | *[!0-9a-fA-F.:]*) log "POD_IP is \\"${POD_IP:-}\\", not an IP address: the Deployment sets it from the pod\'s status.podIP"; exit 1 ;;',
    `  *:*) printf 'listen [%s]:${spec.metrics.port};\\n' "$POD_IP" > "${METRICS_LISTEN_INCLUDE}" ;;`,
    `  *) printf 'listen %s:${spec.metrics.port};\\n' "$POD_IP" > "${METRICS_LISTEN_INCLUDE}" ;;`,
    'esac',
  ];
}

/**
 * start-nginx.sh: the sessions log's rotation, which only nginx's parent can
 * do (SIGUSR1 makes nginx reopen its logs). Called in its loop.
 */
export function metricsRotateLines(spec: GatewaySpec): string[] {
  if (spec.metrics === undefined) return [];
  return [
    '',
    `# The sessions log (metrics): renamed to ${SESSIONS_LOG}.old for the agent once it reaches`,
    '# SESSIONS_LOG_ROTATE_BYTES, and nginx told to reopen its logs; the agent counts the',
    '# old file and deletes it. Never more than one old file: if the agent has not read it',
    `# yet, the log is emptied at ${SESSIONS_LOG_DROP_BYTES} bytes, so the emptyDir stays bounded.`,
    `SESSIONS_LOG_ROTATE_BYTES="\${SESSIONS_LOG_ROTATE_BYTES:-${SESSIONS_LOG_ROTATE_BYTES}}"`,
    `SESSIONS_LOG_DROP_BYTES="\${SESSIONS_LOG_DROP_BYTES:-${SESSIONS_LOG_DROP_BYTES}}"`,
    'rotate_sessions() {',
    `  f="$STATE_DIR/${SESSIONS_LOG}"`,
    '  [ -f "$f" ] || return 0',
    '  size=$(wc -c < "$f")',
    '  [ "$size" -ge "$SESSIONS_LOG_ROTATE_BYTES" ] || return 0',
    '  if [ -e "$f.old" ]; then',
    '    if [ "$size" -ge "$SESSIONS_LOG_DROP_BYTES" ]; then',
    '      : > "$f"',
    '      log "emptied $f ($size bytes): the agent has not read $f.old; the sessions in it are not counted"',
    '    fi',
    '    return 0',
    '  fi',
    '  mv -f "$f" "$f.old" && kill -USR1 "$pid" && touch "$f.old" \\',
    '    && log "rotated the sessions log at $size bytes: the agent counts $f.old, then deletes it"',
    '}',
  ];
}

/**
 * agent.sh: the metrics loop, in one block. It counts each configuration's
 * outcome from the one line the agent logs for it (see `tally`), and runs
 * metrics.sh every `refreshSeconds` in the background, from the copy of the
 * configuration that last applied (or the one the pod started with).
 */
export function metricsAgentLines(spec: GatewaySpec): string[] {
  if (spec.metrics === undefined) return [];
  return [
    '',
    `# --- Metrics: ${FILES.metricsScript} every ${spec.metrics.refreshSeconds} s into $STATE_DIR/${METRICS_FILE}, which nginx serves. ---`,
    '# tally LINE: every configuration change ends with exactly one log line (applied,',
    '# rejected, not applied, ...); log() passes each line here, so the counters and the',
    '# log always agree. $AGENT_DIR/reloads: "applied rejected failed last-applied-time".',
    'tally() {',
    '  case $1 in',
    '    "config "*" applied in "*) m_what=1 ;;',
    '    "config "*" rejected"*) m_what=2 ;;',
    '    "config "*" not applied"* | "config "*" failed on wg0"* | "config "*": cannot ask nginx"* | "config "*": nginx has not answered"*) m_what=3 ;;',
    '    *) return 0 ;;',
    '  esac',
    '  read -r m_ok m_rej m_fail m_last 2>/dev/null < "$AGENT_DIR/reloads" || { m_ok=0 m_rej=0 m_fail=0 m_last=0; }',
    '  case $m_what in',
    '    1) m_ok=$((m_ok + 1)) m_last=$(date +%s) ;;',
    '    2) m_rej=$((m_rej + 1)) ;;',
    '    3) m_fail=$((m_fail + 1)) ;;',
    '  esac',
    '  printf \'%s %s %s %s\\n\' "$m_ok" "$m_rej" "$m_fail" "$m_last" > "$AGENT_DIR/reloads.tmp" && mv -f "$AGENT_DIR/reloads.tmp" "$AGENT_DIR/reloads"',
    '}',
    '# The configuration the pod started with serves metrics until a change applies (and',
    '# always with configUpdates RESTART).',
    `mkdir -p "$AGENT_DIR/start" && cp "$CONFIG_DIR/$(generation)/${FILES.metricsScript}" "$CONFIG_DIR/$(generation)/${FILES.configId}" "$AGENT_DIR/start/" \\`,
    `  || log "cannot copy ${FILES.metricsScript} to $AGENT_DIR/start: no metrics until a configuration change applies"`,
    '# The loop runs beside the agent and ends with it ($$ is the agent\'s own PID).',
    'metrics_loop() {',
    '  m_err=""',
    '  while kill -0 "$$" 2>/dev/null; do',
    `    m_dir="$AGENT_DIR/good"; [ -f "$m_dir/${FILES.metricsScript}" ] || m_dir="$AGENT_DIR/start"`,
    `    if m_out=$(APPLIED_DIR="$m_dir" sh "$m_dir/${FILES.metricsScript}" 2>&1 > "$STATE_DIR/${METRICS_FILE}.tmp"); then`,
    `      mv -f "$STATE_DIR/${METRICS_FILE}.tmp" "$STATE_DIR/${METRICS_FILE}"`,
    '      [ -z "$m_err" ] || log "metrics: written again"',
    '      m_err=""',
    '    elif [ "${m_out:-failed}" != "$m_err" ]; then',
    '      m_err=${m_out:-failed}',
    `      log "metrics: ${FILES.metricsScript} failed, $STATE_DIR/${METRICS_FILE} keeps what it had: $(last_line "$m_err")"`,
    '    fi',
    `    sleep ${spec.metrics.refreshSeconds}`,
    '  done',
    '}',
    'metrics_loop &',
  ];
}
