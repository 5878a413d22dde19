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
import { createHash } from 'crypto';
import { isDeepStrictEqual } from 'util';
import { App, Chart, YamlOutputType } from 'cdk8s';
import { recordNginxConf, startEnvNetwork, validateWithSchemas } from './util';

const GATEWAY_LABEL = 'app.kubernetes.io/name';
const GATEWAY_NAME = 'wireguard-gateway';
const CONFIG_DIR = '/etc/wireguard-gateway';
const CODE_DIR = '/opt/wireguard-gateway';
const KEY_DIR = '/run/secrets/wireguard-gateway';
/** The agent's own emptyDir: it runs its checked scripts from there, so nothing less trusted may write to it. */
const AGENT_DIR = '/run/wireguard-agent';
const NGINX_RUN_DIR = '/tmp/nginx';
const AGENT_OUT = '/run/wireguard-gateway/agent-out';
const NGINX_OUT = '/run/wireguard-gateway/nginx-out';

/**
 * Every volume mount of each container, by mount path: "ro" or "rw". Each
 * emptyDir has one writer (the init container also writes the agent's, being
 * more privileged); every other container that mounts it reads only.
 */
const MOUNTS: Record<string, Record<string, 'ro' | 'rw'>> = {
  'wireguard-init': { [CONFIG_DIR]: 'ro', [CODE_DIR]: 'ro', [KEY_DIR]: 'ro', [AGENT_DIR]: 'rw' },
  'nginx': { [CONFIG_DIR]: 'ro', [CODE_DIR]: 'ro', [NGINX_RUN_DIR]: 'rw', [AGENT_OUT]: 'ro', [NGINX_OUT]: 'rw' },
  'wireguard-agent': { [CONFIG_DIR]: 'ro', [CODE_DIR]: 'ro', [AGENT_DIR]: 'rw', [AGENT_OUT]: 'rw', [NGINX_OUT]: 'ro' },
};
/** Where each container copies the scripts it runs, which it copies, and which it runs. */
const BOOTS: Record<string, { to: string; copies: (metrics: boolean) => string[]; run: string }> = {
  'wireguard-init': { to: `${AGENT_DIR}/code`, copies: () => ['init.sh', 'net.awk'], run: 'init.sh' },
  'nginx': { to: `${NGINX_RUN_DIR}/code`, copies: () => ['start-nginx.sh', 'net.awk'], run: 'start-nginx.sh' },
  'wireguard-agent': { to: `${AGENT_DIR}/code`, copies: (m) => ['agent.sh', 'init.sh', 'net.awk', ...(m ? ['metrics.sh'] : [])], run: 'agent.sh' },
};
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

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
    const configMapName = (pod.volumes ?? []).find((v: any) => v.name === 'config')?.configMap?.name;
    const cm = configMaps.find((c) => c.metadata?.name === configMapName);
    if (cm === undefined) fail(name, `its ConfigMap ${configMapName} is not in the chart`);
    const codeName = (pod.volumes ?? []).find((v: any) => v.name === 'code')?.configMap?.name;
    const codeCm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata?.name === codeName && o.metadata?.namespace === d.metadata?.namespace);
    if (codeCm === undefined) fail(name, `its code ConfigMap ${codeName} is not in the chart`);
    // Data and code apart: the gateway's ConfigMap carries no script; the code ConfigMap is
    // immutable and named after its scripts' hash, so one Deployment always mounts its own.
    const files: Record<string, string> = { ...cm.data, ...codeCm.data };
    expectThat(Object.keys(cm.data).every((f) => !f.endsWith('.sh')), name, `its ConfigMap ${cm.metadata.name} holds data only (found ${Object.keys(cm.data).join(', ')})`);
    expectThat(codeCm.immutable === true, 'code ConfigMap', `${codeName} must be immutable`);
    const scripts = Object.keys(codeCm.data).sort();
    const codeHash = sha256(scripts.map((f) => `${sha256(codeCm.data[f])}  ${f}`).join('\n')).slice(0, 10);
    expectThat(codeName === `${d.metadata.name}-code-${codeHash}`, 'code ConfigMap', `named after its scripts' hash: expected ${d.metadata.name}-code-${codeHash}, got ${codeName}`);

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
    // --- volumes: one writer each; every other mount is read-only. ----------------------
    const metricsOn = codeCm.data['metrics.sh'] !== undefined;
    for (const c of [...containers, ...inits]) {
      const mounts = Object.fromEntries((c.volumeMounts ?? []).filter((m: any) => !m.mountPath.startsWith('/run/secrets/wireguard-gateway-psk/'))
        .map((m: any) => [m.mountPath, m.readOnly === true ? 'ro' : 'rw']));
      expectThat(isDeepStrictEqual(mounts, MOUNTS[c.name]), c.name, `mounts ${JSON.stringify(MOUNTS[c.name])} exactly, got ${JSON.stringify(mounts)}`);
      // Code and data apart: it runs a copy of its scripts, checked against the sums its command names.
      const boot = BOOTS[c.name];
      const cmd: string[] = c.command ?? [];
      const sums = boot.copies(metricsOn).map((f) => `${sha256(codeCm.data[f] ?? '')}  ${f}`).join('\n');
      expectThat(cmd[0] === '/bin/sh' && cmd[1] === '-c' && cmd[3] === 'boot' && isDeepStrictEqual(cmd.slice(4), [CODE_DIR, boot.to, boot.run, sums]), c.name,
        `starts by copying ${boot.copies(metricsOn).join(', ')} to ${boot.to} and checking their SHA-256 sums (got ${JSON.stringify(cmd.slice(3))})`);
      expectThat(cmd[2].includes('cp "$from/$f" "$f.new"') && cmd[2].includes('sha256sum -c -') && cmd[2].includes('exec /bin/sh "$to/$run" "$@"')
        && cmd[2].indexOf('sha256sum -c -') < cmd[2].indexOf('exec /bin/sh'), c.name, 'its start program copies, checks the sums, then runs the copy');
      expectThat(c.args === undefined, c.name, 'no args: the command is the whole program');
    }
    for (const script of scripts) {
      const runs = [...codeCm.data[script].matchAll(/\bsh "([^"]+)"/g)].map((m: RegExpMatchArray) => m[1]).filter((r: string) => !r.startsWith('$CODE_DIR/'));
      expectThat(runs.length === 0, script, `runs only its checked copies ($CODE_DIR), never a file of a volume: ${runs.join(', ')}`);
    }

    // --- probes: an exec readiness probe on the agent; nothing listens for a probe, so no
    // peer can reach one and the NetworkPolicy cannot block one; no liveness probe ----------
    const probe = agent.readinessProbe;
    expectThat(Array.isArray(probe?.exec?.command) && probe.exec.command.join(' ') === `/bin/sh ${AGENT_DIR}/code/agent.sh ready`,
      'wireguard-agent', `the readiness probe runs the agent's checked copy: "${AGENT_DIR}/code/agent.sh ready" (got ${JSON.stringify(probe)})`);
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

    // --- the packet filter (init.sh, kept by the agent): from wg0 only new connections to the
    // routes and segments of existing ones; nothing else from wg0, nothing to the service
    // network from elsewhere, nothing forwarded. NET_ADMIN is all it needs (nf_tables). -----
    const network = JSON.parse(files['connection-info.json']).serviceNetwork;
    expectThat(files['start.env'].includes(`\nservice_network=${network}\n`), 'start.env', `names the service network ${network} (the filter's, and the bound of every route)`);
    for (const rule of ['-A $FILTER_INPUT -i $WG_IF -p tcp -j REJECT --reject-with tcp-reset', '-A $FILTER_INPUT -i $WG_IF -j DROP',
      '-A $FILTER_INPUT -d $SERVICE_NETWORK -j DROP', '-A $FILTER_FORWARD -j DROP', '-I INPUT 1 -j $FILTER_INPUT', '-I FORWARD 1 -j $FILTER_FORWARD']) {
      expectThat(initScript.includes(`"${rule}"`), 'init.sh', `the packet filter has ${rule}`);
    }
    expectThat(/^IPTABLES_RESTORE="\$\{IPTABLES_RESTORE:-iptables-nft-restore\}"$/m.test(initScript), 'init.sh', 'the packet filter uses iptables\' nf_tables backend (NET_ADMIN, no NET_RAW)');
    expectThat(initScript.indexOf('printf \'%s\\n\' "$rules" | "$IPTABLES_RESTORE" --noflush') < initScript.indexOf('ip link add dev "$WG_IF" type wireguard'), 'init.sh',
      'sets the packet filter before wg0 exists');
    // --- every route: one peer holds at most maxSessionsPerPeer sessions ---------------
    expectThat(/^ {2}limit_conn_zone \$binary_remote_addr zone=peers:\d+m;\n {2}limit_conn peers \d+;$/m.test(files['nginx.conf']), 'nginx.conf', 'limits every peer\'s sessions on every route (limit_conn in the stream block)');

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
 * downward API's POD_IP), the file the agent writes; metrics.sh never asks wg
 * for the private key. Returns the port, or undefined.
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
  // Through wg0 a peer reaches the pod's address too: the packet filter (checked above) drops all
  // from wg0 but the routes, so the http server needs no list of peers (none at 10,000 peers).
  expectThat(!/^\s*(allow|deny) /m.test(http), 'metrics', 'the http server holds no per-peer list: the packet filter keeps peers out');
  expectThat(/^ {6}alias \/run\/wireguard-gateway\/agent-out\/metrics\.prom;$/m.test(http), 'metrics', 'serves the file the agent writes, from the agent\'s volume (read-only for nginx)');
  expectThat(!/private-key|\bdump\b|showconf/.test(files['metrics.sh'] ?? ''), 'metrics.sh', 'never asks wg for the private key (no dump, showconf or private-key)');
  return port;
}

/** Records every gateway nginx.conf among `objects` for the system tier's real `nginx -t`. */
export function recordNginxConfs(objects: any[]): void {
  for (const cm of objects.filter((o) => o.kind === 'ConfigMap' && o.data?.['nginx.conf'] !== undefined)) {
    recordNginxConf(cm.data['nginx.conf'], startEnvNetwork(cm.data['start.env']));
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
