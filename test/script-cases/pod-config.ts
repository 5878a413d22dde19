/**
 * A pod's ConfigMap directory, written by the library's own renderers: what the
 * shipped scripts read (wg0.conf, routes.tsv, peers.tsv, live.env, start.env,
 * nginx.conf, config-id), optionally in the kubelet's layout (..data ->
 * ..<generation>/). Shared by the unit and system tiers' script tests.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { GatewaySpec, PeerSpec, RouteSpec } from '../../src/_model';
import { renderLiveSettings, renderPeersTable, renderRoutesTable, renderStartSettings } from '../../src/_render-data';
import { renderNginxConf } from '../../src/_render-nginx';
import { renderWgConf } from '../../src/_render-wireguard';
import { gatewaySpec, routeSpec } from '../spec-fixtures';
import { PEER_KEYS } from '../util';

export function route(address: string, listenPort: number): RouteSpec {
  return routeSpec({ path: `app/gw/r${listenPort}`, name: `r${listenPort}`, address, listenPort, targetHost: 'x.default.svc.cluster.local', targetPort: listenPort, idleTimeoutSeconds: 60 });
}

export function peer(i: number, over: Partial<PeerSpec> = {}): PeerSpec {
  return { name: `peer${i}`, path: `app/gw/peer${i}`, publicKey: PEER_KEYS[i], address: `10.98.0.${i + 2}`, ...over };
}

/** Three routes on two addresses, two peers (defined out of order). */
export function spec(over: Partial<GatewaySpec> = {}): GatewaySpec {
  return gatewaySpec({
    routes: [route('10.99.0.1', 5432), route('10.99.0.2', 6379), route('10.99.0.2', 6380)],
    peers: [peer(1), peer(0)],
    ...over,
  });
}

/** The files of a configuration, by name, as the gateway's ConfigMap has them. */
export function configFiles(s: GatewaySpec, id = '0123456789abcdef0123'): Record<string, string> {
  return {
    'wg0.conf': renderWgConf(s),
    'routes.tsv': renderRoutesTable(s),
    'peers.tsv': renderPeersTable(s),
    'live.env': renderLiveSettings(s),
    'start.env': renderStartSettings(s),
    'nginx.conf': renderNginxConf(s),
    'config-id': `${id}\n`,
  };
}

/** Writes a configuration into DIR (created), with files replaced or added by `over`. */
export function writeConfig(dir: string, s: GatewaySpec, over: Record<string, string> = {}): string {
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries({ ...configFiles(s), ...over })) writeFileSync(join(dir, f), text);
  return dir;
}

/**
 * A new generation of a ConfigMap volume at DIR (the kubelet's layout: the
 * files in ..<generation>/, and ..data pointing at it), swapped in. Returns
 * the generation's name.
 */
export function mountGeneration(dir: string, gen: string, files: Record<string, string>): string {
  mkdirSync(join(dir, gen), { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, gen, f), text);
  rmSync(join(dir, '..data'), { force: true });
  symlinkSync(gen, join(dir, '..data'));
  for (const f of Object.keys(files)) {
    rmSync(join(dir, f), { force: true });
    symlinkSync(join('..data', f), join(dir, f));
  }
  return gen;
}

/**
 * A rendered nginx.conf adapted to a test's directories: the pod's emptyDirs
 * (/tmp/nginx, and /run/wireguard-gateway/ with agent-out and nginx-out under it)
 * become `runDir` and `shareDir`. start-nginx.sh's check compares these paths
 * with its own (RUN_DIR, AGENT_OUT, NGINX_OUT), which a test points there too.
 */
export function adaptNginxConf(conf: string, runDir: string, shareDir = `${runDir}/share`): string {
  return conf.split('/tmp/nginx/').join(`${runDir}/`).split('/run/wireguard-gateway/').join(`${shareDir}/`);
}
