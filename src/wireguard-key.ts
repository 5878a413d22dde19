import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { checkKey, isWireguardKey, publicKeyOf } from './_keys';

/**
 * Where the gateway's WireGuard private key comes from.
 *
 * The key always reaches the pod as a file mounted from a Secret (mode 0400,
 * init container only). It never appears in a ConfigMap, a log or a command line.
 */
export abstract class WireguardKey {
  /**
   * Reference an existing Secret that holds the private key. The recommended
   * path: the key is created out of band and never appears in your manifests.
   *
   * ```sh
   * wg genkey | tee server.key | wg pubkey > server.pub
   * kubectl -n <ns> create secret generic wireguard-gateway-key --from-file=private-key=server.key
   * ```
   *
   * @param secret the Secret, e.g. `kplus.Secret.fromSecretName(this, 'Key', 'wireguard-gateway-key')`
   * @param key the key inside the Secret that holds the base64 private key
   * @param publicKey the matching public key (`wg pubkey < server.key`), used in client configs
   */
  public static fromSecret(secret: kplus.ISecret, key: string, publicKey: string): WireguardKey {
    return new SecretKey(secret, key, publicKey);
  }

  /**
   * Define a Secret from a private key given in code. For development and tests
   * only: the key is written into the synthesized manifest (inside the Secret,
   * nowhere else). The public key is derived with Curve25519.
   *
   * @param privateKey base64 private key, as printed by `wg genkey`
   */
  public static fromBase64(privateKey: string): WireguardKey {
    return new InlineKey(privateKey);
  }

  /** The base64 public key that peers put in their `[Peer]` section. */
  public abstract readonly publicKey: string;

  /**
   * Bind the key to a gateway: validates it and returns the Secret and the key
   * inside it that the pod mounts.
   * @internal
   */
  public abstract _bind(scope: Construct, path: string, namespace: string): { secret: kplus.ISecret; key: string };
}

class SecretKey extends WireguardKey {
  constructor(private readonly secret: kplus.ISecret, private readonly key: string, public readonly publicKey: string) {
    super();
  }

  public _bind(_scope: Construct, path: string, _namespace: string) {
    checkKey(path, 'privateKey publicKey', this.publicKey,
      'pass the public key of the private key in the Secret: wg pubkey < server.key');
    if (!/^[-._a-zA-Z0-9]+$/.test(this.key)) {
      throw new Error(`${path}: invalid privateKey key ${JSON.stringify(this.key)}: a Secret key is made of letters, digits, "-", "_" and ".". Fix: pass the key under which the Secret stores the private key, for example "private-key"`);
    }
    return { secret: this.secret, key: this.key };
  }
}

class InlineKey extends WireguardKey {
  public readonly publicKey: string;
  constructor(private readonly privateKey: string) {
    super();
    // Checked again with the construct path at bind time; derive lazily-safe here.
    this.publicKey = isWireguardKey(privateKey) ? publicKeyOf(privateKey) : '';
  }

  public _bind(scope: Construct, path: string, namespace: string) {
    checkKey(path, 'privateKey', this.privateKey,
      'generate one with "wg genkey" or "npx cdk8s-wireguard-gateway keygen"; better, keep it in a Secret and use WireguardKey.fromSecret');
    const secret = new kplus.Secret(scope, 'PrivateKey', {
      metadata: { namespace },
      stringData: { 'private-key': this.privateKey },
    });
    return { secret, key: 'private-key' };
  }
}
