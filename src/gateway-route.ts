import { Duration } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { automaticAddress } from './_address-plan';
import { wholeSeconds } from './_checks';
import { invalid } from './_errors';
import { RouteSpec } from './_model';
import { checkIpv4Address, checkPort, networkContains } from './_net';
import { RouteAccess } from './gateway-options';
import type { WireguardGateway } from './wireguard-gateway';
import { IPeerSelection, WireguardPeerGroup } from './wireguard-peer-group';

/**
 * Options every route shares: where it listens on the tunnel, its timeouts and
 * which peers may use it.
 */
export interface GatewayRouteOptions {
  /**
   * The address on the gateway's WireGuard interface this route listens on.
   * Routes may share an explicit address when their listen ports differ; an
   * automatic address belongs to its route alone.
   *
   * @default - derived from the route's name (a hash of it into the gateway's serviceNetwork), so adding, removing or reordering other routes never moves it; synth fails if two routes land on one address
   */
  readonly address?: string;

  /**
   * The TCP port the route listens on at its address.
   *
   * @default - the target's port
   */
  readonly listenPort?: number;

  /**
   * How long nginx waits to connect to the target.
   *
   * @default Duration.seconds(10)
   */
  readonly connectTimeout?: Duration;

  /**
   * How long a session may be idle, in both directions, before nginx closes it.
   * The default suits long-lived database sessions that sit idle in a pool.
   *
   * @default Duration.hours(24)
   */
  readonly idleTimeout?: Duration;

  /**
   * The only peers that may use this route (nginx `allow`/`deny` on the peers'
   * tunnel addresses): single peers (`WireguardPeer`) and teams
   * (`WireguardPeerGroup`), each of the same gateway. A group's members as of
   * synth may use it. Required when the gateway's `routeAccess` is
   * `RouteAccess.CLOSED`.
   *
   * @default - every peer of the gateway (RouteAccess.OPEN)
   */
  readonly allowPeers?: IPeerSelection[];
}

/** What a concrete route hands to `GatewayRoute`: where nginx connects. */
export interface GatewayRouteTarget {
  /** The kind of route, for comments in rendered files, e.g. "ProxiedService". */
  readonly kind: string;
  /** The fully-qualified DNS name nginx resolves per connection. */
  readonly targetHost: string;
  /** The port nginx connects to. */
  readonly targetPort: number;
}

/**
 * A TCP route through the gateway: nginx listens on `address:listenPort` on
 * the WireGuard interface and proxies each connection to a target it resolves
 * by DNS name.
 */
export abstract class GatewayRoute extends Construct {
  /** The gateway this route belongs to. */
  public readonly gateway: WireguardGateway;

  /** The TCP port this route listens on. */
  public readonly listenPort: number;

  /** The fully-qualified DNS name nginx resolves for every new connection. */
  public readonly targetHost: string;

  /** The port nginx connects to on the target. */
  public readonly targetPort: number;

  /**
   * The address this route listens on: the explicit `address`, or one derived
   * from the route's name. It is fixed when the route is defined and never
   * changes; synth fails if another route holds it too.
   */
  public readonly address: string;

  /** Whether `address` was given explicitly. @internal */
  public readonly _explicitAddress: boolean;

  /** A NetworkPolicy this route defines in its target's namespace, if any. @internal */
  public _targetPolicy?: { readonly namespace: string; readonly name: string };

  private readonly options: GatewayRouteOptions;
  private readonly kind: string;
  private readonly connectTimeoutSeconds: number;
  private readonly idleTimeoutSeconds: number;

  protected constructor(scope: Construct, id: string, gateway: WireguardGateway, options: GatewayRouteOptions, target: GatewayRouteTarget) {
    super(scope, id);
    this.gateway = gateway;
    this.options = options;
    this.kind = target.kind;
    this.targetHost = target.targetHost;
    this.targetPort = target.targetPort;
    const path = this.node.path;
    this.listenPort = options.listenPort === undefined
      ? target.targetPort
      : checkPort(path, 'listenPort', options.listenPort, 'pick a TCP port from 1 to 65535, or omit listenPort to use the target port');
    this._explicitAddress = options.address !== undefined;
    if (options.address !== undefined) {
      const a = checkIpv4Address(path, 'address', options.address, `give an address inside the gateway's serviceNetwork ${gateway.serviceNetwork}, or omit it to derive one from the route's name`);
      if (!networkContains(gateway._network, a)) {
        throw invalid(path, 'address', options.address, `it is outside the gateway's serviceNetwork ${gateway.serviceNetwork}`,
          `give an address inside ${gateway.serviceNetwork}, or omit it to derive one from the route's name`);
      }
      this.address = options.address;
    } else {
      this.address = automaticAddress(gateway._network, this.node.id);
    }
    if (options.allowPeers !== undefined && options.allowPeers.length === 0) {
      throw invalid(path, 'allowPeers', [], 'an empty list would deny every peer', 'list the peers that may use this route, or omit allowPeers to allow every peer');
    }
    if (options.allowPeers === undefined && gateway.routeAccess === RouteAccess.CLOSED) {
      throw invalid(path, 'allowPeers', undefined, 'the gateway\'s routeAccess is RouteAccess.CLOSED, so every route must name the peers or peer groups that may use it',
        'pass allowPeers with the peers or groups (gateway.addPeerGroup) that need this route');
    }
    this.connectTimeoutSeconds = wholeSeconds(path, 'connectTimeout', options.connectTimeout, 10);
    this.idleTimeoutSeconds = wholeSeconds(path, 'idleTimeout', options.idleTimeout, 86400);
    gateway._registerRoute(this);
  }

  /** `address:listenPort`, what a peer connects to. */
  public get endpoint(): string {
    return `${this.address}:${this.listenPort}`;
  }

  /** @internal */
  public _allowPeers(): IPeerSelection[] | undefined {
    return this.options.allowPeers;
  }

  /** @internal */
  public _spec(): RouteSpec {
    const allow = this.options.allowPeers;
    const groups = (allow ?? []).filter((a): a is WireguardPeerGroup => a instanceof WireguardPeerGroup).map((g) => g.node.id);
    return {
      kind: this.kind,
      path: this.node.path,
      name: this.node.id,
      address: this.address,
      listenPort: this.listenPort,
      targetHost: this.targetHost,
      targetPort: this.targetPort,
      connectTimeoutSeconds: this.connectTimeoutSeconds,
      idleTimeoutSeconds: this.idleTimeoutSeconds,
      allowAddresses: allow === undefined ? undefined : [...new Set(allow.flatMap((a) => a.selectPeers().map((p) => p.address)))],
      allowGroups: groups.length === 0 ? undefined : [...new Set(groups)].sort(),
    };
  }

  /**
   * The NetworkPolicy egress rule for this route.
   * @internal
   */
  public abstract _egressRule(): k8s.NetworkPolicyEgressRule;

  /**
   * The CIDRs the egress rule allows and the prop they come from ("cidrs",
   * "egressCidrs"): networks the pod talks to, which no peer and no service
   * address may overlap.
   * @internal
   */
  public abstract _egressCidrs(): { readonly prop: string; readonly cidrs: string[] };
}
