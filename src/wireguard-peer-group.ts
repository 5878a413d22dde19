import { Construct, IConstruct } from 'constructs';
import { invalid } from './_errors';
import { checkChildId } from './_ids';
import type { WireguardGateway } from './wireguard-gateway';
import type { WireguardPeer } from './wireguard-peer';

/**
 * An entry of a route's `allowPeers`: a single peer (`WireguardPeer`) or a
 * team of peers as one object (`WireguardPeerGroup`). A route admits every
 * peer each entry selects when the app is synthesized.
 */
export interface IPeerSelection extends IConstruct {
  /** The gateway whose peers these are. */
  readonly gateway: WireguardGateway;

  /** The peers selected: a peer itself, or a group's members. */
  selectPeers(): WireguardPeer[];
}

/** Options for a `WireguardPeerGroup`. */
export interface WireguardPeerGroupOptions {
  /**
   * The group's first members; more with `addPeers`. Each must be a peer of
   * the same gateway.
   *
   * @default - none yet
   */
  readonly peers?: WireguardPeer[];
}

/** Props for `WireguardPeerGroup`. */
export interface WireguardPeerGroupProps extends WireguardPeerGroupOptions {
  /** The gateway whose peers the group holds. */
  readonly gateway: WireguardGateway;
}

/**
 * A team of peers as one object, usable in a route's `allowPeers` next to
 * single peers: `allowPeers: [dbas, oncall, laptop]`. Members added later
 * (`addPeers`) may use every route that names the group; a peer may be in
 * several groups. Its construct id is its name in `connection-info.json`
 * and the access report.
 */
export class WireguardPeerGroup extends Construct implements IPeerSelection {
  /** The gateway whose peers the group holds. */
  public readonly gateway: WireguardGateway;

  private readonly members: WireguardPeer[] = [];

  constructor(scope: Construct, id: string, props: WireguardPeerGroupProps) {
    checkChildId(scope, id, 'peer group');
    super(scope, id);
    this.gateway = props.gateway;
    this.gateway._registerPeerGroup(this);
    this.addPeers(...(props.peers ?? []));
  }

  /** Adds peers of the group's gateway; a peer already in the group is kept once. */
  public addPeers(...peers: WireguardPeer[]): void {
    for (const peer of peers) {
      if (peer.gateway !== this.gateway) {
        throw invalid(this.node.path, 'peers entry', peer.node.path,
          `it is a peer of gateway ${peer.gateway.node.path}, and a group holds only peers of its own gateway ${this.gateway.node.path}`,
          'add the peer with this gateway\'s addPeer, or put it in a group of its own gateway');
      }
      if (!this.members.includes(peer)) this.members.push(peer);
    }
    this.gateway._peerGroupChanged();
  }

  /** The members, in the order they were added. */
  public get peers(): WireguardPeer[] {
    return [...this.members];
  }

  /** The members, as an `allowPeers` entry. */
  public selectPeers(): WireguardPeer[] {
    return this.peers;
  }
}
