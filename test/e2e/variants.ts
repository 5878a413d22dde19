/**
 * Synthesizes the example app once per change (examples/postgres-redis-rds,
 * ExampleChange), as `EXAMPLE_CHANGE=<change> cdk8s synth` would, into
 * <out-dir>/<change>/ (and the unchanged app into <out-dir>/base/), and the
 * unchanged app with privilegedInit: false into <out-dir>/unprivileged/. One
 * process for all of them: the end-to-end suite swaps the changes into the
 * running gateway's ConfigMap volume, and runs a pod of the unprivileged one.
 *
 *   npx ts-node -T -P test/tsconfig.json test/e2e/variants.ts <out-dir>
 */
import { join } from 'path';
import { App } from 'cdk8s';
import { EXAMPLE_CHANGES, GatewayChart } from '../../examples/postgres-redis-rds/main';

const outDir = process.argv[2];
if (!outDir) {
  throw new Error('usage: variants.ts <out-dir>');
}
for (const change of [undefined, ...EXAMPLE_CHANGES]) {
  const app = new App({ outdir: join(outDir, change ?? 'base') });
  new GatewayChart(app, 'gateway', { change });
  app.synth();
}
const unprivileged = new App({ outdir: join(outDir, 'unprivileged') });
new GatewayChart(unprivileged, 'gateway', { privilegedInit: false });
unprivileged.synth();
process.stdout.write(`variants: base, ${EXAMPLE_CHANGES.join(', ')}, unprivileged in ${outDir}\n`);
