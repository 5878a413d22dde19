/**
 * The contract between the parts of a gateway pod, in one place: where each
 * volume is mounted, which files each volume holds and who writes them, the
 * interface and packet-filter names. The builders mount volumes here, the
 * renderers write these paths into nginx.conf, and the shipped scripts
 * (assets/*.sh) hold the same values as the defaults of their variables
 * (`CONFIG_DIR="${CONFIG_DIR:-/etc/wireguard-gateway}"`): test/scripts.test.ts
 * checks that every such default is `SCRIPT_DEFAULTS`'s.
 *
 * Code and data apart: the scripts live in a ConfigMap of their own (named
 * after their hash, immutable), and every container runs a copy it checked
 * against the SHA-256 sums its Deployment names (_boot.ts). The gateway's
 * ConfigMap holds data only, which a running pod takes live and validates as
 * data.
 *
 * One-way volumes: what the agent writes for nginx (AGENT_OUT) and what nginx
 * writes for the agent (NGINX_OUT) are two emptyDirs, each writable by its
 * writer only and mounted read-only in its reader.
 */

/** Where the pod's volumes are mounted. */
export const PATHS = {
  /** The gateway's ConfigMap (data only): nginx.conf, wg0.conf, the tables, the settings, connection-info.json. */
  configDir: '/etc/wireguard-gateway',
  /** The code ConfigMap: the shipped scripts, byte for byte. No container runs them from here (see _boot.ts). */
  codeDir: '/opt/wireguard-gateway',
  /** The Secret mount with the server's private key (mode 0400). */
  keyDir: '/run/secrets/wireguard-gateway',
  /** The file name of the private key inside keyDir. */
  keyFile: 'private-key',
  /** Where preshared keys are mounted, one directory per peer (peers.tsv names it). */
  pskDir: '/run/secrets/wireguard-gateway-psk',
  /** The file name of a preshared key inside its directory. */
  pskFile: 'psk',
  /** nginx's own emptyDir (its checked scripts, pid, includes, the nginx.conf it serves); the root filesystem is read-only. */
  runDir: '/tmp/nginx',
  /**
   * The agent's own emptyDir: its checked scripts (also written by the init
   * container, which is more privileged), the last configuration that
   * applied, its bookkeeping. No other container mounts it.
   */
  agentDir: '/run/wireguard-agent',
  /** What the agent writes for nginx (reload requests, metrics): read-write in the agent, read-only in nginx. */
  agentOut: '/run/wireguard-gateway/agent-out',
  /** What nginx writes for the agent (answers, the sessions log): read-write in nginx, read-only in the agent. */
  nginxOut: '/run/wireguard-gateway/nginx-out',
} as const;

/** Where each container keeps the copy of the scripts it runs (checked against the Deployment's sums). */
export const CODE_COPIES = {
  /** The init container and the agent (the agent copies again when it starts). */
  agent: `${PATHS.agentDir}/code`,
  nginx: `${PATHS.runDir}/code`,
} as const;

/** File names inside the gateway's ConfigMap (data only). */
export const FILES = {
  nginxConf: 'nginx.conf',
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

/** The shipped scripts and their shared awk functions (files in assets/, and the code ConfigMap), the same for every gateway. */
export const SCRIPT_FILES = {
  /** Brings wg0 and the packet filter to the configuration: run by the init container, and by the agent on a change. */
  initScript: 'init.sh',
  /** The nginx container's entry point: checks nginx.conf, starts nginx, reloads it when the agent asks. */
  startNginx: 'start-nginx.sh',
  /** The agent container's entry point, and the readiness probe. */
  agentScript: 'agent.sh',
  /** With metrics: prints the gateway's metrics (Prometheus text); the agent runs it every few seconds. */
  metricsScript: 'metrics.sh',
  /** The awk functions init.sh and start-nginx.sh share to check addresses as data (read next to each script). */
  netAwk: 'net.awk',
} as const;

export const SCRIPTS = [
  SCRIPT_FILES.initScript, SCRIPT_FILES.agentScript, SCRIPT_FILES.startNginx, SCRIPT_FILES.metricsScript, SCRIPT_FILES.netAwk,
] as const;

/**
 * The data files a running pod applies without a restart, in the order
 * config-id hashes them.
 */
export const LIVE_FILES = [
  FILES.nginxConf, FILES.wgConf, FILES.connectionInfo, FILES.routes, FILES.peers, FILES.liveSettings,
] as const;

/**
 * The files the agent keeps of a configuration that applied (its copy in
 * PATHS.agentDir): what init.sh (prune, ready) and metrics.sh read. agent.sh's
 * APPLIED_FILES lists them.
 */
export const APPLIED_FILES = [FILES.wgConf, FILES.routes, FILES.peers, FILES.liveSettings, FILES.configId] as const;

/**
 * The data a running pod reads only when a container starts: the restart
 * checksum covers it (and nothing that names the construct path, so moving
 * the gateway in the app does not roll the pod). The scripts need no
 * checksum: their SHA-256 sums are in the containers' commands.
 */
export const START_FILES = [FILES.startSettings] as const;

/** The files the agent writes for nginx (PATHS.agentOut). */
export const AGENT_OUT_FILES = {
  /** The agent asks nginx's parent to reload: "<generation> <config id>". */
  reloadRequest: 'reload-request',
  /** The Prometheus text the agent writes; nginx serves it at /metrics. */
  metrics: 'metrics.prom',
  /** The rotated sessions log the agent has counted ("<token>"): nginx may delete it. */
  sessionsRead: 'sessions-read',
} as const;

/** The files nginx's parent writes for the agent (PATHS.nginxOut). */
export const NGINX_OUT_FILES = {
  /** start-nginx.sh answers: "<generation> ok|failed <why>". */
  reloadResult: 'reload-result',
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

/** The packet filter's chains (iptables, nf_tables backend, table filter), hooked first in INPUT and FORWARD. */
export const FILTER_CHAINS = { input: 'WGGW-INPUT', forward: 'WGGW-FORWARD' } as const;

/** The name of the nginx container's metrics port (the PodMonitor names it). */
export const METRICS_PORT_NAME = 'metrics';

/** start-nginx.sh rotates the sessions log for the agent once it is this large. */
export const SESSIONS_LOG_ROTATE_BYTES = 1024 * 1024;
/**
 * When the agent has not counted the last rotated log and the current one
 * reaches this size, start-nginx.sh empties it: the emptyDir stays bounded,
 * and those sessions are not counted.
 */
export const SESSIONS_LOG_DROP_BYTES = 4 * 1024 * 1024;

/** A file the agent writes for nginx, by its full path. */
export function agentOutPath(file: string): string {
  return `${PATHS.agentOut}/${file}`;
}

/** A file nginx writes for the agent, by its full path. */
export function nginxOutPath(file: string): string {
  return `${PATHS.nginxOut}/${file}`;
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
  /** The settings read at start: the agent passes its start-time copy to init.sh. */
  START_SETTINGS: `${PATHS.configDir}/${FILES.startSettings}`,
  /** Where the agent runs its checked scripts from (init.sh, metrics.sh, itself for the probe). */
  CODE_DIR: CODE_COPIES.agent,
  KEY_FILE: `${PATHS.keyDir}/${PATHS.keyFile}`,
  PSK_DIR: PATHS.pskDir,
  AGENT_OUT: PATHS.agentOut,
  NGINX_OUT: PATHS.nginxOut,
  AGENT_DIR: PATHS.agentDir,
  APPLIED_DIR: `${PATHS.agentDir}/good`,
  RUN_DIR: PATHS.runDir,
  PROC: '/proc',
  RESOLV_CONF: '/etc/resolv.conf',
  WG_IF: INTERFACE_NAME,
  /** The packet filter's tools: iptables with the nf_tables backend (netlink, NET_ADMIN only). */
  IPTABLES: 'iptables-nft',
  IPTABLES_RESTORE: 'iptables-nft-restore',
  /** metrics.sh checks that targets resolve with getent, when the image has it. */
  GETENT: 'getent',
  RELOAD_REQUEST: agentOutPath(AGENT_OUT_FILES.reloadRequest),
  METRICS_FILE: agentOutPath(AGENT_OUT_FILES.metrics),
  SESSIONS_READ: agentOutPath(AGENT_OUT_FILES.sessionsRead),
  RELOAD_RESULT: nginxOutPath(NGINX_OUT_FILES.reloadResult),
  SESSIONS_LOG: nginxOutPath(NGINX_OUT_FILES.sessionsLog),
  RESOLVER_INCLUDE: runPath(RUN_FILES.resolverInclude),
  METRICS_LISTEN_INCLUDE: runPath(RUN_FILES.metricsListenInclude),
  RELOAD_LOG: runPath(RUN_FILES.reloadLog),
  /** How long the agent waits for nginx to answer a reload request. */
  ANSWER_SECONDS: '20',
  SESSIONS_LOG_ROTATE_BYTES: String(SESSIONS_LOG_ROTATE_BYTES),
  SESSIONS_LOG_DROP_BYTES: String(SESSIONS_LOG_DROP_BYTES),
};
