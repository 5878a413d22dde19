/**
 * Example: one WireGuard gateway that exposes an in-cluster PostgreSQL (given
 * as a cdk8s-plus Service), a Redis (by name) and a managed PostgreSQL outside
 * the cluster, to two peers.
 *
 *   npm run synth:example     # writes examples/postgres-redis-rds/dist/
 */
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { DEV_SERVER_PRIVATE_KEY } from './dev-keys';
import { DatabaseEngine, WireguardGateway, WireguardKey } from '../../src';

export class GatewayChart extends Chart {
  public readonly gateway: WireguardGateway;

  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'wireguard' });

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
    });
    const laptop = this.gateway.addPeer('laptop', { publicKey: 'bTiyvrUQaHpMm264+8jtexpxFEBHR+YMKDTnKqBMXDY=', address: '10.98.0.2' });
    this.gateway.addPeer('ci-runner', { publicKey: 'EB5xHzgfEurr+uMtmFI7B9kCSpjGcTn1oIej2pdCdx0=', address: '10.98.0.3' });

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
      allowPeers: [laptop],
    });
  }
}

if (require.main === module) {
  const app = new App();
  new GatewayChart(app, 'gateway');
  app.synth();
}
