/**
 * Writes each example peer's wg-quick file, as the library renders it:
 * `gateway.clientConfig(peer, { privateKey })` on the example app's chart,
 * with the peer's development private key from dev-keys.ts. Peers that only
 * a change adds (EXAMPLE_CHANGE=add-peer: the tablet) are rendered from the
 * app with that change.
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
import { EXAMPLE_CHANGES, GatewayChart } from '../../examples/postgres-redis-rds/main';

const outDir = process.argv[2];
if (!outDir) {
  throw new Error('usage: client-configs.ts <out-dir>');
}
mkdirSync(outDir, { recursive: true });

// The same chart id as the example's own entry point, so paths and names match.
const written = new Set<string>();
for (const change of [undefined, ...EXAMPLE_CHANGES]) {
  const chart = new GatewayChart(new App(), 'gateway', { change });
  for (const peer of chart.gateway.peers.filter((p) => !written.has(p.node.id))) {
    const privateKey = DEV_PEER_PRIVATE_KEYS[peer.node.id];
    if (privateKey === undefined) {
      throw new Error(`examples/postgres-redis-rds/dev-keys.ts has no private key for peer ${peer.node.id}`);
    }
    writeFileSync(join(outDir, `${peer.node.id}.conf`), chart.gateway.clientConfig(peer, { privateKey }), { mode: 0o600 });
    written.add(peer.node.id);
  }
}
process.stdout.write(`client-configs: wrote ${[...written].map((p) => `${p}.conf`).join(', ')} to ${outDir}\n`);
