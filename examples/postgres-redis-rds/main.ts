/**
 * Example: one WireGuard gateway that exposes an in-cluster PostgreSQL (given
 * as a cdk8s-plus Service), a Redis (by name) and a managed PostgreSQL outside
 * the cluster, to two peers, with Prometheus metrics, alerts and a dashboard.
 *
 *   npm run synth:example     # writes examples/postgres-redis-rds/dist/
 *
 * EXAMPLE_CHANGE=<change> synthesizes it with one change (see ExampleChange):
 * the end-to-end suite applies each to the running gateway and checks that
 * nothing else is touched.
 */
import { App, Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { DEV_SERVER_PRIVATE_KEY } from './dev-keys';
import { DatabaseEngine, WireguardGateway, WireguardKey } from '../../src';

/** One change to the example, as a team would make it to a running gateway. */
export type ExampleChange =
  | 'add-peer' // a new teammate's tablet
  | 'remove-peer' // ci-runner leaves
  | 'add-route' // a Redis replica becomes reachable
  | 'allow-ci-on-orders-db'; // ci-runner may now use the managed database too

export const EXAMPLE_CHANGES: ExampleChange[] = ['add-peer', 'remove-peer', 'add-route', 'allow-ci-on-orders-db'];

export interface GatewayChartProps {
  /** Synthesize the example with this change. @default - none */
  readonly change?: ExampleChange;
  /**
   * The gateway's privilegedInit (the end-to-end suite runs the example both
   * ways: every guarantee holds without the privileged init container too).
   * @default true
   */
  readonly privilegedInit?: boolean;
}

export class GatewayChart extends Chart {
  public readonly gateway: WireguardGateway;

  constructor(scope: Construct, id: string, props: GatewayChartProps = {}) {
    super(scope, id, { namespace: 'wireguard' });
    const change = props.change;

    // An in-cluster PostgreSQL, as you would define its Service with cdk8s-plus.
    const postgres = new kplus.Service(this, 'Postgres', {
      metadata: { name: 'postgres', namespace: 'databases' },
      selector: kplus.Pods.select(this, 'PostgresPods', { labels: { 'app.kubernetes.io/name': 'postgres' } }),
      ports: [{ port: 5432, targetPort: 5432 }],
    });

    this.gateway = new WireguardGateway(this, 'gateway', {
      // Development only: a real gateway uses WireguardKey.fromSecretName(...).
      privateKey: WireguardKey.unsafeFromBase64(DEV_SERVER_PRIVATE_KEY),
      endpoint: 'vpn.example.com',
      serviceNetwork: '10.99.0.0/24',
      defineNamespace: true,
      privilegedInit: props.privilegedInit,
      // One peer may hold 2,500 sessions at once (the default is 256): the end-to-end
      // suite's load test opens 2,000 from the laptop.
      maxSessionsPerPeer: 2500,
      // Prometheus metrics on the pod's own address, for kube-prometheus-stack in "monitoring".
      metrics: {
        scrapeFrom: kplus.Pods.select(this, 'Prometheus', {
          labels: { 'app.kubernetes.io/name': 'prometheus' },
          namespaces: kplus.Namespaces.select(this, 'Monitoring', { names: ['monitoring'] }),
        }),
        podMonitor: true,
        scrapeInterval: Duration.seconds(10),
        prometheusRule: true,
        monitorLabels: { release: 'kube-prometheus-stack' },
        grafanaDashboard: true,
        dashboardNamespace: 'monitoring',
      },
    });
    const laptop = this.gateway.addPeer('laptop', { publicKey: 'bTiyvrUQaHpMm264+8jtexpxFEBHR+YMKDTnKqBMXDY=', address: '10.98.0.2' });
    const ciRunner = change === 'remove-peer'
      ? undefined
      : this.gateway.addPeer('ci-runner', { publicKey: 'EB5xHzgfEurr+uMtmFI7B9kCSpjGcTn1oIej2pdCdx0=', address: '10.98.0.3' });
    if (change === 'add-peer') {
      this.gateway.addPeer('tablet', { publicKey: 'qQieeCjdPunX+qQ9MeMiZRdvQ4xkZvwnwlF/rppWy1I=', address: '10.98.0.4' });
    }

    // Explicit addresses: short to type, and they survive renaming a route. Without
    // `address`, a route's address is derived from its name and never moves when
    // other routes come and go.
    this.gateway.addProxiedService('postgres', { service: postgres, address: '10.99.0.1' });
    this.gateway.addProxiedService('redis', {
      address: '10.99.0.2',
      serviceName: 'redis',
      serviceNamespace: 'cache',
      port: 6379,
      podSelector: { 'app.kubernetes.io/name': 'redis' },
    });
    this.gateway.addManagedDbRoute('orders-db', {
      address: '10.99.0.3',
      host: 'orders.cluster-abc123.eu-west-1.rds.amazonaws.com',
      engine: DatabaseEngine.POSTGRESQL,
      cidrs: ['10.20.0.0/16'],
      // Only the laptop may reach the managed database; ci-runner is refused.
      allowPeers: change === 'allow-ci-on-orders-db' && ciRunner ? [laptop, ciRunner] : [laptop],
    });
    if (change === 'add-route') {
      this.gateway.addProxiedService('cache-replica', {
        serviceName: 'redis-replica',
        serviceNamespace: 'cache',
        port: 6379,
        podSelector: { 'app.kubernetes.io/name': 'redis-replica' },
      });
    }
  }
}

/** EXAMPLE_CHANGE, checked. */
export function exampleChange(value: string | undefined): ExampleChange | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(EXAMPLE_CHANGES as string[]).includes(value)) {
    throw new Error(`EXAMPLE_CHANGE=${value}: use one of ${EXAMPLE_CHANGES.join(', ')}, or leave it unset`);
  }
  return value as ExampleChange;
}

if (require.main === module) {
  const app = new App();
  new GatewayChart(app, 'gateway', { change: exampleChange(process.env.EXAMPLE_CHANGE) });
  app.synth();
}
