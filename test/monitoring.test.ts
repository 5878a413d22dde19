/**
 * The `metrics` prop: what it adds to the pod, the ConfigMap and the
 * NetworkPolicy, and the opt-in PodMonitor, PrometheusRule and Grafana
 * dashboard, each validated against its schema (prometheus-operator's CRDs for
 * its kinds). The system tier checks their PromQL with the real promtool
 * (test/monitoring.system.test.ts).
 */
import { Chart, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { ConfigUpdates, DEFAULT_METRICS_PORT, GatewayMetricsOptions, WireguardGateway } from '../src';
import { PEER_KEYS, codeData, configData, findObject, synth, testChart, testGateway, validateWithSchemas } from './util';
import { scriptText } from '../src/_assets';
import { alertRules, dashboardExpressions, dashboardPanelTitles, seriesSelector } from '../src/_render-monitoring';

/** Prometheus's pods in namespace "monitoring", as kube-prometheus-stack labels them. */
function prometheusPods(chart: Chart): kplus.INetworkPolicyPeer {
  return kplus.Pods.select(chart, 'Prometheus', {
    labels: { 'app.kubernetes.io/name': 'prometheus' },
    namespaces: kplus.Namespaces.select(chart, 'Monitoring', { names: ['monitoring'] }),
  });
}

function gateway(metrics?: Partial<GatewayMetricsOptions>, props = {}): WireguardGateway {
  const chart = testChart();
  const gw = testGateway({ ...props, metrics: metrics === undefined ? undefined : { scrapeFrom: prometheusPods(chart), ...metrics } }, chart);
  gw.addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
  gw.addProxiedService('postgres', { serviceName: 'postgres', serviceNamespace: 'db', port: 5432, podSelector: { app: 'pg' } });
  return gw;
}

const pod = (objects: any[]) => findObject(objects, 'Deployment').spec.template.spec;
const policy = (objects: any[]) => findObject(objects, 'NetworkPolicy').spec;

describe('metrics off (the default)', () => {
  test('no monitoring object, no metrics.sh, no metrics port, no env; the objects are exactly those of a gateway without the prop', () => {
    const objects = synth(gateway());
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service']);
    expect(Object.keys(codeData(objects))).not.toContain('metrics.sh');
    expect(pod(objects).containers[0].ports).toEqual([{ containerPort: 51820, name: 'wireguard', protocol: 'UDP' }]);
    expect(pod(objects).containers[0].env).toBeUndefined();
    expect(policy(objects).ingress).toEqual([{ ports: [{ protocol: 'UDP', port: 51820 }] }]);
    expect(configData(objects)['nginx.conf']).not.toContain('http {');
  });
});

describe('metrics on', () => {
  test('nginx gets the TCP metrics port and the pod\'s address (downward API); the emptyDirs between nginx and the agent grow to 16 MiB', () => {
    const objects = synth(gateway({}));
    const nginx = pod(objects).containers[0];
    expect(nginx.ports).toEqual([
      { containerPort: 51820, name: 'wireguard', protocol: 'UDP' },
      { containerPort: DEFAULT_METRICS_PORT, name: 'metrics', protocol: 'TCP' },
    ]);
    expect(nginx.env).toEqual([{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }]);
    expect(pod(objects).volumes.find((v: any) => v.name === 'agent-out').emptyDir).toEqual({ sizeLimit: '16Mi' });
    expect(pod(objects).volumes.find((v: any) => v.name === 'nginx-out').emptyDir).toEqual({ sizeLimit: '16Mi' });
    expect(synth(gateway()).find((o) => o.kind === 'Deployment').spec.template.spec.volumes.find((v: any) => v.name === 'agent-out').emptyDir).toEqual({ sizeLimit: '1Mi' });
    // The agent still has no env, no port: it only writes the file nginx serves.
    expect(pod(objects).containers[1].ports).toBeUndefined();
  });

  test('the code ConfigMap has metrics.sh (the shipped script); the port is data: start.env and nginx.conf', () => {
    const on = synth(gateway({}));
    const files = configData(on);
    expect(codeData(on)['metrics.sh']).toBe(scriptText('metrics.sh'));
    const again = configData(synth(gateway({})));
    expect(again['config-id']).toBe(files['config-id']);
    // a different port: the same scripts; start.env (read at start: it rolls the pod) and nginx.conf differ
    const otherObjects = synth(gateway({ port: 9100 }));
    const other = configData(otherObjects);
    expect(codeData(otherObjects)).toEqual(codeData(on));
    expect(other['start.env']).toContain('\nmetrics_port=9100\nmetrics_refresh_seconds=5\n');
    expect(other['nginx.conf']).not.toBe(files['nginx.conf']);
    expect(other['config-id']).not.toBe(files['config-id']);
  });

  test('turning metrics on rolls the pod (new scripts, a port, an env); without it the restart checksum is unchanged', () => {
    const annotation = (gw: WireguardGateway) => findObject(synth(gw), 'Deployment').spec.template.metadata.annotations['wireguard-gateway.cdk8s.io/restart-checksum'];
    expect(annotation(gateway({}))).not.toBe(annotation(gateway()));
  });

  test('the NetworkPolicy admits scrapeFrom on the metrics port (TCP), and nothing else new', () => {
    const objects = synth(gateway({}));
    expect(policy(objects).ingress).toEqual([
      { ports: [{ protocol: 'UDP', port: 51820 }] },
      {
        from: [{
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
        }],
        ports: [{ protocol: 'TCP', port: 9586 }],
      },
    ]);
  });

  test.each([
    ['pods of the gateway\'s namespace', (c: Chart) => kplus.Pods.select(c, 'P', { labels: { app: 'prom' } }), [{ podSelector: { matchLabels: { app: 'prom' } } }]],
    ['namespaces by label', (c: Chart) => kplus.Pods.select(c, 'P', { labels: { app: 'prom' }, namespaces: kplus.Namespaces.select(c, 'N', { labels: { team: 'obs' } }) }),
      [{ namespaceSelector: { matchLabels: { team: 'obs' } }, podSelector: { matchLabels: { app: 'prom' } } }]],
    ['two namespaces by name', (c: Chart) => kplus.Pods.select(c, 'P', { labels: { app: 'prom' }, namespaces: kplus.Namespaces.select(c, 'N', { names: ['a', 'b'] }) }),
      ['a', 'b'].map((n) => ({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': n } }, podSelector: { matchLabels: { app: 'prom' } } }))],
    ['an IP block', (c: Chart) => kplus.NetworkPolicyIpBlock.ipv4(c, 'I', '10.0.5.0/24'), [{ ipBlock: { cidr: '10.0.5.0/24' } }]],
  ])('scrapeFrom: %s is rendered as cdk8s-plus renders that peer', (_what, peer, from) => {
    const chart = testChart();
    const gw = testGateway({ metrics: { scrapeFrom: peer(chart) } }, chart);
    gw.addProxiedService('postgres', { serviceName: 'postgres', port: 5432 });
    const objects = synth(gw);
    expect(policy(objects).ingress[1]).toEqual({ from, ports: [{ protocol: 'TCP', port: 9586 }] });
    validateWithSchemas(objects);
  });

  test('a port below 1024 sets the unprivileged-port sysctl (configUpdates RESTART, where it follows the ports)', () => {
    const objects = synth(gateway({ port: 80 }, { configUpdates: ConfigUpdates.RESTART }));
    expect(pod(objects).securityContext.sysctls).toEqual([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '80' }]);
  });

  test('the port reaches every part: container port, policy, start-nginx.sh; gateway.metricsPort', () => {
    const gw = gateway({ port: 9100, podMonitor: true });
    const objects = synth(gw);
    expect(gw.metricsPort).toBe(9100);
    expect(pod(objects).containers[0].ports[1]).toEqual({ containerPort: 9100, name: 'metrics', protocol: 'TCP' });
    expect(policy(objects).ingress[1].ports).toEqual([{ protocol: 'TCP', port: 9100 }]);
    expect(configData(objects)['start.env']).toContain('\nmetrics_port=9100\n');
    // The PodMonitor names the port, so it follows.
    expect(findObject(objects, 'PodMonitor').spec.podMetricsEndpoints[0].port).toBe('metrics');
  });

  test('the metrics server needs no list of peers (the packet filter keeps them out): a peer change leaves its block as it was', () => {
    const gw = gateway({});
    const before = configData(synth(gw))['nginx.conf'];
    gw.addPeer('phone', { publicKey: PEER_KEYS[1], address: '10.98.0.7' });
    const after = configData(synth(gw))['nginx.conf'];
    expect(after).toBe(before);
    expect(after).not.toMatch(/^\s*(deny|allow) 10\.98\./m);
  });

  test('no PodMonitor, PrometheusRule or dashboard unless asked (each needs its operator or sidecar)', () => {
    const gw = gateway({});
    expect(synth(gw).map((o) => o.kind).sort()).toEqual(['ConfigMap', 'ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service']);
    expect([gw.podMonitor, gw.prometheusRule, gw.dashboard]).toEqual([undefined, undefined, undefined]);
  });
});

describe('PodMonitor', () => {
  test('selects the gateway\'s pods in its namespace, scrapes the named metrics port at /metrics every 30 s; valid against the CRD', () => {
    const gw = gateway({ podMonitor: true });
    const objects = synth(gw);
    const pm = findObject(objects, 'PodMonitor');
    validateWithSchemas([pm]);
    expect(pm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(pm.metadata.namespace).toBe('wireguard');
    expect(pm.spec).toEqual({
      selector: { matchLabels: gw.podLabels },
      namespaceSelector: { matchNames: ['wireguard'] },
      podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s' }],
    });
    // What it selects is the Deployment's pods, and the port name is the container's.
    expect(pod(objects).containers[0].ports.map((p: any) => p.name)).toContain('metrics');
    expect(findObject(objects, 'Deployment').spec.template.metadata.labels).toMatchObject(pm.spec.selector.matchLabels);
    expect(gw.podMonitor).toBeDefined();
  });

  test('scrapeInterval and monitorLabels (how kube-prometheus-stack selects monitors)', () => {
    const pm = findObject(synth(gateway({ podMonitor: true, scrapeInterval: Duration.seconds(10), monitorLabels: { release: 'kube-prometheus-stack' } })), 'PodMonitor');
    expect(pm.spec.podMetricsEndpoints[0].interval).toBe('10s');
    expect(pm.metadata.labels).toEqual({
      'release': 'kube-prometheus-stack',
      'app.kubernetes.io/name': 'wireguard-gateway',
      'app.kubernetes.io/instance': 'gw',
      'app.kubernetes.io/component': 'gateway',
      'app.kubernetes.io/part-of': 'wireguard-gateway',
      'app.kubernetes.io/managed-by': 'cdk8s',
    });
    expect(pm.metadata.name).toBe('gw');
  });

  test('schema validation catches a broken PodMonitor (the CRD model is really used)', () => {
    const pm = JSON.parse(JSON.stringify(findObject(synth(gateway({ podMonitor: true })), 'PodMonitor')));
    pm.spec.podMetricsEndpoints[0].port = 9586;
    expect(() => validateWithSchemas([pm])).toThrow(/PodMonitor .*port must be string/);
  });
});

describe('PrometheusRule', () => {
  test('valid against the CRD; the alerts a platform team wants (the system tier runs promtool on them)', () => {
    const gw = gateway({ podMonitor: true, prometheusRule: true, monitorLabels: { release: 'kube-prometheus-stack' } });
    const rule = findObject(synth(gw), 'PrometheusRule');
    validateWithSchemas([rule]);
    expect(rule.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(rule.spec.groups[0].rules.map((r: any) => `${r.alert} ${r.for ?? '-'} ${r.labels.severity}`)).toEqual([
      'WireguardGatewayUnavailable 5m critical',
      'WireguardGatewayMetricsDown 5m warning',
      'WireguardGatewayMetricsStale 2m warning',
      'WireguardGatewayConfigFailed - warning',
      'WireguardGatewayConfigNotApplied 10m warning',
      'WireguardGatewayTargetUnresolvable 5m warning',
    ]);
  });

  test('every expression selects this gateway only: its namespace and its Deployment\'s pods', () => {
    const objects = synth(gateway({ podMonitor: true, prometheusRule: true }));
    const name = findObject(objects, 'Deployment').metadata.name;
    const rules = findObject(objects, 'PrometheusRule').spec.groups[0].rules;
    expect(rules[0].expr).toBe(`sum(kube_deployment_status_replicas_available{namespace="wireguard",deployment="${name}"}) < 1`);
    for (const r of rules.slice(1)) expect(r.expr).toContain(`namespace="wireguard",pod=~"${name}-[a-z0-9]+-[a-z0-9]+"`);
  });

  test('the selector matches the pod names a Deployment gives, and no other Deployment\'s', () => {
    const sel = seriesSelector({ namespace: 'wireguard', deployment: 'vpn-gateway-deployment-c8a1b2c3', path: 'x' });
    const re = new RegExp(`^${/pod=~"([^"]+)"/.exec(sel)![1]}$`);
    expect(re.test('vpn-gateway-deployment-c8a1b2c3-7d9f8c6b5d-x2k4p')).toBe(true);
    expect(re.test('vpn-gateway-deployment-c8a1b2c3-other-7d9f8c6b5d-x2k4p')).toBe(false);
    expect(alertRules({ namespace: 'a', deployment: 'b', path: 'x' })).toHaveLength(6);
  });
});

describe('Grafana dashboard', () => {
  test('a ConfigMap labelled grafana_dashboard "1" in the gateway\'s namespace, holding the dashboard\'s JSON', () => {
    const gw = gateway({ grafanaDashboard: true });
    const objects = synth(gw);
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.labels.grafana_dashboard !== undefined);
    expect(cm.metadata.labels).toMatchObject({ 'grafana_dashboard': '1', 'app.kubernetes.io/name': 'wireguard-gateway' });
    expect(cm.metadata.namespace).toBe('wireguard');
    const name = findObject(objects, 'Deployment').metadata.name;
    // Not the gateway's name: the gateway's own ConfigMap, in the same namespace, has that.
    expect(cm.metadata.name).toBe(`${name}-dashboard`);
    expect(objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.namespace === 'wireguard').map((o) => o.metadata.name).sort())
      .toEqual([name, gw.codeConfigMap.name, `${name}-dashboard`]);
    // The file the sidecar writes names the namespace too: a sidecar that watches several namespaces writes one folder.
    expect(Object.keys(cm.data)).toEqual([`wireguard.${name}.json`]);
    const model = JSON.parse(cm.data[`wireguard.${name}.json`]);
    expect(model.uid).toMatch(/^wggw-[0-9a-f]{16}$/);
    expect(model.templating.list[0]).toMatchObject({ name: 'datasource', type: 'datasource', query: 'prometheus' });
    expect(model.panels.map((p: any) => p.title)).toEqual([
      'Peers with a recent handshake', 'Active sessions', 'Configuration up to date', 'Last configuration applied',
      'Received from peers', 'Sent to peers', 'Latest handshake per peer', 'Active sessions per route',
      'Sessions ended per route and status', 'Targets that resolve', 'Configuration changes', 'Pods, version and configuration',
    ]);
    for (const p of model.panels) {
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      expect(p.targets.length).toBeGreaterThan(0);
    }
    expect(gw.dashboard).toBeDefined();
  });

  test('one expression per panel, each selecting this gateway only (the system tier runs promtool on them)', () => {
    const g = { namespace: 'wireguard', deployment: 'gw-deployment-c8a1b2c3', path: 'test/gw' };
    const exprs = dashboardExpressions(g);
    expect(exprs).toHaveLength(dashboardPanelTitles(g).length);
    for (const e of exprs) expect(e).toContain('namespace="wireguard",pod=~"gw-deployment-c8a1b2c3-[a-z0-9]+-[a-z0-9]+"');
  });

  test('dashboardLabels and dashboardNamespace: for a sidecar with another label, watching Grafana\'s namespace', () => {
    const objects = synth(gateway({ grafanaDashboard: true, dashboardLabels: { dashboards: 'wireguard' }, dashboardNamespace: 'monitoring' }));
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.labels.dashboards !== undefined);
    expect(cm.metadata.namespace).toBe('monitoring');
    expect(cm.metadata.labels.grafana_dashboard).toBeUndefined();
  });

  test('the same input gives the same dashboard, byte for byte', () => {
    const json = (gw: WireguardGateway) => JSON.stringify(synth(gw).filter((o) => o.metadata.labels?.grafana_dashboard));
    expect(json(gateway({ grafanaDashboard: true }))).toBe(json(gateway({ grafanaDashboard: true })));
  });
});
