import { ApiObjectMetadata } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { invalid } from './_errors';
import { checkKey, isWireguardKey, publicKeyOf } from './_keys';
import { checkSubdomain } from './_names';

/** The Secret key under which `keygen` and the README store the private key. */
const DEFAULT_SECRET_KEY = 'private-key';

/** Options for `WireguardKey.fromSecret` and `WireguardKey.fromSecretName`. */
export interface WireguardKeyFromSecretOptions {
  /**
   * The public key of the private key in the Secret (`wg pubkey < server.key`),
   * for peers and client configurations.
   */
  readonly publicKey: string;

  /**
   * The key inside the Secret that holds the base64 private key.
   *
   * @default "private-key"
   */
  readonly key?: string;
}

/**
 * Where the gateway's WireGuard private key comes from.
 *
 * The key always reaches the pod as a file mounted from a Secret (mode 0400,
 * init container only). It never appears in a ConfigMap, a log or a command line.
 */
export abstract class WireguardKey {
  /**
   * Reference an existing Secret, by name, in the gateway's namespace. The
   * recommended path: the key is created out of band and never appears in
   * your manifests.
   *
   * ```sh
   * wg genkey | tee server.key | wg pubkey > server.pub
   * kubectl -n <ns> create secret generic wireguard-gateway-key --from-file=private-key=server.key
   * ```
   *
   * @param secretName the Secret's name, e.g. "wireguard-gateway-key"
   */
  public static fromSecretName(secretName: string, options: WireguardKeyFromSecretOptions): WireguardKey {
    return new SecretKey({ name: secretName }, options);
  }

  /**
   * Reference a Secret you have as an object (`kplus.Secret.fromSecretName(...)`
   * or a `kplus.Secret` your app defines). See `fromSecretName`.
   */
  public static fromSecret(secret: kplus.ISecret, options: WireguardKeyFromSecretOptions): WireguardKey {
    return new SecretKey({ secret }, options);
  }

  /**
   * Define a Secret from a private key written in code. Unsafe: the key ends
   * up in your source and in the synthesized manifest (inside the Secret,
   * nowhere else). For development and tests only; the public key is derived
   * with Curve25519.
   *
   * @param privateKey base64 private key, as printed by `wg genkey`
   */
  public static unsafeFromBase64(privateKey: string): WireguardKey {
    return new InlineKey(privateKey);
  }

  /**
   * Same as `unsafeFromBase64`.
   *
   * @deprecated use `unsafeFromBase64`, whose name says that the key ends up in your manifests
   */
  public static fromBase64(privateKey: string): WireguardKey {
    return new InlineKey(privateKey);
  }

  /** The base64 public key that peers put in their `[Peer]` section. */
  public abstract readonly publicKey: string;

  /**
   * Bind the key to a gateway: validates it and returns the Secret and the key
   * inside it that the pod mounts. A Secret the gateway defines gets `metadata`
   * (the gateway's name, namespace and labels).
   * @internal
   */
  public abstract _bind(scope: Construct, path: string, metadata: ApiObjectMetadata): { secret: kplus.ISecret; key: string };
}

class SecretKey extends WireguardKey {
  public readonly publicKey: string;
  private readonly key: string;

  constructor(private readonly ref: { readonly secret?: kplus.ISecret; readonly name?: string }, options: WireguardKeyFromSecretOptions) {
    super();
    this.publicKey = options.publicKey;
    this.key = options.key ?? DEFAULT_SECRET_KEY;
  }

  public _bind(scope: Construct, path: string, _metadata: ApiObjectMetadata) {
    checkKey(path, 'privateKey publicKey', this.publicKey,
      'pass the public key of the private key in the Secret: wg pubkey < server.key');
    if (!/^[-._a-zA-Z0-9]+$/.test(this.key)) {
      throw invalid(path, 'privateKey key', this.key, 'a Secret key is made of letters, digits, "-", "_" and "."',
        'pass the key under which the Secret stores the private key, for example "private-key"');
    }
    const secret = this.ref.secret ?? kplus.Secret.fromSecretName(scope, 'PrivateKey',
      checkSubdomain(path, 'privateKey secretName', this.ref.name!, 'pass the name of the Secret that holds the private key, for example "wireguard-gateway-key"'));
    return { secret, key: this.key };
  }
}

class InlineKey extends WireguardKey {
  public readonly publicKey: string;
  constructor(private readonly privateKey: string) {
    super();
    // Checked again with the construct path at bind time; derive lazily-safe here.
    this.publicKey = isWireguardKey(privateKey) ? publicKeyOf(privateKey) : '';
  }

  public _bind(scope: Construct, path: string, metadata: ApiObjectMetadata) {
    checkKey(path, 'privateKey', this.privateKey,
      'generate one with "wg genkey" or "npx cdk8s-wireguard-gateway keygen"; better, keep it in a Secret and use WireguardKey.fromSecretName');
    const secret = new kplus.Secret(scope, 'PrivateKey', {
      metadata,
      stringData: { [DEFAULT_SECRET_KEY]: this.privateKey },
    });
    return { secret, key: DEFAULT_SECRET_KEY };
  }
}
