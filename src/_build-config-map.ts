/**
 * The gateway's ConfigMap: every file the pod runs and reads (nginx.conf, the
 * shipped scripts and their data, wg0.conf, connection-info.json), nothing secret. The files are rendered
 * lazily, at synth, so routes and peers added later are in them.
 */
import { createHash } from 'crypto';
import { ApiObjectMetadata, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { FILES } from './_contract';

/** The files in the order they are added to the ConfigMap; metrics.sh only with metrics. */
const ORDER = [
  FILES.nginxConf, FILES.startNginx, FILES.initScript, FILES.agentScript, FILES.metricsScript, FILES.wgConf, FILES.routes, FILES.peers,
  FILES.liveSettings, FILES.startSettings, FILES.connectionInfo, FILES.configId,
];

export function buildConfigMap(scope: Construct, metadata: ApiObjectMetadata, rendered: () => Record<string, string>,
  metrics = false): kplus.ConfigMap {
  const configMap = new kplus.ConfigMap(scope, 'Config', { metadata });
  for (const file of ORDER.filter((f) => metrics || f !== FILES.metricsScript)) {
    configMap.addData(file, Lazy.any({ produce: () => rendered()[file] }) as unknown as string);
  }
  return configMap;
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
