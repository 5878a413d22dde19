/**
 * Renders the WireGuard side of the gateway: the peer configuration for
 * `wg syncconf` (init.sh reads it). Pure functions of a GatewaySpec.
 */
import { SCRIPT_FILES } from './_contract';
import { GatewaySpec } from './_model';
import { commentText, generatedBy, lines, sortByAddress } from './_text';

/**
 * The `wg syncconf` file. It holds no private key: init.sh hands wg the key
 * from the mounted Secret (or the one the interface has) through a pipe.
 */
export function renderWgConf(spec: GatewaySpec): string {
  const peers = sortByAddress(spec.peers).flatMap((p) => [
    '',
    `# Peer ${commentText(p.name)} (${commentText(p.path)})`,
    '[Peer]',
    `PublicKey = ${p.publicKey}`,
    `AllowedIPs = ${p.address}/32`,
  ]);
  return lines(
    generatedBy(spec.path),
    `# The private key is not in this file: ${SCRIPT_FILES.initScript} loads it from the Secret.`,
    '[Interface]',
    `ListenPort = ${spec.listenPort}`,
    peers, // an array, not spread: call arguments are bounded by the stack
  );
}
