import { Duration } from 'cdk8s';
import { IPolicyPeer } from './policy-peer';

/** The port Prometheus scrapes the gateway on, as prometheus_wireguard_exporter's. */
export const DEFAULT_METRICS_PORT = 9586;

/**
 * Prometheus metrics of a gateway (the `metrics` prop). The gateway serves
 * them on the pod's own address at `/metrics`, never on a WireGuard address,
 * and refuses every peer; the objects that make Prometheus and Grafana use
 * them are opt-in, since each needs its operator or sidecar in the cluster.
 */
export interface GatewayMetricsOptions {
  /**
   * Who scrapes the metrics: the gateway's NetworkPolicy allows this peer on
   * the metrics port, and nothing else. Usually your Prometheus pods, with the
   * cdk8s-plus major of your app:
   * `kplus.Pods.select(chart, 'Prometheus', { labels: { 'app.kubernetes.io/name': 'prometheus' }, namespaces: kplus.Namespaces.select(chart, 'Monitoring', { names: ['monitoring'] }) })`.
   */
  readonly scrapeFrom: IPolicyPeer;

  /**
   * The TCP port of `/metrics` on the pod's own address.
   *
   * @default 9586
   */
  readonly port?: number;

  /**
   * Define a PodMonitor (monitoring.coreos.com/v1, prometheus-operator) that
   * scrapes the gateway's pods. It needs the operator's CRDs in the cluster.
   *
   * @default false
   */
  readonly podMonitor?: boolean;

  /**
   * How often the PodMonitor scrapes. The gateway refreshes its metrics every
   * 5 seconds.
   *
   * @default Duration.seconds(30)
   */
  readonly scrapeInterval?: Duration;

  /**
   * Define a PrometheusRule (monitoring.coreos.com/v1) with the gateway's
   * alerts: no ready pod, metrics not scraped or not refreshed, a
   * configuration change that failed or has not applied, a target that does
   * not resolve. It needs the operator's CRDs in the cluster.
   *
   * @default false
   */
  readonly prometheusRule?: boolean;

  /**
   * Your Prometheus scrapes the gateway's pods without this gateway's PodMonitor (a
   * pod scrape job, or a PodMonitor or ScrapeConfig of your own). The PrometheusRule's
   * alerts need the pods scraped, so `prometheusRule` without `podMonitor` asks for this.
   *
   * @default false
   */
  readonly scrapedElsewhere?: boolean;

  /**
   * Adds the alert `WireguardGatewayPeerExpiresSoon` to the PrometheusRule: it fires for
   * each enabled peer whose `expires` is less than this far away, until it expires
   * (`Duration.days(14)`: two weeks' notice to renew or let it end). Needs `prometheusRule`.
   *
   * @default - no expiry alert
   */
  readonly peerExpiryWarning?: Duration;

  /**
   * Labels for the PodMonitor and the PrometheusRule: your Prometheus selects
   * them by label (kube-prometheus-stack: `release: <its release name>`).
   *
   * @default - none
   */
  readonly monitorLabels?: { [key: string]: string };

  /**
   * Define a Grafana dashboard: a ConfigMap labelled the way the Grafana
   * sidecar (the Grafana and kube-prometheus-stack Helm charts) finds it.
   *
   * @default false
   */
  readonly grafanaDashboard?: boolean;

  /**
   * The dashboard ConfigMap's labels.
   *
   * @default { "grafana_dashboard": "1" }
   */
  readonly dashboardLabels?: { [key: string]: string };

  /**
   * The dashboard ConfigMap's namespace: the one the Grafana sidecar watches
   * (often Grafana's own, unless `searchNamespace` is ALL).
   *
   * @default - the gateway's namespace
   */
  readonly dashboardNamespace?: string;
}
