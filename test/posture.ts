/**
 * Checks that every chart the test suite synthesizes is safe to apply:
 *
 * - `validateWithSchemas`: every object against the Kubernetes schemas;
 * - `assertPosture`: the security posture of every gateway (issue 5, item 4);
 * - `recordNginxConfs`: every rendered nginx.conf recorded (deduplicated) for
 *   the system tier's real `nginx -t` (test/nginx-conf.system.test.ts).
 *
 * Importing this module (test/util.ts does) wraps `Chart.prototype.toJson`, the
 * one function every synth path goes through (`Testing.synth`, `App.synth`,
 * `App.synthYaml`), so no test can synthesize a chart without these checks.
 * test/posture.test.ts checks that every test file imports it.
 */
import { isDeepStrictEqual } from 'util';
import { App, Chart, YamlOutputType } from 'cdk8s';
import { recordNginxConf, validateWithSchemas } from './util';

const GATEWAY_LABEL = 'app.kubernetes.io/name';
const GATEWAY_NAME = 'wireguard-gateway';
const CONFIG_DIR = '/etc/wireguard-gateway';
const KEY_DIR = '/run/secrets/wireguard-gateway';
/** The agent's own emptyDir: it runs scripts from there (a rollback), so nothing else may write to it. */
const AGENT_DIR = '/run/wireguard-agent';

function fail(what: string, detail: string): never {
  throw new Error(`posture: ${what}: ${detail}`);
}

function expectThat(ok: boolean, what: string, detail: string): void {
  if (!ok) fail(what, detail);
}

/** Capability names as Kubernetes spells them ("NET_ADMIN", "ALL"), never "CAP_...". */
function checkCapabilityNames(where: string, caps: any): void {
  for (const c of [...(caps?.add ?? []), ...(caps?.drop ?? [])]) {
    expectThat(typeof c === 'string' && /^[A-Z_]+$/.test(c) && !c.startsWith('CAP_'), where,
      `capability ${JSON.stringify(c)} is not spelled as Kubernetes spells it (NET_ADMIN, ALL)`);
  }
}

function secretValues(secret: any): string[] {
  const values = Object.values(secret.stringData ?? {}) as string[];
  for (const v of Object.values(secret.data ?? {}) as string[]) values.push(Buffer.from(v, 'base64').toString('utf-8'));
  return values.filter((v) => v.length >= 16);
}

/**
 * Asserts the posture of every WireGuard gateway among `objects` (one chart's
 * output). Returns the number of gateways checked.
 */
export function assertPosture(objects: any[]): number {
  const deployments = objects.filter((o) => o.kind === 'Deployment' && o.spec?.template?.metadata?.labels?.[GATEWAY_LABEL] === GATEWAY_NAME);
  const configMaps = objects.filter((o) => o.kind === 'ConfigMap' && o.data?.['nginx.conf'] !== undefined);
  expectThat(configMaps.length === deployments.length, 'gateways',
    `${configMaps.length} gateway ConfigMap(s) but ${deployments.length} gateway Deployment(s)`);

  // The private key (and any other Secret value) appears in Secrets only.
  for (const secret of objects.filter((o) => o.kind === 'Secret')) {
    for (const value of secretValues(secret)) {
      for (const o of objects.filter((x) => x.kind !== 'Secret')) {
        expectThat(!JSON.stringify(o).includes(JSON.stringify(value).slice(1, -1)), 'secret values',
          `a value of Secret ${secret.metadata?.name} appears in ${o.kind} ${o.metadata?.name}`);
      }
    }
  }

  for (const d of deployments) {
    const name = `Deployment ${d.metadata?.name}`;
    const pod = d.spec.template.spec;
    const podLabels = d.spec.template.metadata.labels;
    const configMapName = (pod.volumes ?? []).find((v: any) => v.configMap)?.configMap?.name;
    const cm = configMaps.find((c) => c.metadata?.name === configMapName);
    if (cm === undefined) fail(name, `its ConfigMap ${configMapName} is not in the chart`);
    const files: Record<string, string> = cm.data;

    // --- pod ---------------------------------------------------------------
    expectThat(pod.automountServiceAccountToken === false, name, 'automountServiceAccountToken must be false');
    expectThat(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC, name, 'no host namespaces');
    expectThat(pod.securityContext?.seccompProfile?.type === 'RuntimeDefault', name, 'pod seccompProfile must be RuntimeDefault');

    const containers: any[] = pod.containers ?? [];
    const inits: any[] = pod.initContainers ?? [];
    expectThat(JSON.stringify(containers.map((c) => c.name)) === '["nginx","wireguard-agent"]', name, 'two containers, nginx and wireguard-agent');
    expectThat(inits.length === 1 && inits[0].name === 'wireguard-init', name, 'one init container, wireguard-init');
    const nginx = containers[0];
    const agent = containers[1];
    const init = inits[0];

    // --- nginx: Pod Security "restricted" ----------------------------------
    const sc = nginx.securityContext ?? {};
    const nonRoot = sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
    const uid = sc.runAsUser ?? pod.securityContext?.runAsUser;
    expectThat(nonRoot === true && Number.isInteger(uid) && uid > 0, 'nginx', `runAsNonRoot with a non-zero user id (got ${nonRoot}, ${uid})`);
    expectThat(sc.privileged !== true, 'nginx', 'must not be privileged');
    expectThat(sc.allowPrivilegeEscalation === false, 'nginx', 'allowPrivilegeEscalation must be false');
    expectThat(JSON.stringify(sc.capabilities?.drop) === '["ALL"]', 'nginx', `capabilities must drop ALL (got ${JSON.stringify(sc.capabilities?.drop)})`);
    expectThat((sc.capabilities?.add ?? []).length === 0, 'nginx', `must add no capability (got ${JSON.stringify(sc.capabilities?.add)})`);
    expectThat(sc.readOnlyRootFilesystem === true, 'nginx', 'readOnlyRootFilesystem must be true');
    expectThat(sc.seccompProfile === undefined || sc.seccompProfile.type === 'RuntimeDefault', 'nginx', 'must not override the pod seccomp profile');
    checkCapabilityNames('nginx', sc.capabilities);
    for (const m of nginx.volumeMounts ?? []) {
      const vol = (pod.volumes ?? []).find((v: any) => v.name === m.name);
      expectThat(vol?.secret === undefined, 'nginx', `mounts Secret volume ${m.name}: keys belong to the init container only`);
    }
    expectThat(!JSON.stringify([nginx.env ?? [], nginx.envFrom ?? []]).includes('secret'), 'nginx', 'no Secret in its environment');

    // --- agent: root with NET_ADMIN only, long-running ----------------------
    const asc = agent.securityContext ?? {};
    checkCapabilityNames('wireguard-agent', asc.capabilities);
    expectThat(asc.runAsUser === 0 && asc.runAsNonRoot === false, 'wireguard-agent', 'runs as root (it changes wg0), and says so');
    expectThat(asc.privileged === false, 'wireguard-agent', 'must not be privileged');
    expectThat(asc.allowPrivilegeEscalation === false, 'wireguard-agent', 'allowPrivilegeEscalation must be false');
    expectThat(asc.readOnlyRootFilesystem === true, 'wireguard-agent', 'readOnlyRootFilesystem must be true');
    expectThat(JSON.stringify(asc.capabilities?.drop) === '["ALL"]', 'wireguard-agent', `must drop ALL (got ${JSON.stringify(asc.capabilities?.drop)})`);
    expectThat(JSON.stringify(asc.capabilities?.add) === '["NET_ADMIN"]', 'wireguard-agent', `must add NET_ADMIN only (got ${JSON.stringify(asc.capabilities?.add)})`);
    expectThat(asc.seccompProfile === undefined || asc.seccompProfile.type === 'RuntimeDefault', 'wireguard-agent', 'must not override the pod seccomp profile');
    expectThat(agent.image === init.image, 'wireguard-agent', `runs the init image, no other (got ${agent.image})`);
    expectThat(agent.resources?.limits?.cpu !== undefined && agent.resources?.limits?.memory !== undefined, 'wireguard-agent', 'has explicit limits');
    expectThat(!JSON.stringify([agent.env ?? [], agent.envFrom ?? []]).includes('secret'), 'wireguard-agent', 'no Secret in its environment');
    expectThat(!(agent.volumeMounts ?? []).some((m: any) => m.name === 'private-key'), 'wireguard-agent',
      'must not mount the private key: it keeps the one wg0 has');
    const agentDirMounts = [...containers, ...inits].flatMap((c) => (c.volumeMounts ?? [])
      .filter((m: any) => (agent.volumeMounts ?? []).some((a: any) => a.mountPath === AGENT_DIR && a.name === m.name)).map(() => c.name));
    expectThat(JSON.stringify(agentDirMounts) === '["wireguard-agent"]', 'wireguard-agent',
      `its own emptyDir ${AGENT_DIR} is mounted in the agent only (mounted in: ${JSON.stringify(agentDirMounts)})`);
    expectThat(!/sh "\$STATE_DIR/.test(files['agent.sh']), 'agent.sh', 'never runs a script from the directory it shares with nginx');

    // --- probes: an exec readiness probe on the agent; nothing listens for a probe, so no
    // peer can reach one and the NetworkPolicy cannot block one; no liveness probe ----------
    const probe = agent.readinessProbe;
    expectThat(Array.isArray(probe?.exec?.command) && probe.exec.command.join(' ') === `/bin/sh ${CONFIG_DIR}/agent.sh ready`,
      'wireguard-agent', `the readiness probe runs "agent.sh ready" (got ${JSON.stringify(probe)})`);
    for (const c of [...containers, ...inits]) {
      for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const p = c[kind];
        if (p === undefined) continue;
        expectThat(p.exec !== undefined && p.httpGet === undefined && p.tcpSocket === undefined && p.grpc === undefined, c.name,
          `${kind} must be an exec probe: a network probe needs a listener a peer might reach`);
        expectThat(kind !== 'livenessProbe', c.name, 'no liveness probe: it could restart a healthy gateway (for example during a DNS outage)');
      }
    }
    const selects = (labels: Record<string, string> | undefined) => labels !== undefined && Object.keys(labels).length > 0
      && Object.entries(labels).every(([k, v]) => podLabels[k] === v);
    const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget' && o.metadata?.namespace === d.metadata?.namespace
      && selects(o.spec?.selector?.matchLabels));
    expectThat(pdbs.length === (d.spec.replicas > 1 ? 1 : 0), name,
      `${d.spec.replicas > 1 ? 'one PodDisruptionBudget' : 'no PodDisruptionBudget'} for ${d.spec.replicas} replica(s) (found ${pdbs.length})`);
    for (const pdb of pdbs) {
      expectThat(pdb.spec.maxUnavailable === 1 && pdb.spec.minAvailable === undefined, 'PodDisruptionBudget', 'maxUnavailable 1');
    }

    // --- init: as privileged as the design needs, no more ------------------
    const isc = init.securityContext ?? {};
    checkCapabilityNames('wireguard-init', isc.capabilities);
    expectThat(isc.readOnlyRootFilesystem === true, 'wireguard-init', 'readOnlyRootFilesystem must be true');
    expectThat(!JSON.stringify([init.env ?? [], init.envFrom ?? []]).includes('secret'), 'wireguard-init', 'no Secret in its environment');
    const sysctls: Array<{ name: string; value: string }> = pod.securityContext?.sysctls ?? [];
    const initScript = files['init.sh'];
    const offBy = /^forwarding_off_by=(.*)$/m.exec(files['start.env'] ?? '')?.[1];
    expectThat(initScript.includes('if [ "$(cat "$PROC/sys/net/ipv4/ip_forward")" != 0 ]; then'), 'wireguard-init', 'the init script must refuse to start when forwarding is on');
    if (isc.privileged === true) {
      // Privileged is needed to write /proc/sys; then the script switches forwarding off.
      expectThat((isc.capabilities?.add ?? []).length === 0, 'wireguard-init', 'privileged: adding capabilities is meaningless, none expected');
      expectThat(offBy === 'init' && /^\s*echo 0 > "\$PROC\/sys\/net\/ipv4\/ip_forward" \|\| fail /m.test(initScript), 'forwarding',
        `the privileged init script must write 0 to ip_forward (start.env: forwarding_off_by=init, got ${offBy})`);
    } else {
      expectThat(offBy === 'pod-sysctl', 'forwarding', `without privilegedInit, start.env says the pod's sysctl switches forwarding off (got ${offBy})`);
      expectThat(isc.allowPrivilegeEscalation === false, 'wireguard-init', 'allowPrivilegeEscalation must be false when not privileged');
      expectThat(JSON.stringify(isc.capabilities?.drop) === '["ALL"]', 'wireguard-init', 'must drop ALL');
      expectThat(JSON.stringify(isc.capabilities?.add) === '["NET_ADMIN"]', 'wireguard-init', `must add NET_ADMIN only (got ${JSON.stringify(isc.capabilities?.add)})`);
      expectThat(sysctls.some((s) => s.name === 'net.ipv4.ip_forward' && s.value === '0'), 'forwarding', 'without privilegedInit the pod sysctl net.ipv4.ip_forward=0 must be set');
    }

    // --- keys: only in Secrets, mounted read-only 0400; the private key in the
    // init container only, preshared keys also in the agent (it applies a rotated one) --
    const secretVolumes = (pod.volumes ?? []).filter((v: any) => v.secret !== undefined);
    expectThat(secretVolumes.some((v: any) => v.name === 'private-key'), name, 'the private key is mounted from a Secret volume named private-key');
    for (const v of secretVolumes) {
      expectThat(v.secret.defaultMode === 256, `volume ${v.name}`, `defaultMode must be 256 (0400), got ${v.secret.defaultMode}`);
      for (const item of v.secret.items ?? []) {
        expectThat(item.mode === undefined || item.mode === 256, `volume ${v.name}`, `item mode must be 0400, got ${item.mode}`);
      }
      const mounts = [...containers, ...inits].flatMap((c) =>
        (c.volumeMounts ?? []).filter((m: any) => m.name === v.name).map((m: any) => ({ c: c.name, m })));
      const allowed = v.name === 'private-key' ? ['wireguard-init'] : ['wireguard-init', 'wireguard-agent'];
      expectThat(mounts.length > 0 && mounts.every(({ c, m }) => allowed.includes(c) && m.readOnly === true), `volume ${v.name}`,
        `must be mounted read-only in ${allowed.join(' and ')} only (mounts: ${JSON.stringify(mounts)})`);
    }
    const keyMount = init.volumeMounts.find((m: any) => m.name === 'private-key');
    expectThat(keyMount?.mountPath === KEY_DIR, 'wireguard-init', `the key is mounted at ${KEY_DIR}`);
    expectThat(!/PrivateKey/i.test(files['wg0.conf']), 'wg0.conf', 'holds no private key');
    expectThat(initScript.includes('key=$(cat "$KEY_FILE")') && initScript.includes(`KEY_FILE="\${KEY_FILE:-${KEY_DIR}/private-key}"`)
      && initScript.includes('| wg syncconf "$WG_IF" /dev/stdin'),
    'init.sh', 'loads the private key from the mounted file and hands it to wg through a pipe');
    for (const c of [...containers, ...inits]) {
      expectThat(c.volumeMounts.find((m: any) => m.mountPath === CONFIG_DIR)?.readOnly === true, c.name, 'mounts the config read-only');
    }

    // --- low ports need the namespaced sysctl, not a capability ----------------
    const ports = [...files['nginx.conf'].matchAll(/^\s*listen [\d.]+:(\d+);/gm)].map((m) => Number(m[1]));
    const lowest = Math.min(...ports, 1024);
    if (lowest < 1024) {
      const start = sysctls.find((s) => s.name === 'net.ipv4.ip_unprivileged_port_start');
      expectThat(start !== undefined && Number(start.value) <= lowest, 'sysctls', `nginx listens on ${lowest}: ip_unprivileged_port_start must be <= ${lowest}`);
    }

    // --- NetworkPolicy: both directions ----------------------------------------
    // The gateway's own policy selects its pod by instance label. (Other policies
    // may select it too; NetworkPolicies only add allowances: see SECURITY.md.)
    const instance = 'app.kubernetes.io/instance';
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata?.namespace === d.metadata?.namespace
      && o.spec?.podSelector?.matchLabels?.[instance] === podLabels[instance]);
    expectThat(policies.length === 1, name, `exactly one NetworkPolicy selects the gateway pod by its instance label (found ${policies.length})`);
    const policy = policies[0].spec;
    expectThat(JSON.stringify([...policy.policyTypes].sort()) === '["Egress","Ingress"]', 'NetworkPolicy', 'policyTypes must be Ingress and Egress');
    const udpPort = nginx.ports?.find((p: any) => p.protocol === 'UDP')?.containerPort;
    const metricsPort = checkMetrics(objects, d, files);
    const ingress = metricsPort === undefined ? policy.ingress : policy.ingress?.slice(0, 1);
    expectThat(isDeepStrictEqual(ingress, [{ ports: [{ protocol: 'UDP', port: udpPort }] }]), 'NetworkPolicy',
      `ingress must allow UDP ${udpPort} only${metricsPort === undefined ? '' : ', and the metrics port from scrapeFrom'}, got ${JSON.stringify(policy.ingress)}`);
    if (metricsPort !== undefined) {
      const rule = policy.ingress[1];
      expectThat(policy.ingress.length === 2 && isDeepStrictEqual(rule.ports, [{ protocol: 'TCP', port: metricsPort }]), 'NetworkPolicy',
        `with metrics, one more ingress rule: TCP ${metricsPort} only, got ${JSON.stringify(policy.ingress)}`);
      expectThat(Array.isArray(rule.from) && rule.from.length > 0 && rule.from.every((f: any) => Object.keys(f).length > 0), 'NetworkPolicy',
        `the metrics port's rule must name who scrapes (a rule without "from" admits everyone): ${JSON.stringify(rule)}`);
    }
    expectThat(Array.isArray(policy.egress) && policy.egress.length >= 2, 'NetworkPolicy', 'egress has the DNS rule and at least one route');
    for (const rule of policy.egress) {
      expectThat(Array.isArray(rule.to) && rule.to.length > 0, 'NetworkPolicy', `an egress rule without "to" allows every destination: ${JSON.stringify(rule)}`);
      expectThat(Array.isArray(rule.ports) && rule.ports.length > 0 && rule.ports.every((p: any) => Number.isInteger(p.port) && !p.endPort),
        'NetworkPolicy', `an egress rule must name its ports: ${JSON.stringify(rule)}`);
      for (const to of rule.to) {
        const cidr = to.ipBlock?.cidr;
        expectThat(cidr === undefined || !cidr.endsWith('/0'), 'NetworkPolicy', `egress to ${cidr} is every address`);
        expectThat(to.ipBlock !== undefined || to.namespaceSelector !== undefined, 'NetworkPolicy', `a pod selector without a namespace selector: ${JSON.stringify(to)}`);
      }
    }
  }
  return deployments.length;
}

/**
 * With metrics (a container port named "metrics"): the port is TCP, on nginx,
 * exposed by no Service (the gateway's Service is a public UDP load balancer);
 * nginx serves it on the pod's own address only (an include written from the
 * downward API's POD_IP) and refuses every peer's tunnel address; metrics.sh
 * never asks wg for the private key. Returns the port, or undefined.
 */
function checkMetrics(objects: any[], d: any, files: Record<string, string>): number | undefined {
  const containers: any[] = d.spec.template.spec.containers;
  const ports = containers.flatMap((c) => (c.ports ?? []).filter((p: any) => p.name === 'metrics').map((p: any) => ({ c: c.name, p })));
  if (ports.length === 0) {
    expectThat(files['metrics.sh'] === undefined && !files['nginx.conf'].includes('http {') && /^metrics_port=$/m.test(files['start.env'] ?? ''), 'metrics',
      'metrics.sh, an http server or a start.env metrics_port without a metrics port');
    return undefined;
  }
  expectThat(ports.length === 1 && ports[0].c === 'nginx' && ports[0].p.protocol === 'TCP' && ports[0].p.hostPort === undefined, 'metrics',
    `one TCP port named metrics, on nginx, no hostPort (got ${JSON.stringify(ports)})`);
  const port: number = ports[0].p.containerPort;
  const labels = d.spec.template.metadata.labels;
  for (const svc of objects.filter((o) => o.kind === 'Service' && o.metadata?.namespace === d.metadata?.namespace)) {
    const selects = Object.entries(svc.spec?.selector ?? {}).every(([k, v]) => labels[k] === v) && svc.spec?.selector !== undefined;
    const exposes = (svc.spec?.ports ?? []).some((p: any) => p.targetPort === port || p.targetPort === 'metrics' || (p.targetPort === undefined && p.port === port));
    expectThat(!(selects && exposes), 'metrics', `Service ${svc.metadata?.name} exposes the metrics port ${port}: metrics are for the cluster's Prometheus only`);
  }
  const env = containers[0].env ?? [];
  expectThat(isDeepStrictEqual(env.find((e: any) => e.name === 'POD_IP'), { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }),
    'metrics', `nginx's POD_IP comes from the downward API (status.podIP), got ${JSON.stringify(env)}`);
  const conf = files['nginx.conf'];
  const http = conf.slice(conf.indexOf('\nhttp {'));
  expectThat(conf.indexOf('\nhttp {') > 0 && !/^\s*listen /m.test(http) && /^\s*include \/tmp\/nginx\/metrics-listen\.conf;/m.test(http), 'metrics',
    'the http server listens only where metrics-listen.conf says (the pod\'s address, from POD_IP)');
  expectThat(/printf 'listen (\[%s\]|%s):%s;\\n' "\$POD_IP" "\$metrics_port"/.test(files['start-nginx.sh']), 'metrics', 'start-nginx.sh writes the listen line from POD_IP');
  const startPort = /^metrics_port=(.*)$/m.exec(files['start.env'] ?? '')?.[1];
  expectThat(startPort === String(port), 'metrics', `start.env's metrics_port is the container port ${port} (got ${startPort})`);
  const peers = [...files['wg0.conf'].matchAll(/^AllowedIPs = ([\d.]+)\/32$/gm)].map((m) => m[1]);
  const denied = new Set([...http.matchAll(/^\s*deny ([\d.]+);/gm)].map((m) => m[1]));
  const open = peers.filter((a) => !denied.has(a));
  expectThat(open.length === 0, 'metrics', `the metrics server must refuse every peer (through wg0 a peer reaches the pod's address); not refused: ${open.join(', ')}`);
  expectThat(!/private-key|\bdump\b|showconf/.test(files['metrics.sh'] ?? ''), 'metrics.sh', 'never asks wg for the private key (no dump, showconf or private-key)');
  return port;
}

/** Records every gateway nginx.conf among `objects` for the system tier's real `nginx -t`. */
export function recordNginxConfs(objects: any[]): void {
  for (const cm of objects.filter((o) => o.kind === 'ConfigMap' && o.data?.['nginx.conf'] !== undefined)) {
    recordNginxConf(cm.data['nginx.conf']);
  }
}

/** Counters, for the test that proves the hook runs. */
export const synthChecks = { charts: 0, gateways: 0 };

/** No two objects of one chart are the same object for the API server (one would replace the other). */
export function assertUniqueNames(objects: any[]): void {
  const seen = new Set<string>();
  for (const o of objects) {
    const key = `${o.apiVersion.split('/').length > 1 ? o.apiVersion.split('/')[0] : ''}/${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
    expectThat(!seen.has(key), 'names', `two objects are ${key}: applying the chart, one would replace the other`);
    seen.add(key);
  }
}

/** Schemas, names and posture of one chart's objects, and its nginx.conf recorded. */
export function checkSynthesized(objects: any[]): void {
  validateWithSchemas(objects);
  assertUniqueNames(objects);
  synthChecks.gateways += assertPosture(objects);
  recordNginxConfs(objects);
  synthChecks.charts++;
}

const HOOKED = Symbol.for('cdk8s-wireguard-gateway.test.synth-checks');

/**
 * Wraps Chart.prototype.toJson so every synthesized chart is checked, and
 * App.prototype.synth for the one output type that bypasses toJson
 * (FOLDER_PER_CHART_FILE_PER_RESOURCE). Idempotent.
 */
export function installSynthChecks(): void {
  const proto = Chart.prototype as any;
  if (proto[HOOKED]) return;
  const original = proto.toJson;
  proto.toJson = function toJsonChecked(this: Chart): any[] {
    const objects = original.call(this);
    checkSynthesized(objects);
    return objects;
  };
  proto[HOOKED] = true;
  const appProto = App.prototype as any;
  const originalSynth = appProto.synth;
  appProto.synth = function synthChecked(this: App): void {
    if (this.yamlOutputType === YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE) {
      for (const chart of this.charts) chart.toJson();
    }
    originalSynth.call(this);
  };
}

/** True when the hook is in place (for the coverage test). */
export function synthChecksInstalled(): boolean {
  return (Chart.prototype as any)[HOOKED] === true;
}

installSynthChecks();
