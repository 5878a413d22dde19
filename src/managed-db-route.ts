import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { invalid } from './_errors';
import { checkChildId } from './_ids';
import { checkDnsName, checkPort, parseEgressCidr } from './_net';
import { GatewayRoute, GatewayRouteOptions } from './gateway-route';
import type { WireguardGateway } from './wireguard-gateway';

/** A database engine, for its default port. */
export enum DatabaseEngine {
  /** PostgreSQL, port 5432. */
  POSTGRESQL = 'postgresql',
  /** MySQL or MariaDB, port 3306. */
  MYSQL = 'mysql',
  /** Redis or Valkey, port 6379. */
  REDIS = 'redis',
}

const ENGINE_PORTS: Record<string, number> = {
  [DatabaseEngine.POSTGRESQL]: 5432,
  [DatabaseEngine.MYSQL]: 3306,
  [DatabaseEngine.REDIS]: 6379,
};

/** How to reach a database outside the cluster. */
export interface ManagedDbRouteOptions extends GatewayRouteOptions {
  /**
   * The database's DNS name, e.g. `mydb.abc123.eu-west-1.rds.amazonaws.com`.
   * nginx resolves it for every new connection, so a failover that changes the
   * DNS answer is followed.
   */
  readonly host: string;

  /**
   * The CIDRs where the database may live. Required: NetworkPolicies cannot
   * name hosts, so the gateway's egress rule allows these CIDRs on `port`.
   * No peer address and no part of the gateway's serviceNetwork may lie
   * inside them (checked at synth): the pod would send the database's traffic
   * to the peer, or keep it.
   */
  readonly cidrs: string[];

  /**
   * The database's port.
   *
   * @default - the engine's port
   */
  readonly port?: number;

  /**
   * The engine, for the default port.
   *
   * @default - none; then `port` is required
   */
  readonly engine?: DatabaseEngine;
}

/** Props for `ManagedDbRoute`. */
export interface ManagedDbRouteProps extends ManagedDbRouteOptions {
  /** The gateway that exposes the database. */
  readonly gateway: WireguardGateway;
}

/**
 * Exposes a database outside the cluster (a managed PostgreSQL, MySQL or Redis)
 * to the gateway's peers, by DNS name.
 */
export class ManagedDbRoute extends GatewayRoute {
  /** The CIDRs the egress rule allows. */
  public readonly cidrs: string[];

  constructor(scope: Construct, id: string, props: ManagedDbRouteProps) {
    checkChildId(scope, id, 'route');
    const path = `${scope.node.path}/${id}`;
    const host = checkDnsName(path, 'host', props.host, 'give the database endpoint\'s DNS name, for example "mydb.abc123.eu-west-1.rds.amazonaws.com"');
    if (props.engine !== undefined && !(props.engine in ENGINE_PORTS)) {
      throw invalid(path, 'engine', props.engine, `must be one of ${Object.keys(ENGINE_PORTS).join(', ')}`, 'use DatabaseEngine.POSTGRESQL, MYSQL or REDIS, or give port');
    }
    const rawPort = props.port ?? (props.engine !== undefined ? ENGINE_PORTS[props.engine] : undefined);
    if (rawPort === undefined) {
      throw invalid(path, 'port', undefined, 'a ManagedDbRoute needs a port', 'pass port, or engine (DatabaseEngine.POSTGRESQL, MYSQL or REDIS) for its default port');
    }
    const port = checkPort(path, 'port', rawPort, 'pass the database\'s TCP port');
    if (!Array.isArray(props.cidrs) || props.cidrs.length === 0) {
      throw invalid(path, 'cidrs', props.cidrs, 'at least one CIDR is required: NetworkPolicies cannot name hosts',
        'list the CIDRs where the database may live, for example its subnets: ["10.20.0.0/16"]');
    }
    const cidrs = props.cidrs.map((c, i) => parseEgressCidr(path, `cidrs[${i}]`, c));
    super(scope, id, props.gateway, props, { kind: 'ManagedDbRoute', targetHost: host, targetPort: port });
    this.cidrs = cidrs;
  }

  /** @internal */
  public _egressRule(): k8s.NetworkPolicyEgressRule {
    return { to: this.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(this.targetPort) }] };
  }

  /** @internal */
  public _egressCidrs() {
    return { prop: 'cidrs', cidrs: this.cidrs };
  }
}
