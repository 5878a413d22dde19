/**
 * Shared test helpers: synthesize charts, validate every object against the
 * Kubernetes 1.33 schemas (kubernetes-models 4.x), and run real `nginx -t`.
 */
import { execFileSync, spawnSync } from 'child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as prometheusOperator from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { App, Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import * as models from 'kubernetes-models';
import { WireguardGateway, WireguardGatewayProps, WireguardKey } from '../src';
// Every chart a test synthesizes (any synth path) gets schema, posture and nginx -t checks.
import './posture';

/** A fixed test key pair (not secret: tests only). */
export const TEST_SERVER_PRIVATE_KEY = 'sOOEVn4TBpy08BesrjOtrNjKMlL5q/VQ7TC1VJZwblY=';
export const TEST_SERVER_PUBLIC_KEY = 'P6zkSB4NVE8G53kjqtOXzWGbjxS+d9stgtw+qEbwqm0=';
/** Fixed peer public keys (their private keys are irrelevant to these tests). */
export const PEER_KEYS = [
  'bTiyvrUQaHpMm264+8jtexpxFEBHR+YMKDTnKqBMXDY=',
  'EB5xHzgfEurr+uMtmFI7B9kCSpjGcTn1oIej2pdCdx0=',
  'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=',
];

export function testChart(namespace = 'wireguard'): Chart {
  const app = Testing.app();
  return new Chart(app, 'test', { namespace });
}

/** A gateway in a fresh chart, with the fixed test key unless props say otherwise. */
export function testGateway(props: Partial<WireguardGatewayProps> = {}, chart: Construct = testChart()): WireguardGateway {
  return new WireguardGateway(chart, 'gw', {
    privateKey: WireguardKey.unsafeFromBase64(TEST_SERVER_PRIVATE_KEY),
    ...props,
  });
}

/** Synthesize a chart (runs validation), returning its objects. */
export function synth(scope: Construct): any[] {
  return Testing.synth(Chart.of(scope));
}

export function findObject(objects: any[], kind: string, predicate: (o: any) => boolean = () => true): any {
  const found = objects.filter((o) => o.kind === kind && predicate(o));
  if (found.length !== 1) throw new Error(`expected exactly one ${kind}, found ${found.length}`);
  return found[0];
}

/** The gateway's ConfigMap data (nginx.conf, init.sh, wg0.conf, ...). */
export function configData(objects: any[]): Record<string, string> {
  return findObject(objects, 'ConfigMap', (o) => o.data?.['nginx.conf'] !== undefined).data;
}

const MODEL_BY_KIND: Record<string, any> = {
  'v1/Service': models.v1.Service,
  'v1/ConfigMap': models.v1.ConfigMap,
  'v1/Secret': models.v1.Secret,
  'v1/Namespace': models.v1.Namespace,
  'apps/v1/Deployment': models.apps.v1.Deployment,
  'networking.k8s.io/v1/NetworkPolicy': models.networkingK8sIo.v1.NetworkPolicy,
  'policy/v1/PodDisruptionBudget': models.policy.v1.PodDisruptionBudget,
  // The CRD schemas of prometheus-operator (metrics: podMonitor, prometheusRule).
  'monitoring.coreos.com/v1/PodMonitor': prometheusOperator.PodMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': prometheusOperator.PrometheusRule,
};

/**
 * Validates every object against the Kubernetes 1.33 OpenAPI schemas (and
 * prometheus-operator's CRD schemas for its kinds). Throws
 * with the object's kind/name and the schema error; fails on unknown kinds so
 * nothing slips through unvalidated.
 */
export function validateWithSchemas(objects: any[]): void {
  for (const o of objects) {
    const Model = MODEL_BY_KIND[`${o.apiVersion}/${o.kind}`];
    if (Model === undefined) throw new Error(`no schema wired for ${o.apiVersion} ${o.kind}: add it to MODEL_BY_KIND`);
    try {
      new Model(o).validate();
    } catch (e) {
      throw new Error(`${o.kind} ${o.metadata?.name}: ${(e as Error).message}`);
    }
  }
}

/** Synthesize an app's charts the way `cdk8s synth` does, returning the YAML per chart file. */
export function synthApp(app: App): string {
  return app.synthYaml();
}

export const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

export function haveNginx(): boolean {
  return spawnSync('nginx', ['-v']).status === 0;
}

/**
 * Runs real `nginx -t` on a rendered nginx.conf, in a fresh network namespace
 * where every listen address exists (on its loopback), with Debian's
 * dynamic stream module loaded and paths under a temporary directory.
 * Returns nginx's stderr; throws with it when the test fails.
 */
export function nginxTest(conf: string, resolver = '127.0.0.1'): string {
  const dir = mkdtempSync(join(tmpdir(), 'wggw-nginx-t-'));
  const ns = `wggwt${process.pid}${Math.floor(Math.random() * 1e6)}`;
  try {
    // Named adaptations: Debian loads the stream module dynamically, and the
    // pod's emptyDirs (/tmp/nginx, /run/wireguard-gateway) become temporary directories.
    const adapted = conf.split('/tmp/nginx/').join(`${dir}/`).split('/run/wireguard-gateway/').join(`${dir}/state/`);
    mkdirSync(join(dir, 'state'));
    writeFileSync(join(dir, 'nginx.conf'), adapted);
    writeFileSync(join(dir, 'resolver.conf'), `resolver ${resolver} valid=5s ipv6=off;\n`);
    // With metrics, start-nginx.sh writes the listen line from the pod's address.
    writeFileSync(join(dir, 'metrics-listen.conf'), 'listen 127.0.0.1:9586;\n');
    const addresses = [...conf.matchAll(/^\s*listen (\d+\.\d+\.\d+\.\d+):\d+;/gm)].map((m) => m[1]);
    execFileSync('ip', ['netns', 'add', ns]);
    const inNs = (...args: string[]) => execFileSync('ip', ['netns', 'exec', ns, ...args], { stdio: 'pipe' });
    inNs('ip', 'link', 'set', 'lo', 'up');
    // No dummy module here: the addresses go on the namespace's loopback.
    for (const a of new Set(addresses)) inNs('ip', 'address', 'add', `${a}/32`, 'dev', 'lo');
    // stdout is a file, as in a pod: nginx opens /dev/stdout for the access
    // log, which fails on the socket node would give it.
    const stdout = openSync(join(dir, 'stdout'), 'w');
    const r = spawnSync('ip', ['netns', 'exec', ns, 'nginx', '-t', '-e', 'stderr', '-p', dir,
      '-g', `load_module ${STREAM_MODULE};`, '-c', join(dir, 'nginx.conf')], { encoding: 'utf-8', stdio: ['ignore', stdout, 'pipe'] });
    closeSync(stdout);
    if (r.status !== 0) throw new Error(`nginx -t failed (exit ${r.status}):\n${r.stderr}\n--- nginx.conf ---\n${adapted}`);
    return r.stderr;
  } finally {
    spawnSync('ip', ['netns', 'delete', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Objects for a snapshot: Secret values are replaced, so no key (not even a
 * test key) is ever written into a snapshot file.
 */
export function forSnapshot(objects: any[]): any[] {
  return objects.map((o) => {
    if (o.kind !== 'Secret') return o;
    const redact = (data?: Record<string, string>) =>
      data === undefined ? undefined : Object.fromEntries(Object.keys(data).map((k) => [k, '<redacted>']));
    return { ...o, data: redact(o.data), stringData: redact(o.stringData) };
  });
}
