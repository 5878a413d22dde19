/**
 * The contract between the parts of a gateway pod, in one place: where each
 * volume is mounted, the files of the ConfigMap, the files two containers
 * share, the interface name and the metrics port's name. The builders mount
 * volumes here, the renderers write these paths into nginx.conf, and the
 * shipped scripts (assets/*.sh) hold the same values as the defaults of their
 * variables (`CONFIG_DIR="${CONFIG_DIR:-/etc/wireguard-gateway}"`):
 * test/scripts.test.ts checks that every such default is `SCRIPT_DEFAULTS`'s.
 */

/** Where the pod's volumes are mounted. */
export const PATHS = {
  /** The ConfigMap mount: nginx.conf, the scripts, their data, connection-info.json. */
  configDir: '/etc/wireguard-gateway',
  /** The Secret mount with the server's private key (mode 0400). */
  keyDir: '/run/secrets/wireguard-gateway',
  /** The file name of the private key inside keyDir. */
  keyFile: 'private-key',
  /** Where preshared keys are mounted, one directory per peer (peers.tsv names it). */
  pskDir: '/run/secrets/wireguard-gateway-psk',
  /** The file name of a preshared key inside its directory. */
  pskFile: 'psk',
  /** nginx's own emptyDir (pid, includes, the nginx.conf it serves); the root filesystem is read-only. */
  runDir: '/tmp/nginx',
  /** An emptyDir shared by the agent and nginx: reload requests and results, metrics, nothing executable. */
  stateDir: '/run/wireguard-gateway',
  /** The agent's own emptyDir: the last configuration that applied, for a rollback. */
  agentDir: '/run/wireguard-agent',
} as const;

/** File names inside the ConfigMap. */
export const FILES = {
  nginxConf: 'nginx.conf',
  /** Brings wg0 to the configuration: run by the init container, and by the agent on a change. */
  initScript: 'init.sh',
  /** The nginx container's entry point: starts nginx and reloads it when the agent asks. */
  startNginx: 'start-nginx.sh',
  /** The agent container's entry point. */
  agentScript: 'agent.sh',
  /** With metrics: prints the gateway's metrics (Prometheus text); the agent runs it every few seconds. */
  metricsScript: 'metrics.sh',
  wgConf: 'wg0.conf',
  /** The routes, one a line (address, port, target, name), tab-separated. */
  routes: 'routes.tsv',
  /** The peers, one a line (public key, address, preshared-key volume, name), tab-separated. */
  peers: 'peers.tsv',
  /** Settings the agent applies live (name=value lines). */
  liveSettings: 'live.env',
  /** Settings the containers read when they start (name=value lines): a change rolls the pod. */
  startSettings: 'start.env',
  /** The connection information (JSON): endpoint, key, routes, peers. The CLI reads it. */
  connectionInfo: 'connection-info.json',
  /** The checksum of the files a running pod applies live (LIVE_FILES); the agent logs it. */
  configId: 'config-id',
} as const;

/** The shipped scripts (files in assets/), the same for every gateway. */
export const SCRIPTS = [FILES.initScript, FILES.agentScript, FILES.startNginx, FILES.metricsScript] as const;

/**
 * The files a running pod applies without a restart, in the order config-id
 * hashes them. A file a gateway does not have (metrics.sh without metrics) is
 * left out of the hash.
 */
export const LIVE_FILES = [
  FILES.nginxConf, FILES.initScript, FILES.wgConf, FILES.connectionInfo, FILES.metricsScript, FILES.routes, FILES.peers, FILES.liveSettings,
] as const;

/**
 * The files the agent keeps of a configuration that applied (its copy in
 * PATHS.agentDir): what init.sh (apply, prune, ready) and metrics.sh read,
 * metrics.sh itself aside. agent.sh's APPLIED_FILES lists them.
 */
export const APPLIED_FILES = [FILES.initScript, FILES.wgConf, FILES.routes, FILES.peers, FILES.liveSettings, FILES.configId] as const;

/**
 * What a running pod cannot apply: the scripts that run only when a container
 * starts, and the settings they read then. The restart checksum covers these
 * (and nothing that names the construct path, so moving the gateway in the
 * app does not roll the pod).
 */
export const START_FILES = [FILES.startNginx, FILES.agentScript, FILES.startSettings] as const;

/** The files in the emptyDir the agent and nginx share (PATHS.stateDir). */
export const STATE_FILES = {
  /** The agent asks nginx's parent to reload: "<generation> <config id>". */
  reloadRequest: 'reload-request',
  /** nginx's parent answers: "<generation> ok|failed <why>". */
  reloadResult: 'reload-result',
  /** The Prometheus text the agent writes; nginx serves it at /metrics. */
  metrics: 'metrics.prom',
  /** nginx's stream log of ended sessions ("address:port status"), counted by metrics.sh. */
  sessionsLog: 'sessions.log',
} as const;

/** The files start-nginx.sh writes into nginx's emptyDir (PATHS.runDir), which nginx.conf names. */
export const RUN_FILES = {
  /** `resolver ...;` and `resolver_timeout ...;`, from start.env and the pod's resolv.conf. */
  resolverInclude: 'resolver.conf',
  /** `listen <pod IP>:<metrics port>;`, from the downward API's POD_IP. */
  metricsListenInclude: 'metrics-listen.conf',
  /** nginx logs [emerg] lines here, so that a failed reload can say why. */
  reloadLog: 'reload.log',
  pid: 'nginx.pid',
} as const;

/** The WireGuard interface the scripts create and manage. */
export const INTERFACE_NAME = 'wg0';

/** The name of the nginx container's metrics port (the PodMonitor names it). */
export const METRICS_PORT_NAME = 'metrics';

/** start-nginx.sh renames the sessions log for the agent once it is this large. */
export const SESSIONS_LOG_ROTATE_BYTES = 1024 * 1024;
/**
 * When the agent has not read the last rotated log and the current one reaches
 * this size, start-nginx.sh empties it: the emptyDir stays bounded, and those
 * sessions are not counted.
 */
export const SESSIONS_LOG_DROP_BYTES = 4 * 1024 * 1024;

/** A file in the shared emptyDir, by its full path. */
export function statePath(file: string): string {
  return `${PATHS.stateDir}/${file}`;
}

/** A file in nginx's emptyDir, by its full path. */
export function runPath(file: string): string {
  return `${PATHS.runDir}/${file}`;
}

/**
 * The default of every variable the shipped scripts let the environment
 * override (`NAME="${NAME:-default}"`), after `$NAME` references are
 * resolved. Paths a test redirects, and the files two containers share.
 */
export const SCRIPT_DEFAULTS: Readonly<Record<string, string>> = {
  CONFIG_DIR: PATHS.configDir,
  KEY_FILE: `${PATHS.keyDir}/${PATHS.keyFile}`,
  PSK_DIR: PATHS.pskDir,
  STATE_DIR: PATHS.stateDir,
  AGENT_DIR: PATHS.agentDir,
  APPLIED_DIR: `${PATHS.agentDir}/good`,
  RUN_DIR: PATHS.runDir,
  PROC: '/proc',
  RESOLV_CONF: '/etc/resolv.conf',
  WG_IF: INTERFACE_NAME,
  /** metrics.sh checks that targets resolve with getent, when the image has it. */
  GETENT: 'getent',
  RELOAD_REQUEST: statePath(STATE_FILES.reloadRequest),
  RELOAD_RESULT: statePath(STATE_FILES.reloadResult),
  METRICS_FILE: statePath(STATE_FILES.metrics),
  SESSIONS_LOG: statePath(STATE_FILES.sessionsLog),
  RESOLVER_INCLUDE: runPath(RUN_FILES.resolverInclude),
  METRICS_LISTEN_INCLUDE: runPath(RUN_FILES.metricsListenInclude),
  RELOAD_LOG: runPath(RUN_FILES.reloadLog),
  /** How long the agent waits for nginx to answer a reload request. */
  ANSWER_SECONDS: '20',
  SESSIONS_LOG_ROTATE_BYTES: String(SESSIONS_LOG_ROTATE_BYTES),
  SESSIONS_LOG_DROP_BYTES: String(SESSIONS_LOG_DROP_BYTES),
};
