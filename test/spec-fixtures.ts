/**
 * Plain renderer inputs for the renderer unit tests: one route, one gateway,
 * each overridable field by field.
 */
import { GatewaySpec, RouteSpec } from '../src/_model';

export function routeSpec(over: Partial<RouteSpec> = {}): RouteSpec {
  return {
    kind: 'ProxiedService',
    path: 'app/gw/pg',
    name: 'pg',
    address: '10.99.0.1',
    listenPort: 5432,
    targetHost: 'pg.db.svc.cluster.local',
    targetPort: 5432,
    connectTimeoutSeconds: 10,
    idleTimeoutSeconds: 86400,
    ...over,
  };
}

export function gatewaySpec(over: Partial<GatewaySpec> = {}): GatewaySpec {
  return {
    path: 'app/gw',
    listenPort: 51820,
    mtu: 1420,
    serviceNetwork: '10.99.0.0/24',
    resolver: { addresses: [], validSeconds: 5, timeoutSeconds: 2, ipv6: false },
    workerProcesses: 2,
    workerConnections: 8256,
    maxSessionsPerPeer: 256,
    initSetsSysctls: true,
    liveUpdates: true,
    routes: [routeSpec()],
    peers: [],
    ...over,
  };
}
