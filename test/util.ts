/**
 * Shared test helpers: synthesize charts, validate every object against the
 * Kubernetes 1.33 schemas (kubernetes-models 4.x), and record every rendered
 * nginx.conf for the system tier's real `nginx -t`.
 */
import { createHash } from 'crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'fs';
import { join } from 'path';
import * as prometheusOperator from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { App, Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import * as models from 'kubernetes-models';
import { WireguardGateway, WireguardGatewayProps, WireguardKey } from '../src';
// Every chart a test synthesizes (any synth path) gets schema and posture checks, and its nginx.conf recorded.
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

/** The gateway's ConfigMap data (nginx.conf, wg0.conf, routes.tsv, ...). */
export function configData(objects: any[]): Record<string, string> {
  return findObject(objects, 'ConfigMap', (o) => o.data?.['nginx.conf'] !== undefined).data;
}

/** The gateway's code ConfigMap data (init.sh, agent.sh, start-nginx.sh, metrics.sh with metrics). */
export function codeData(objects: any[]): Record<string, string> {
  return findObject(objects, 'ConfigMap', (o) => o.data?.['init.sh'] !== undefined).data;
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

/**
 * Where the unit tier records every distinct nginx.conf it renders, by hash,
 * for the system tier to run real `nginx -t` on (test/nginx-conf.system.test.ts).
 * test/global-setup.js empties it when the unit tier starts.
 */
export const NGINX_CONF_DIR = process.env.WGGW_NGINX_CONFS ?? join(__dirname, '..', 'test-reports', 'nginx-confs');

/** The recorded file of a conf: its content's SHA-256. */
function nginxConfFile(conf: string): string {
  return join(NGINX_CONF_DIR, `${createHash('sha256').update(conf).digest('hex')}.conf`);
}

/**
 * Records a rendered nginx.conf for the system tier's real `nginx -t`, and the
 * gateway's service network (`<hash>.net`) for start-nginx.sh's check there.
 * Every chart a test synthesizes records its gateways' confs (test/posture.ts);
 * renderer tests record theirs. Written whole (a temporary file renamed), so
 * parallel workers never leave half a file.
 */
export function recordNginxConf(conf: string, serviceNetwork: string): void {
  const file = nginxConfFile(conf);
  if (existsSync(file)) return;
  mkdirSync(NGINX_CONF_DIR, { recursive: true });
  for (const [path, text] of [[file.replace(/\.conf$/, '.net'), `${serviceNetwork}\n`], [file, conf]]) {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  }
}

/** The service network in a start.env's text. */
export function startEnvNetwork(startEnv: string): string {
  const m = /^service_network=(.*)$/m.exec(startEnv);
  if (m === null) throw new Error('start.env has no service_network');
  return m[1];
}

/** True when the conf was recorded for the system tier's `nginx -t`. */
export function recordedNginxConf(conf: string): boolean {
  return existsSync(nginxConfFile(conf));
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
