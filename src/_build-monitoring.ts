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
  return {
    port,
    scrapeFrom: options.scrapeFrom,
    podMonitor: options.podMonitor ?? false,
    scrapeIntervalSeconds: wholeSeconds(path, 'metrics.scrapeInterval', options.scrapeInterval, 30),
    prometheusRule: options.prometheusRule ?? false,
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
    groups: [{ name: `wireguard-gateway.${series.namespace}.${series.deployment}`, rules: alertRules(series) }],
  };
  const prometheusRule = !settings.prometheusRule ? undefined : new ApiObject(scope, 'PrometheusRule', {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata,
    spec: ruleSpec,
  });
  const dashboard = !settings.grafanaDashboard ? undefined : new kplus.ConfigMap(scope, 'Dashboard', {
    metadata: {
      ...inputs.metadata,
      // Not the gateway's own name: its ConfigMap has that one, maybe in this namespace.
      name: `${inputs.metadata.name}-dashboard`,
      namespace: settings.dashboardNamespace ?? inputs.namespace,
      labels: { ...settings.dashboardLabels, ...inputs.metadata.labels },
    },
    data: { [`${series.deployment}.json`]: renderDashboard(series) },
  });
  return { podMonitor, prometheusRule, dashboard };
}
