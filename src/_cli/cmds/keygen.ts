/**
 * `keygen`: a new key pair, and the kubectl line that stores the private key
 * in the Secret the gateway reads.
 */
import * as fs from 'fs';
import * as path from 'path';
import { generateKeyPair } from '../../_keys';
import { isDnsSubdomain } from '../../_names';
import { isDnsLabel } from '../../_net';
import { BIN, CliCommand, CliError, ok, usageError } from '../command';

export const DEFAULT_NAMESPACE = 'wireguard';
export const DEFAULT_SECRET_NAME = 'wireguard-gateway-key';
/** The key inside the Secret: WireguardKey.fromSecretName's default. */
export const SECRET_KEY = 'private-key';

const HELP = `Usage: ${BIN} keygen [--namespace <ns>] [--secret-name <name>] [--key-file <path>]

Generate a WireGuard key pair (Curve25519, the same format as "wg genkey" and
"wg pubkey"), and print the kubectl command that stores the private key in the
Secret the gateway reads with WireguardKey.fromSecretName (Secret key "${SECRET_KEY}").

The private key is printed on stdout unless --key-file is given: run it in a
private terminal, not in CI logs, and run "umask 077" before redirecting the
output to a file.

Options:
  --namespace <ns>        Namespace in the kubectl line (default: "${DEFAULT_NAMESPACE}")
  --secret-name <name>    Secret name in the kubectl line (default: "${DEFAULT_SECRET_NAME}")
  --key-file <path>       Write the private key to this new file (mode 0600) instead of
                          printing it; refuses to overwrite an existing file
  -h, --help              Show this help

Examples:
  umask 077; ${BIN} keygen > server.keypair
  ${BIN} keygen --key-file server.key --namespace vpn
`;

export const keygenCommand: CliCommand = {
  name: 'keygen',
  summary: 'Print a new key pair and the kubectl line for the gateway\'s Secret',
  help: HELP,
  options: { 'namespace': 'value', 'secret-name': 'value', 'key-file': 'value' },
  run(opts, io) {
    const namespace = opts.values.namespace ?? DEFAULT_NAMESPACE;
    if (!isDnsLabel(namespace)) {
      throw usageError(`keygen: invalid --namespace ${JSON.stringify(namespace)}: a namespace is a DNS label (lower-case letters, digits and "-", at most 63)`, 'keygen');
    }
    const secretName = opts.values['secret-name'] ?? DEFAULT_SECRET_NAME;
    if (!isDnsSubdomain(secretName)) {
      throw usageError(`keygen: invalid --secret-name ${JSON.stringify(secretName)}: a Secret name is a DNS subdomain (lower-case letters, digits, "-" and ".")`, 'keygen');
    }
    const keyFile = opts.values['key-file'];
    const keys = generateKeyPair();
    if (keyFile !== undefined) writeKeyFile(path.resolve(io.cwd, keyFile), keyFile, keys.privateKey);
    return ok(keygenText({ ...keys, namespace, secretName, keyFile }));
  },
};

/** Writes a private key to a new file, mode 0600 from the first byte; never overwrites (an existing key may be in use). */
function writeKeyFile(target: string, given: string, privateKey: string): void {
  try {
    fs.writeFileSync(target, privateKey + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'EEXIST' ? 'the file exists, and keygen never overwrites a key' : err.message;
    throw new CliError(`keygen: cannot write --key-file ${JSON.stringify(given)}: ${why}. Fix: pick a new path`);
  }
}

export interface KeygenTextInput {
  readonly privateKey: string;
  readonly publicKey: string;
  readonly namespace: string;
  readonly secretName: string;
  /** The --key-file the private key was written to; without it the key is printed. */
  readonly keyFile?: string;
}

/** What keygen prints: every line a comment but `PrivateKey = ` (without --key-file) and `PublicKey = `. */
export function keygenText(k: KeygenTextInput): string {
  const out: string[] = ['# WireGuard key pair from cdk8s-wireguard-gateway keygen.'];
  if (k.keyFile !== undefined) {
    out.push(`# The private key is in ${k.keyFile} (mode 0600); it is not printed.`);
  } else {
    out.push('# The private key is SECRET: keep it out of chat, tickets, logs and git.');
    out.push(`PrivateKey = ${k.privateKey}`);
  }
  out.push(`PublicKey = ${k.publicKey}`, '#');
  if (k.keyFile !== undefined) {
    out.push('# For a gateway, store it in the Secret that WireguardKey.fromSecretName reads:');
  } else {
    out.push(
      '# For a gateway, save the private key alone in server.key (umask 077 first, or run keygen',
      '# with --key-file server.key), then store it in the Secret that WireguardKey.fromSecretName reads:',
    );
  }
  out.push(
    `#   kubectl -n ${k.namespace} create secret generic ${k.secretName} --from-file=${SECRET_KEY}=${shellQuote(k.keyFile ?? 'server.key')}`,
    `#   WireguardKey.fromSecretName('${k.secretName}', { publicKey: '${k.publicKey}' })`,
    '# For a peer, pass the public key to gateway.addPeer(...) and keep the private key on the peer.',
  );
  return out.join('\n') + '\n';
}

/** Quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, '\'\\\'\'')}'`;
}
