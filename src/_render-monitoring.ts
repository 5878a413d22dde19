/**
 * The PromQL of a gateway's monitoring objects: the alerts of its
 * PrometheusRule and the Grafana dashboard. Pure functions of the gateway's
 * namespace and Deployment name; every expression is checked by promtool in
 * the tests.
 */
import { createHash } from 'crypto';
import { PEER_METRICS } from './_peer-access';

/** Which series belong to one gateway: the labels a PodMonitor (or the usual pod scrape job) adds. */
export interface GatewaySeries {
  readonly namespace: string;
  /** The Deployment's name: its pods are `<name>-<template hash>-<suffix>`. */
  readonly deployment: string;
  /** The construct path, for titles. */
  readonly path: string;
}

/** The label matchers of one gateway's series: its namespace and its Deployment's pods. */
export function seriesSelector(g: GatewaySeries): string {
  return `namespace="${g.namespace}",pod=~"${g.deployment}-[a-z0-9]+-[a-z0-9]+"`;
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: { [key: string]: string };
  readonly annotations: { [key: string]: string };
}

/** The opt-in alerts. */
export interface AlertOptions {
  /** Add WireguardGatewayPeerExpiresSoon: an enabled peer expires within this many seconds. */
  readonly peerExpiryWarningSeconds?: number;
}

/** A duration in words for an alert's text: whole days, hours or minutes when it is one. */
function durationText(seconds: number): string {
  for (const [unit, size] of [['day', 86400], ['hour', 3600], ['minute', 60]] as const) {
    if (seconds % size === 0) return `${seconds / size} ${unit}${seconds === size ? '' : 's'}`;
  }
  return `${seconds} seconds`;
}

/**
 * WireguardGatewayPeerExpiresSoon: per peer (over the pods, which all report
 * it), from `within` seconds before its expiry until it expires, while it is
 * enabled. The value is the time left, in seconds.
 */
export function peerExpiryAlert(g: GatewaySeries, withinSeconds: number): AlertRule {
  const m = seriesSelector(g);
  const by = `by (namespace, ${PEER_METRICS.expiry.labels.join(', ')})`;
  const left = `(min ${by} (${PEER_METRICS.expiry.name}{${m}}) - time())`;
  return {
    alert: 'WireguardGatewayPeerExpiresSoon',
    expr: `${left} < ${withinSeconds} and ${left} > 0 and on (${PEER_METRICS.enabled.labels.join(', ')}) (max ${by} (${PEER_METRICS.enabled.name}{${m}}) == 1)`,
    labels: { severity: 'info' },
    annotations: {
      summary: `Peer {{ $labels.friendly_name }} of WireGuard gateway ${g.namespace}/${g.deployment} expires in {{ $value | humanizeDuration }}`,
      description: `The peer's access ends at its expires (less than ${durationText(withinSeconds)} away): the gateway then removes it. To keep it, move its expires in the app and apply; otherwise nothing is needed. Public key {{ $labels.public_key }}.`,
    },
  };
}

/** The alerts a platform team wants for one gateway, and the opt-in ones asked for. */
export function alertRules(g: GatewaySeries, options: AlertOptions = {}): AlertRule[] {
  return [
    ...baseAlertRules(g),
    ...(options.peerExpiryWarningSeconds === undefined ? [] : [peerExpiryAlert(g, options.peerExpiryWarningSeconds)]),
  ];
}

function baseAlertRules(g: GatewaySeries): AlertRule[] {
  const m = seriesSelector(g);
  const where = `gateway ${g.namespace}/${g.deployment}`;
  return [
    {
      alert: 'WireguardGatewayUnavailable',
      expr: `sum(kube_deployment_status_replicas_available{namespace="${g.namespace}",deployment="${g.deployment}"}) < 1`,
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary: `No ready pod of WireGuard ${where}`,
        description: 'No pod of the gateway has been available for 5 minutes: peers cannot connect. Check the pod\'s events and the logs of wireguard-init, nginx and wireguard-agent. (Needs kube-state-metrics.)',
      },
    },
    {
      alert: 'WireguardGatewayMetricsDown',
      expr: `up{${m}} == 0`,
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `Prometheus cannot scrape {{ $labels.pod }} of WireGuard ${where}`,
        description: 'The gateway\'s /metrics has not answered for 5 minutes: check the nginx container and the NetworkPolicy rule for the metrics port (metrics.scrapeFrom).',
      },
    },
    {
      alert: 'WireguardGatewayMetricsStale',
      expr: `time() - wireguard_gateway_metrics_updated_timestamp_seconds{${m}} > 60`,
      for: '2m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `The metrics of {{ $labels.pod }} (WireGuard ${where}) are not refreshed`,
        description: 'The agent writes the metrics every 5 seconds; they are over a minute old. Check the wireguard-agent container\'s log ("metrics: ...").',
      },
    },
    {
      alert: 'WireguardGatewayConfigFailed',
      expr: `increase(wireguard_gateway_config_reloads_total{${m},result!="applied"}[15m]) > 0`,
      labels: { severity: 'warning' },
      annotations: {
        summary: `A configuration change was {{ $labels.result }} on {{ $labels.pod }} (WireGuard ${where})`,
        description: 'The gateway still serves its previous configuration. The wireguard-agent log says why, on the line "agent: config <id> rejected" or "not applied".',
      },
    },
    {
      alert: 'WireguardGatewayConfigNotApplied',
      expr: `wireguard_gateway_config_up_to_date{${m}} == 0`,
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `{{ $labels.pod }} (WireGuard ${where}) has not applied its mounted configuration for 10 minutes`,
        description: 'The ConfigMap the kubelet mounted differs from the configuration the gateway serves: a change was rejected, or the agent is stuck. See the wireguard-agent log.',
      },
    },
    {
      alert: 'WireguardGatewayTargetUnresolvable',
      expr: `wireguard_gateway_route_target_resolves{${m}} == 0`,
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: `Route {{ $labels.route }} of WireGuard ${where}: {{ $labels.target }} does not resolve`,
        description: 'New connections to this route fail (nginx resolves the target per connection). Check the target\'s name, its Service, and DNS.',
      },
    },
  ];
}

/** One dashboard panel: its kind, title, unit, and the queries (expression and legend). */
interface Panel {
  readonly type: 'stat' | 'timeseries' | 'table';
  readonly title: string;
  readonly unit?: string;
  readonly description: string;
  readonly queries: Array<{ readonly expr: string; readonly legend?: string; readonly instant?: boolean }>;
}

function panels(g: GatewaySeries): Panel[] {
  const m = seriesSelector(g);
  return [
    {
      type: 'stat',
      title: 'Peers with a recent handshake',
      unit: 'none',
      description: 'Peers whose latest handshake is less than 3 minutes old: WireGuard re-keys every 2 minutes while a peer sends.',
      queries: [{ expr: `count(time() - wireguard_latest_handshake_seconds{${m}} < 180) or vector(0)`, instant: true }],
    },
    {
      type: 'stat',
      title: 'Active sessions',
      unit: 'none',
      description: 'Established TCP sessions on every route.',
      queries: [{ expr: `sum(wireguard_gateway_route_sessions{${m}}) or vector(0)`, instant: true }],
    },
    {
      type: 'stat',
      title: 'Configuration up to date',
      unit: 'bool_yes_no',
      description: 'Whether each pod serves the configuration the kubelet mounted.',
      queries: [{ expr: `min(wireguard_gateway_config_up_to_date{${m}})`, instant: true }],
    },
    {
      type: 'stat',
      title: 'Last configuration applied',
      unit: 's',
      description: 'Seconds since a configuration last applied (at the pod\'s start, or a live change).',
      queries: [{ expr: `time() - max(wireguard_gateway_config_last_applied_timestamp_seconds{${m}} > 0)`, instant: true }],
    },
    {
      type: 'timeseries',
      title: 'Received from peers',
      unit: 'Bps',
      description: 'Bytes per second received from each peer (encrypted, as WireGuard counts them).',
      queries: [{ expr: `sum by (friendly_name) (rate(wireguard_received_bytes_total{${m}}[5m]))`, legend: '{{friendly_name}}' }],
    },
    {
      type: 'timeseries',
      title: 'Sent to peers',
      unit: 'Bps',
      description: 'Bytes per second sent to each peer.',
      queries: [{ expr: `sum by (friendly_name) (rate(wireguard_sent_bytes_total{${m}}[5m]))`, legend: '{{friendly_name}}' }],
    },
    {
      type: 'table',
      title: 'Latest handshake per peer',
      unit: 's',
      description: 'Seconds since each peer\'s latest handshake; peers that never connected are left out.',
      queries: [{
        expr: `time() - max by (friendly_name, public_key, allowed_ips) (wireguard_latest_handshake_seconds{${m}} > 0)`,
        legend: '{{friendly_name}}',
        instant: true,
      }],
    },
    {
      type: 'timeseries',
      title: 'Active sessions per route',
      unit: 'none',
      description: 'Established TCP sessions on each route\'s address and port.',
      queries: [{ expr: `sum by (route) (wireguard_gateway_route_sessions{${m}})`, legend: '{{route}}' }],
    },
    {
      type: 'timeseries',
      title: 'Sessions ended per route and status',
      unit: 'ops',
      description: 'Sessions ended per second, by nginx status: 200 ended normally, 403 refused by allowPeers, 502 target unreachable or not resolved.',
      queries: [{ expr: `sum by (route, status) (rate(wireguard_gateway_route_sessions_ended_total{${m}}[5m]))`, legend: '{{route}} {{status}}' }],
    },
    {
      type: 'timeseries',
      title: 'Targets that resolve',
      unit: 'bool_yes_no',
      description: 'Whether each route\'s target name resolves (checked every 30 seconds).',
      queries: [{ expr: `min by (route, target) (wireguard_gateway_route_target_resolves{${m}})`, legend: '{{route}} ({{target}})' }],
    },
    {
      type: 'timeseries',
      title: 'Configuration changes',
      unit: 'none',
      description: 'Configuration changes per hour, by result: applied, rejected (nothing applied), failed (nginx refused it or did not answer; the peers it removed stay removed).',
      queries: [{ expr: `sum by (result) (increase(wireguard_gateway_config_reloads_total{${m}}[1h]))`, legend: '{{result}}' }],
    },
    {
      type: 'table',
      title: 'Pods, version and configuration',
      unit: 'none',
      description: 'Each pod\'s library version and the configuration it serves (the first 16 characters of the ConfigMap\'s config-id).',
      queries: [{ expr: `max by (pod, version, config_id) (wireguard_gateway_info{${m}})`, instant: true }],
    },
  ];
}

/** Every PromQL expression of the dashboard, in panel order. */
export function dashboardExpressions(g: GatewaySeries): string[] {
  return panels(g).flatMap((p) => p.queries.map((q) => q.expr));
}

/** The dashboard's panel titles, in order. */
export function dashboardPanelTitles(g: GatewaySeries): string[] {
  return panels(g).map((p) => p.title);
}

/** A stable dashboard uid (Grafana allows 40 characters). */
export function dashboardUid(g: GatewaySeries): string {
  return `wggw-${createHash('sha256').update(`${g.namespace}/${g.deployment}`).digest('hex').slice(0, 16)}`;
}

/** The Grafana dashboard (JSON model), with a data source variable so that it imports anywhere. */
export function renderDashboard(g: GatewaySeries): string {
  const widths: Record<Panel['type'], number> = { stat: 6, timeseries: 12, table: 12 };
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const list = panels(g).map((p, i) => {
    const w = widths[p.type];
    const h = p.type === 'stat' ? 4 : 8;
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const panel = {
      id: i + 1,
      type: p.type,
      title: p.title,
      description: p.description,
      datasource: { type: 'prometheus', uid: '${datasource}' },
      gridPos: { h, w, x, y },
      fieldConfig: { defaults: { unit: p.unit ?? 'none' }, overrides: [] },
      options: {},
      targets: p.queries.map((q, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource: { type: 'prometheus', uid: '${datasource}' },
        expr: q.expr,
        legendFormat: q.legend ?? '',
        instant: q.instant ?? false,
        range: !(q.instant ?? false),
        ...(p.type === 'table' ? { format: 'table' } : {}),
      })),
    };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return panel;
  });
  return JSON.stringify({
    title: `WireGuard gateway ${g.namespace}/${g.deployment}`,
    description: `Peers, routes and configuration of the WireGuard gateway ${g.path} (cdk8s-wireguard-gateway).`,
    uid: dashboardUid(g),
    tags: ['wireguard', 'cdk8s-wireguard-gateway'],
    editable: true,
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    timezone: 'browser',
    templating: {
      list: [{ name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 }],
    },
    annotations: { list: [] },
    panels: list,
  }, null, 2) + '\n';
}
