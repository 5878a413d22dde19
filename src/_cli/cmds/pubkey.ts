/**
 * `pubkey`: a private key on stdin, its public key on stdout, like `wg pubkey`.
 * The input is never echoed, not even in an error.
 */
import { isWireguardKey, publicKeyOf } from '../../_keys';
import { BIN, CliCommand, CliError, ok } from '../command';

const HELP = `Usage: ${BIN} pubkey < private.key

Read a base64 private key on stdin and print its public key, like "wg pubkey".
Input that is not a WireGuard private key (44 characters of base64) is
rejected with exit code 1; the input is never echoed.

Options:
  -h, --help    Show this help

Example:
  ${BIN} pubkey < server.key
`;

export const pubkeyCommand: CliCommand = {
  name: 'pubkey',
  summary: 'Read a private key on stdin and print its public key (like "wg pubkey")',
  help: HELP,
  options: {},
  run(_opts, io) {
    let text: string;
    try {
      text = io.readStdin();
    } catch (e) {
      throw new CliError(`pubkey: cannot read stdin: ${(e as Error).message}`);
    }
    return ok(publicKeyFromText(text) + '\n');
  },
};

/** The public key of a private key given as text; throws a CliError that never shows the input. */
export function publicKeyFromText(text: string): string {
  const key = text.trim();
  if (key === '') {
    throw new CliError('pubkey: stdin is empty: pipe a private key in, for example "pubkey < server.key"');
  }
  if (!isWireguardKey(key)) {
    const lineCount = key.split('\n').length;
    const shape = lineCount > 1 ? `${key.length} characters on ${lineCount} lines` : `${key.length} characters`;
    throw new CliError(`pubkey: stdin is not a WireGuard private key (got ${shape}; not shown): expected one key of 44 characters of base64 ending in "=", as printed by "wg genkey" or "${BIN} keygen"`);
  }
  return publicKeyOf(key);
}
