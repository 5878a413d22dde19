/**
 * System tier: the PrometheusRule's alerts and every dashboard expression,
 * checked by the real promtool.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as kplus from 'cdk8s-plus-27';
import { stringify } from 'yaml';
import { findObject, synth, testChart, testGateway } from './util';
import { dashboardExpressions } from '../src/_render-monitoring';

function promtoolRules(groups: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'wggw-rules-')), 'rules.yml');
  writeFileSync(file, stringify({ groups }));
  const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf-8' });
  if (r.status !== 0) throw new Error(`promtool check rules (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

describe('monitoring PromQL, checked by promtool', () => {
  test('the PrometheusRule passes promtool check rules', () => {
    const chart = testChart();
    const gw = testGateway({ metrics: { scrapeFrom: kplus.Pods.select(chart, 'Prometheus', { labels: { app: 'prometheus' } }), podMonitor: true, prometheusRule: true } }, chart);
    gw.addProxiedService('postgres', { serviceName: 'postgres', serviceNamespace: 'db', port: 5432 });
    expect(promtoolRules(findObject(synth(gw), 'PrometheusRule').spec.groups)).toContain('SUCCESS: 6 rules found');
  });

  test('every dashboard expression parses: promtool checks them as recording rules', () => {
    const exprs = dashboardExpressions({ namespace: 'wireguard', deployment: 'gw-deployment-c8a1b2c3', path: 'test/gw' });
    expect(promtoolRules([{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `wireguard_gateway_dashboard:panel_${i + 1}`, expr })) }]))
      .toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});
