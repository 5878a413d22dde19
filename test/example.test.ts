/**
 * The example app, synthesized for real with `cdk8s synth` (the task a user
 * runs: npm run synth:example), checked as a user's CI would check it.
 */
import { execFileSync } from 'child_process';
import { readFileSync, readdirSync, rmSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { forSnapshot, recordNginxConf, recordedNginxConf, startEnvNetwork, validateWithSchemas } from './util';
import { DEV_SERVER_PRIVATE_KEY } from '../examples/postgres-redis-rds/dev-keys';
import { EXAMPLE_CHANGES, ExampleChange, GatewayChart, exampleChange } from '../examples/postgres-redis-rds/main';

const EXAMPLE = join(__dirname, '..', 'examples', 'postgres-redis-rds');
const DIST = join(EXAMPLE, 'dist');

function synthExample(): Record<string, string> {
  rmSync(DIST, { recursive: true, force: true });
  execFileSync('npx', ['projen', 'synth:example'], { cwd: join(__dirname, '..'), stdio: 'pipe', env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' } });
  return Object.fromEntries(readdirSync(DIST).sort().map((f) => [f, readFileSync(join(DIST, f), 'utf-8')]));
}

describe('examples/postgres-redis-rds', () => {
  let first: Record<string, string>;
  let objects: any[];

  beforeAll(() => {
    first = synthExample();
    objects = Object.values(first).flatMap((text) => parseAllDocuments(text).map((d) => d.toJSON()));
  });

  test('cdk8s synth writes one manifest file', () => {
    expect(Object.keys(first)).toEqual(['gateway.k8s.yaml']);
  });

  test('synthesizing twice gives byte-identical files', () => {
    expect(synthExample()).toEqual(first);
  });

  test('matches the snapshot (Secret values redacted)', () => {
    expect(forSnapshot(objects)).toMatchSnapshot();
  });

  test('every object validates against the Kubernetes 1.33 schemas', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'ConfigMap', 'ConfigMap', 'ConfigMap', 'Deployment', 'Namespace', 'NetworkPolicy', 'PodDisruptionBudget', 'PodMonitor', 'PrometheusRule', 'Secret', 'Service',
      'Service',
    ]);
    validateWithSchemas(objects);
  });

  test('the private key appears only in the Secret', () => {
    const text = first['gateway.k8s.yaml'];
    const docs = text.split(/^---$/m);
    const holding = docs.filter((d) => d.includes(DEV_SERVER_PRIVATE_KEY));
    expect(holding).toHaveLength(1);
    expect(holding[0]).toMatch(/^kind: Secret$/m);
  });

  test('its nginx.conf is recorded for the system tier\'s real nginx -t (cdk8s synth ran in a child process)', () => {
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.data['nginx.conf'] !== undefined);
    recordNginxConf(cm.data['nginx.conf'], startEnvNetwork(cm.data['start.env']));
    expect(recordedNginxConf(cm.data['nginx.conf'])).toBe(true);
  });

  test('exposes the three routes, with orders-db restricted to the laptop', () => {
    const info = JSON.parse(objects.find((o) => o.kind === 'ConfigMap' && o.data['nginx.conf'] !== undefined).data['connection-info.json']);
    expect(info.routes.map((r: any) => `${r.name} ${r.address}:${r.port} -> ${r.target}`)).toEqual([
      'postgres 10.99.0.1:5432 -> postgres.databases.svc.cluster.local:5432',
      'redis 10.99.0.2:6379 -> redis.cache.svc.cluster.local:6379',
      'orders-db 10.99.0.3:5432 -> orders.cluster-abc123.eu-west-1.rds.amazonaws.com:5432',
    ]);
    expect(info.routes[2].allowPeers).toEqual(['10.98.0.2']);
    expect(info.peers.map((p: any) => `${p.name} ${p.address}`)).toEqual(['laptop 10.98.0.2', 'ci-runner 10.98.0.3']);
  });
});

describe('examples/postgres-redis-rds with one change (EXAMPLE_CHANGE, what the e2e suite applies live)', () => {
  const synthOf = (change?: ExampleChange) => {
    const app = Testing.app();
    new GatewayChart(app, 'gateway', { change });
    return app.charts[0].toJson();
  };
  const kind = (objects: any[], k: string) => JSON.stringify(objects.filter((o) => o.kind === k));
  const base = synthOf();

  test.each(EXAMPLE_CHANGES)('%s changes the ConfigMap and not the Deployment (configUpdates LIVE)', (change) => {
    const changed = synthOf(change);
    expect(kind(changed, 'ConfigMap')).not.toBe(kind(base, 'ConfigMap'));
    expect(kind(changed, 'Deployment')).toBe(kind(base, 'Deployment'));
  });

  test('an unknown EXAMPLE_CHANGE is refused', () => {
    expect(exampleChange(undefined)).toBeUndefined();
    expect(exampleChange('add-peer')).toBe('add-peer');
    expect(() => exampleChange('drop-table')).toThrow('EXAMPLE_CHANGE=drop-table: use one of add-peer, remove-peer, add-route, allow-ci-on-orders-db, or leave it unset');
  });
});
