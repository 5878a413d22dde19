/**
 * System tier: the opt-in alert WireguardGatewayPeerExpiresSoon, checked by
 * the real promtool: `check rules` on the PrometheusRule the gateway
 * defines, and `test rules` on series as the pods serve them (the names of
 * src/_peer-access.ts), so the alert fires for exactly the peers it should.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { stringify } from 'yaml';
import { findObject, synth, testChart, testGateway } from './util';
import { PEER_METRICS } from '../src/_peer-access';

const DAY = 86400;

/** The rule groups of a gateway whose PrometheusRule has the expiry alert (14 days). */
function ruleGroups(): any[] {
  const chart = testChart();
  const gw = testGateway({
    metrics: {
      scrapeFrom: kplus.Pods.select(chart, 'Prometheus', { labels: { app: 'prometheus' } }),
      podMonitor: true,
      prometheusRule: true,
      peerExpiryWarning: Duration.days(14),
    },
  }, chart);
  gw.addProxiedService('postgres', { serviceName: 'postgres', serviceNamespace: 'db', port: 5432, podSelector: { app: 'pg' } });
  return findObject(synth(gw), 'PrometheusRule').spec.groups;
}

function promtool(args: string[], files: Record<string, unknown>): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wggw-expiry-'));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), stringify(content));
    const r = spawnSync('promtool', args, { cwd: dir, encoding: 'utf-8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('WireguardGatewayPeerExpiresSoon, by promtool', () => {
  test('the PrometheusRule with the alert passes promtool check rules', () => {
    const r = promtool(['check', 'rules', 'rules.yml'], { 'rules.yml': { groups: ruleGroups() } });
    expect(r.out).toContain('SUCCESS: 7 rules found');
    expect(r.status).toBe(0);
  });

  test('fires for an enabled peer less than 14 days from its expiry, per peer over both pods; not for a later, an expired or a disabled one', () => {
    // promtool evaluates at `eval_time` from 0: at 1h, time() is 3600.
    const now = 3600;
    const pods = ['gw-5d8f7b9c6d-abcde', 'gw-5d8f7b9c6d-fghij'];
    const peer = (key: string, name: string, expiresIn: number, enabled: number) => pods.flatMap((pod) => {
      const labels = `namespace="wireguard",pod="${pod}",public_key="${key}",friendly_name="${name}"`;
      return [
        { series: `${PEER_METRICS.expiry.name}{${labels}}`, values: `${now + expiresIn}x90` },
        { series: `${PEER_METRICS.enabled.name}{${labels}}`, values: `${enabled}x90` },
      ];
    });
    const tests = {
      rule_files: ['rules.yml'],
      evaluation_interval: '1m',
      tests: [{
        interval: '1m',
        input_series: [
          ...peer('A', 'contractor', 10 * DAY, 1),
          ...peer('B', 'later', 20 * DAY, 1),
          ...peer('C', 'suspended', 5 * DAY, 0),
          ...peer('D', 'gone', -DAY, 1),
        ],
        alert_rule_test: [{
          eval_time: '1h',
          alertname: 'WireguardGatewayPeerExpiresSoon',
          exp_alerts: [{
            exp_labels: { severity: 'info', namespace: 'wireguard', public_key: 'A', friendly_name: 'contractor' },
            exp_annotations: {
              summary: 'Peer contractor of WireGuard gateway wireguard/gw expires in 10d 0h 0m 0s',
              description: 'The peer\'s access ends at its expires (less than 14 days away): the gateway then removes it. To keep it, move its expires in the app and apply; otherwise nothing is needed. Public key A.',
            },
          }],
        }],
      }],
    };
    const r = promtool(['test', 'rules', 'tests.yml'], { 'rules.yml': { groups: ruleGroups() }, 'tests.yml': tests });
    expect(r.out).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});
