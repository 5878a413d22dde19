/**
 * A gateway's monitoring objects (the `metrics` prop): the checks of its
 * options, the PodMonitor, the PrometheusRule and the Grafana dashboard
 * ConfigMap, and the NetworkPolicy ingress rule for the metrics port. The
 * metrics themselves are printed by metrics.sh (assets/) and served by the pod.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import type { IPodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ApiObject, ApiObjectMetadata, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
// Types only (a devDependency): prometheus-operator's CRD schemas, compiled away.
import { wholeSeconds } from './_checks';
import { METRICS_PORT_NAME } from './_contract';
import { invalid } from './_errors';
import { MetricsSpec } from './_model';
import { checkLabels, refuseOwnLabels } from './_names';
import { checkDnsLabel, checkPort } from './_net';
import { policyPeers } from './_policy-peer';
import { GatewaySeries, alertRules, renderDashboard } from './_render-monitoring';
import { DEFAULT_METRICS_PORT, GatewayMetricsOptions } from './gateway-metrics';
import type { IPolicyPeer } from './policy-peer';

/** How often the agent refreshes the metrics. */
export const METRICS_REFRESH_SECONDS = 5;

/** The library's version, for the info metric. */
const VERSION: string = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf-8')).version;

/** The metrics options, checked, with defaults. */
export interface MetricsSettings {
  readonly port: number;
  readonly scrapeFrom: IPolicyPeer;
  readonly podMonitor: boolean;
  readonly scrapeIntervalSeconds: number;
  readonly prometheusRule: boolean;
  /** With prometheusRule: the expiry alert's horizon, in seconds. */
  readonly peerExpiryWarningSeconds?: number;
  readonly monitorLabels: { [key: string]: string };
  readonly grafanaDashboard: boolean;
  readonly dashboardLabels: { [key: string]: string };
  readonly dashboardNamespace?: string;
  /** What the renderers need. */
  readonly spec: MetricsSpec;
}

/** Kubernetes labels, checked; the gateway's own labels may not be replaced. */
function userLabels(path: string, prop: string, labels: { [key: string]: string }, own: { [key: string]: string }): { [key: string]: string } {
  checkLabels(path, prop, labels);
  refuseOwnLabels(path, prop, labels, own, 'its objects');
  return { ...labels };
}

/** An option that only means something together with a switch. */
function onlyWith(path: string, options: GatewayMetricsOptions, prop: keyof GatewayMetricsOptions,
  switches: Array<keyof GatewayMetricsOptions>): void {
  if (options[prop] !== undefined && !switches.some((s) => options[s] === true)) {
    const value = options[prop];
    throw invalid(path, `metrics.${prop}`, value instanceof Duration ? `${value.toSeconds()}s` : value,
      `it only applies with ${switches.map((s) => `metrics.${s}`).join(' or ')} true`,
      `set ${switches.map((s) => `${s}: true`).join(' or ')}, or drop ${prop}`);
  }
}

/**
 * The PrometheusRule's alerts read metrics that exist only where something
 * scrapes the pods: without the PodMonitor, the user says what does.
 */
function checkScrape(path: string, options: GatewayMetricsOptions): void {
  if (options.prometheusRule === true && options.podMonitor !== true && options.scrapedElsewhere !== true) {
    throw invalid(path, 'metrics.prometheusRule', true,
      'its alerts read the gateway\'s metrics, which exist only where something scrapes its pods, and without metrics.podMonitor nothing here does, so no alert would ever fire',
      'set podMonitor: true, or scrapedElsewhere: true if your Prometheus already scrapes the gateway\'s pods (a pod scrape job, or a PodMonitor of your own)');
  }
  if (options.scrapedElsewhere === true && options.podMonitor === true) {
    throw invalid(path, 'metrics.scrapedElsewhere', true, 'podMonitor true defines a scrape of the pods, and a second one would duplicate every series',
      'drop scrapedElsewhere, or set podMonitor: false if your own scrape stays');
  }
}

/** Checks the `metrics` prop; undefined when metrics are off. */
export function metricsSettings(path: string, options: GatewayMetricsOptions | undefined,
  ownLabels: { [key: string]: string }): MetricsSettings | undefined {
  if (options === undefined) return undefined;
  const port = checkPort(path, 'metrics.port', options.port ?? DEFAULT_METRICS_PORT, 'use 9586 (the usual WireGuard exporter port) or another free TCP port');
  // Plain JavaScript (and other jsii languages) can pass anything: check for the one method every peer has.
  if (typeof options.scrapeFrom?.toNetworkPolicyPeerConfig !== 'function') {
    throw invalid(path, 'metrics.scrapeFrom', options.scrapeFrom, 'the gateway\'s NetworkPolicy admits only this peer on the metrics port, so without it nothing could scrape',
      'pass your Prometheus pods, for example kplus.Pods.select(chart, "Prometheus", { labels: { "app.kubernetes.io/name": "prometheus" }, namespaces: ... })');
  }
  onlyWith(path, options, 'scrapeInterval', ['podMonitor']);
  onlyWith(path, options, 'monitorLabels', ['podMonitor', 'prometheusRule']);
  onlyWith(path, options, 'dashboardLabels', ['grafanaDashboard']);
  onlyWith(path, options, 'dashboardNamespace', ['grafanaDashboard']);
  onlyWith(path, options, 'scrapedElsewhere', ['prometheusRule']);
  onlyWith(path, options, 'peerExpiryWarning', ['prometheusRule']);
  checkScrape(path, options);
  return {
    port,
    scrapeFrom: options.scrapeFrom,
    podMonitor: options.podMonitor ?? false,
    scrapeIntervalSeconds: wholeSeconds(path, 'metrics.scrapeInterval', options.scrapeInterval, 30),
    prometheusRule: options.prometheusRule ?? false,
    peerExpiryWarningSeconds: options.peerExpiryWarning === undefined ? undefined
      : wholeSeconds(path, 'metrics.peerExpiryWarning', options.peerExpiryWarning, 0),
    monitorLabels: userLabels(path, 'metrics.monitorLabels', options.monitorLabels ?? {}, ownLabels),
    grafanaDashboard: options.grafanaDashboard ?? false,
    dashboardLabels: userLabels(path, 'metrics.dashboardLabels', options.dashboardLabels ?? { grafana_dashboard: '1' }, ownLabels),
    dashboardNamespace: options.dashboardNamespace === undefined ? undefined
      : checkDnsLabel(path, 'metrics.dashboardNamespace', options.dashboardNamespace, 'use the namespace the Grafana sidecar watches, for example "monitoring"'),
    spec: { port, refreshSeconds: METRICS_REFRESH_SECONDS, version: VERSION },
  };
}

/**
 * The NetworkPolicy ingress rule for the metrics port: TCP, from `scrapeFrom`
 * only, rendered the way cdk8s-plus renders that peer.
 */
export function metricsIngressRule(settings: MetricsSettings): kplus.k8s.NetworkPolicyIngressRule {
  return { from: policyPeers(settings.scrapeFrom), ports: [{ protocol: 'TCP', port: kplus.k8s.IntOrString.fromNumber(settings.port) }] };
}

export interface MonitoringInputs {
  readonly metadata: ApiObjectMetadata;
  readonly namespace: string;
  readonly podLabels: { [key: string]: string };
  readonly deployment: kplus.Deployment;
}

export interface Monitoring {
  readonly podMonitor?: ApiObject;
  readonly prometheusRule?: ApiObject;
  readonly dashboard?: kplus.ConfigMap;
}

/** The opt-in objects: PodMonitor, PrometheusRule, dashboard ConfigMap. */
export function buildMonitoring(scope: Construct, settings: MetricsSettings | undefined, inputs: MonitoringInputs): Monitoring {
  if (settings === undefined) return {};
  const series: GatewaySeries = { namespace: inputs.namespace, deployment: inputs.deployment.name, path: scope.node.path };
  const metadata = { ...inputs.metadata, labels: { ...settings.monitorLabels, ...inputs.metadata.labels } };
  const podMonitorSpec: IPodMonitor['spec'] = {
    selector: { matchLabels: { ...inputs.podLabels } },
    namespaceSelector: { matchNames: [inputs.namespace] },
    podMetricsEndpoints: [{ port: METRICS_PORT_NAME, path: '/metrics', scheme: 'http', interval: `${settings.scrapeIntervalSeconds}s` }],
  };
  const podMonitor = !settings.podMonitor ? undefined : new ApiObject(scope, 'PodMonitor', {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PodMonitor',
    metadata,
    spec: podMonitorSpec,
  });
  const ruleSpec: IPrometheusRule['spec'] = {
    groups: [{ name: `wireguard-gateway.${series.namespace}.${series.deployment}`, rules: alertRules(series, { peerExpiryWarningSeconds: settings.peerExpiryWarningSeconds }) }],
  };
  const prometheusRule = !settings.prometheusRule ? undefined : new ApiObject(scope, 'PrometheusRule', {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata,
    spec: ruleSpec,
  });
  const dashboardNamespace = settings.dashboardNamespace ?? inputs.namespace;
  const dashboard = !settings.grafanaDashboard ? undefined : new kplus.ConfigMap(scope, 'Dashboard', {
    metadata: {
      ...inputs.metadata,
      name: dashboardName(inputs.namespace, series.deployment, dashboardNamespace),
      namespace: dashboardNamespace,
      labels: { ...settings.dashboardLabels, ...inputs.metadata.labels },
    },
    data: { [dashboardFile(inputs.namespace, series.deployment)]: renderDashboard(series) },
  });
  return { podMonitor, prometheusRule, dashboard };
}

/**
 * The dashboard ConfigMap's name. Not the gateway's own name: its ConfigMap
 * has that one, maybe in this namespace. In the gateway's namespace,
 * `<name>-dashboard` (two gateways never share a name there); elsewhere (a
 * shared `dashboardNamespace`) `<gateway namespace>.<name>-dashboard`, since
 * gateways of one name in two namespaces would otherwise define one object.
 * Namespaces and names have no dots, so no two gateways get one name.
 */
export function dashboardName(gatewayNamespace: string, name: string, dashboardNamespace: string): string {
  return dashboardNamespace === gatewayNamespace ? `${name}-dashboard` : `${gatewayNamespace}.${name}-dashboard`;
}

/**
 * The dashboard's key in the ConfigMap: the file the Grafana sidecar writes.
 * A sidecar that watches several namespaces writes every dashboard into one
 * folder, so the key names the gateway's namespace too.
 */
export function dashboardFile(gatewayNamespace: string, name: string): string {
  return `${gatewayNamespace}.${name}.json`;
}
