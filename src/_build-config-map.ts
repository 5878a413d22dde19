/**
 * The gateway's two ConfigMaps. The gateway's own (named like the gateway)
 * holds data only: nginx.conf, wg0.conf, the tables and settings the scripts
 * read, connection-info.json; a running pod takes it live. The code ConfigMap
 * holds the shipped scripts, is immutable, and is named after their hash, so a
 * pod of one Deployment always mounts the scripts that Deployment names (see
 * _boot.ts). Nothing in either is secret. The data files are rendered lazily,
 * at synth, so routes and peers added later are in them.
 */
import { createHash } from 'crypto';
import { ApiObjectMetadata, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { codeConfigMapName } from './_boot';
import { FILES } from './_contract';

/** The data files in the order they are added to the ConfigMap. */
const ORDER = [
  FILES.nginxConf, FILES.wgConf, FILES.routes, FILES.peers, FILES.liveSettings, FILES.startSettings, FILES.connectionInfo, FILES.configId,
];

export function buildConfigMap(scope: Construct, metadata: ApiObjectMetadata, rendered: () => Record<string, string>): kplus.ConfigMap {
  const configMap = new kplus.ConfigMap(scope, 'Config', { metadata });
  for (const file of ORDER) {
    configMap.addData(file, Lazy.any({ produce: () => rendered()[file] }) as unknown as string);
  }
  return configMap;
}

/** The code ConfigMap: the scripts the pod runs, immutable, named `<gateway>-code-<hash>`. */
export function buildCodeConfigMap(scope: Construct, metadata: ApiObjectMetadata, scripts: Record<string, string>): kplus.ConfigMap {
  return new kplus.ConfigMap(scope, 'Code', {
    metadata: { ...metadata, name: codeConfigMapName(metadata.name!, scripts) },
    immutable: true,
    data: Object.fromEntries(Object.keys(scripts).sort().map((n) => [n, scripts[n]])),
  });
}

/** A checksum over the given files (default: every file): name and text, in name order. */
export function configChecksum(rendered: Record<string, string>, files: readonly string[] = Object.keys(rendered)): string {
  const h = createHash('sha256');
  for (const [file, text] of Object.entries(rendered).filter(([f]) => files.includes(f)).sort(([a], [b]) => (a < b ? -1 : 1))) {
    h.update(file).update('\0').update(text).update('\0');
  }
  return h.digest('hex');
}

/** The ConfigMap's size as the API server counts it (keys and values). */
export function configMapBytes(rendered: Record<string, string>): number {
  return Object.entries(rendered).reduce((n, [file, text]) => n + Buffer.byteLength(file) + Buffer.byteLength(text), 0);
}
