/**
 * Monitoring and access: the opt-in peer expiry alert (its text and
 * structure; promtool runs it in peer-expiry-alert.system.test.ts), a
 * PrometheusRule only where the pods are scraped, and dashboards of gateways
 * of one name in two namespaces.
 */
import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { GatewayMetricsOptions, WireguardGateway } from '../src';
import { findObject, synth, testChart, testGateway, validateWithSchemas } from './util';
import { PEER_METRICS } from '../src/_peer-access';
import { alertRules, peerExpiryAlert } from '../src/_render-monitoring';

const G = { namespace: 'wireguard', deployment: 'gw', path: 'test/gw' };

function gateway(metrics: Partial<GatewayMetricsOptions>, props = {}, scope: Construct = testChart()): WireguardGateway {
  const scrapeFrom = kplus.NetworkPolicyIpBlock.ipv4(testChart('monitoring'), 'Prometheus', '10.0.9.0/24');
  const gw = testGateway({ ...props, metrics: { scrapeFrom, ...metrics } }, scope);
  gw.addProxiedService('pg', { serviceName: 'pg', serviceNamespace: 'db', port: 5432, podSelector: { app: 'pg' } });
  return gw;
}

describe('the peer expiry alert (metrics.peerExpiryWarning)', () => {
  test('off by default: the six alerts, none on peers', () => {
    const rules = findObject(synth(gateway({ podMonitor: true, prometheusRule: true })), 'PrometheusRule').spec.groups[0].rules;
    expect(rules.map((r: any) => r.alert)).not.toContain('WireguardGatewayPeerExpiresSoon');
    expect(rules).toHaveLength(6);
  });

  test('with it: a seventh alert, last, that reads the contract\'s metrics per peer over the pods', () => {
    const rule = findObject(synth(gateway({ podMonitor: true, prometheusRule: true, peerExpiryWarning: Duration.days(14) })), 'PrometheusRule');
    validateWithSchemas([rule]);
    const rules = rule.spec.groups[0].rules;
    expect(rules).toHaveLength(7);
    expect(rules[6]).toEqual(peerExpiryAlert({ ...G, deployment: findObject(synth(gateway({})), 'Deployment').metadata.name }, 14 * 86400));
    const m = 'namespace="wireguard",pod=~"gw-[a-z0-9]+-[a-z0-9]+"';
    expect(rules[6].expr).toBe(
      `(min by (namespace, public_key, friendly_name) (${PEER_METRICS.expiry.name}{${m}}) - time()) < 1209600`
      + ` and (min by (namespace, public_key, friendly_name) (${PEER_METRICS.expiry.name}{${m}}) - time()) > 0`
      + ` and on (public_key, friendly_name) (max by (namespace, public_key, friendly_name) (${PEER_METRICS.enabled.name}{${m}}) == 1)`);
    expect(rules[6].for).toBeUndefined();
    expect(rules[6].labels).toEqual({ severity: 'info' });
    expect(rules[6].annotations.summary).toBe('Peer {{ $labels.friendly_name }} of WireGuard gateway wireguard/gw expires in {{ $value | humanizeDuration }}');
    expect(rules[6].annotations.description).toContain('less than 14 days away');
  });

  test('the horizon in words: days, hours or minutes when whole, else seconds', () => {
    const text = (s: number) => peerExpiryAlert(G, s).annotations.description.replace(/.*less than (.+?) away.*/, '$1');
    expect([86400, 7 * 86400, 3600, 7200, 60, 90].map(text)).toEqual(['1 day', '7 days', '1 hour', '2 hours', '1 minute', '90 seconds']);
    expect(alertRules(G, { peerExpiryWarningSeconds: 60 }).map((r) => r.alert).pop()).toBe('WireguardGatewayPeerExpiresSoon');
  });

  test('fails if it is given without prometheusRule, or is not whole seconds', () => {
    expect(() => gateway({ podMonitor: true, peerExpiryWarning: Duration.days(14) })).toThrow(
      'test/gw: invalid metrics.peerExpiryWarning "1209600s": it only applies with metrics.prometheusRule true. Fix: set prometheusRule: true, or drop peerExpiryWarning');
    expect(() => gateway({ podMonitor: true, prometheusRule: true, peerExpiryWarning: Duration.millis(1500) })).toThrow(
      'test/gw: invalid metrics.peerExpiryWarning "1500ms": must be a whole number of seconds, at least 1');
  });
});

describe('a PrometheusRule needs a scrape of the pods', () => {
  test('with podMonitor, or with scrapedElsewhere when the user scrapes the pods another way', () => {
    expect(synth(gateway({ podMonitor: true, prometheusRule: true })).map((o) => o.kind)).toEqual(expect.arrayContaining(['PodMonitor', 'PrometheusRule']));
    const own = synth(gateway({ prometheusRule: true, scrapedElsewhere: true })).map((o) => o.kind);
    expect(own).toContain('PrometheusRule');
    expect(own).not.toContain('PodMonitor');
  });

  test('scrapedElsewhere only means something with prometheusRule', () => {
    expect(() => gateway({ scrapedElsewhere: true })).toThrow(
      'test/gw: invalid metrics.scrapedElsewhere true: it only applies with metrics.prometheusRule true. Fix: set prometheusRule: true, or drop scrapedElsewhere');
  });
});

describe('dashboards of gateways of one name in two namespaces', () => {
  test('in a shared dashboardNamespace each has its own ConfigMap and its own file', () => {
    // GIVEN two gateways named "gw", in "team-a" and "team-b", with dashboards in "monitoring"
    const chart = testChart();
    for (const ns of ['team-a', 'team-b']) gateway({ grafanaDashboard: true, dashboardNamespace: 'monitoring' }, { namespace: ns }, new Construct(chart, ns));
    // WHEN
    const dashboards = synth(chart).filter((o) => o.kind === 'ConfigMap' && o.metadata.labels.grafana_dashboard !== undefined);
    // THEN two objects, named and keyed after each gateway's namespace: neither overwrites the other
    expect(dashboards.map((o) => `${o.metadata.namespace}/${o.metadata.name} ${Object.keys(o.data)}`)).toEqual([
      'monitoring/team-a.gw-dashboard team-a.gw.json',
      'monitoring/team-b.gw-dashboard team-b.gw.json',
    ]);
    expect(JSON.parse(dashboards[0].data['team-a.gw.json']).uid).not.toBe(JSON.parse(dashboards[1].data['team-b.gw.json']).uid);
  });

  test('in its own namespace the dashboard keeps the name <name>-dashboard (V84 keeps gateway names unique there)', () => {
    const dashboards = synth(gateway({ grafanaDashboard: true })).filter((o) => o.kind === 'ConfigMap' && o.metadata.labels.grafana_dashboard !== undefined);
    expect(dashboards.map((o) => `${o.metadata.namespace}/${o.metadata.name} ${Object.keys(o.data)}`)).toEqual(['wireguard/gw-dashboard wireguard.gw.json']);
  });
});
