import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { wholeSeconds } from './_checks';
import { invalid } from './_errors';
import { checkChildId } from './_ids';
import { checkKey } from './_keys';
import { checkIpv4Address, checkUnicastIpv4 } from './_net';
import { checkExpires } from './_peer-access';
import type { WireguardGateway } from './wireguard-gateway';
import type { IPeerSelection } from './wireguard-peer-group';

/** A remote WireGuard peer: a laptop, a CI runner. */
export interface WireguardPeerOptions {
  /** The peer's base64 public key (`wg pubkey < peer.key`). */
  readonly publicKey: string;

  /**
   * The peer's single tunnel address. It must lie outside the gateway's
   * serviceNetwork and every network the gateway talks to (routes' `cidrs`
   * and `egressCidrs`, `dnsCidrs`, `resolverAddresses`: checked at synth),
   * and be unique among the gateway's peers.
   */
  readonly address: string;

  /**
   * A Secret with a preshared key for this peer (`wg genpsk`), for an extra
   * symmetric layer. The gateway mounts it for the init container only.
   *
   * @default - no preshared key
   */
  readonly presharedKeySecret?: kplus.ISecret;

  /**
   * The key inside `presharedKeySecret`.
   *
   * @default "preshared-key"
   */
  readonly presharedKeySecretKey?: string;

  /**
   * The PersistentKeepalive written into this peer's client configuration.
   *
   * @default Duration.seconds(25)
   */
  readonly persistentKeepalive?: Duration;

  /**
   * When the peer's access ends: a point in time, on a whole second. From
   * then on the gateway's pods remove the peer from their interface, by their
   * own clock (the synth never reads the clock). Client files,
   * `connection-info.json`, the access report and the metrics show it.
   *
   * @default - the peer never expires
   */
  readonly expires?: Date;

  /**
   * Whether the peer may connect. A disabled peer stays in the app, its
   * documents and the access report, but is on no interface of the gateway,
   * so it cannot complete a handshake; enabling it again is a live change.
   *
   * @default true
   */
  readonly enabled?: boolean;
}

/** Props for `WireguardPeer`. */
export interface WireguardPeerProps extends WireguardPeerOptions {
  /** The gateway this peer connects to. */
  readonly gateway: WireguardGateway;
}

/** A peer given in the gateway's `peers` prop. */
export interface WireguardGatewayPeer extends WireguardPeerOptions {
  /** The peer's name: its construct id, shown in configs and the connection info. */
  readonly name: string;
}

/** Options for a peer's client configuration. */
export interface ClientConfigOptions {
  /**
   * The peer's private key, to write a complete file. Only when you explicitly
   * want it in the output: by default the file has a placeholder.
   *
   * @default - a placeholder the user replaces
   */
  readonly privateKey?: string;

  /**
   * The peer's preshared key, to write a complete file. Only for peers with a
   * `presharedKeySecret`; by default their file has a placeholder.
   *
   * @default - a placeholder, for peers with a preshared key
   */
  readonly presharedKey?: string;
}

/**
 * A remote peer of a gateway. The gateway only knows its public key and
 * tunnel address; it renders the peer's wg-quick file with `clientConfig()`.
 * A route's `allowPeers` takes it, alone or in a `WireguardPeerGroup`.
 */
export class WireguardPeer extends Construct implements IPeerSelection {
  /** The gateway this peer connects to. */
  public readonly gateway: WireguardGateway;
  /** The peer's public key. */
  public readonly publicKey: string;
  /** The peer's tunnel address. */
  public readonly address: string;
  /** The PersistentKeepalive of its client configuration, in seconds. */
  public readonly persistentKeepaliveSeconds: number;
  /** Whether the peer may connect (`enabled`). */
  public readonly enabled: boolean;
  /** When the peer's access ends, in UNIX seconds (`expires`). @internal */
  public readonly _expiresAt?: number;
  /** @internal */
  public readonly _presharedKey?: { secret: kplus.ISecret; key: string };

  constructor(scope: Construct, id: string, props: WireguardPeerProps) {
    checkChildId(scope, id, 'peer');
    super(scope, id);
    const path = this.node.path;
    this.gateway = props.gateway;
    this.publicKey = checkKey(path, 'publicKey', props.publicKey, 'pass the peer\'s public key: wg pubkey < peer.key');
    const a = checkIpv4Address(path, 'address', props.address, 'give the peer a single IPv4 tunnel address outside the serviceNetwork, for example "10.98.0.2"');
    checkUnicastIpv4(path, 'address', props.address, a, 'give the peer an ordinary private address, for example "10.98.0.2"');
    if (this.gateway._inServiceNetwork(a)) {
      throw invalid(path, 'address', props.address, `it is inside the gateway's serviceNetwork ${this.gateway.serviceNetwork}, which holds the service addresses`,
        `give the peer an address outside ${this.gateway.serviceNetwork}, for example in a separate peer network`);
    }
    this.address = props.address;
    this.persistentKeepaliveSeconds = props.persistentKeepalive === undefined
      ? 25
      : wholeSeconds(path, 'persistentKeepalive', props.persistentKeepalive, 25);
    if (this.persistentKeepaliveSeconds > 65535) {
      throw invalid(path, 'persistentKeepalive', `${this.persistentKeepaliveSeconds}s`, 'must be at most 65535 seconds', 'use a value like Duration.seconds(25)');
    }
    if (props.presharedKeySecret !== undefined) {
      const key = props.presharedKeySecretKey ?? 'preshared-key';
      if (!/^[-._a-zA-Z0-9]+$/.test(key)) {
        throw invalid(path, 'presharedKeySecretKey', key, 'a Secret key is made of letters, digits, "-", "_" and "."', 'pass the key under which the Secret stores the preshared key');
      }
      this._presharedKey = { secret: props.presharedKeySecret, key };
    } else if (props.presharedKeySecretKey !== undefined) {
      throw invalid(path, 'presharedKeySecretKey', props.presharedKeySecretKey, 'it only applies together with presharedKeySecret',
        'pass presharedKeySecret too, or drop presharedKeySecretKey');
    }
    this._expiresAt = props.expires === undefined ? undefined : checkExpires(path, props.expires);
    this.enabled = props.enabled ?? true;
    this.gateway._registerPeer(this);
  }

  /** When the peer's access ends (`expires`), if it does. */
  public get expires(): Date | undefined {
    return this._expiresAt === undefined ? undefined : new Date(this._expiresAt * 1000);
  }

  /** The peer itself, as an `allowPeers` entry. */
  public selectPeers(): WireguardPeer[] {
    return [this];
  }

  /** This peer's wg-quick file. See `WireguardGateway.clientConfig`. */
  public clientConfig(options: ClientConfigOptions = {}): string {
    return this.gateway.clientConfig(this, options);
  }
}
