/**
 * Writes each example peer's wg-quick file, as the library renders it:
 * `gateway.clientConfig(peer, { privateKey })` on the example app's chart,
 * with the peer's development private key from dev-keys.ts.
 *
 *   npx ts-node -T -P test/tsconfig.json test/e2e/client-configs.ts <out-dir>
 *
 * One file per peer: <out-dir>/<peer name>.conf (mode 0600). Used by the
 * end-to-end suite; nothing in the files is typed by hand.
 */
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { App } from 'cdk8s';
import { DEV_PEER_PRIVATE_KEYS } from '../../examples/postgres-redis-rds/dev-keys';
import { GatewayChart } from '../../examples/postgres-redis-rds/main';

const outDir = process.argv[2];
if (!outDir) {
  throw new Error('usage: client-configs.ts <out-dir>');
}
mkdirSync(outDir, { recursive: true });

// The same chart id as the example's own entry point, so paths and names match.
const chart = new GatewayChart(new App(), 'gateway');
for (const peer of chart.gateway.peers) {
  const privateKey = DEV_PEER_PRIVATE_KEYS[peer.node.id];
  if (privateKey === undefined) {
    throw new Error(`examples/postgres-redis-rds/dev-keys.ts has no private key for peer ${peer.node.id}`);
  }
  writeFileSync(join(outDir, `${peer.node.id}.conf`), chart.gateway.clientConfig(peer, { privateKey }), { mode: 0o600 });
}
process.stdout.write(`client-configs: wrote ${chart.gateway.peers.map((p) => `${p.node.id}.conf`).join(', ')} to ${outDir}\n`);
