/**
 * The posture checks of test/posture.ts: that they hold on real gateways, that
 * each one fails when its rule is broken, and that every chart the suite
 * synthesizes goes through them (in-process via the Chart.toJson hook, and the
 * apps that other tests synthesize in a child process, synthesized here too).
 */
import { createHash } from 'crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, Chart, JsonPatch, ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { assertPosture, assertUniqueNames, synthChecks, synthChecksInstalled } from './posture';
import { PEER_KEYS, synth, testChart, testGateway } from './util';

const ROOT = join(__dirname, '..');

function fullGateway(props: Parameters<typeof testGateway>[0] = {}, metrics = false) {
  const chart = testChart();
  const gw = testGateway({
    ...props,
    metrics: metrics ? { scrapeFrom: kplus.Pods.select(chart, 'Prometheus', { labels: { app: 'prometheus' } }), podMonitor: true, prometheusRule: true } : undefined,
  }, chart);
  const laptop = gw.addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
  gw.addPeer('phone', {
    publicKey: PEER_KEYS[1],
    address: '10.98.0.3',
    presharedKeySecret: kplus.Secret.fromSecretName(chart, 'Psk', 'phone-psk'),
  });
  gw.addProxiedService('pg', { serviceName: 'pg', serviceNamespace: 'db', port: 5432, allowPeers: [laptop] });
  gw.addProxiedService('dns-admin', { serviceName: 'admin', serviceNamespace: 'db', port: 443, listenPort: 443 });
  gw.addManagedDbRoute('rds', { host: 'rds.example.com', port: 3306, cidrs: ['10.20.0.0/16'] });
  return gw;
}

const clone = (o: any[]) => JSON.parse(JSON.stringify(o));
const pod = (objects: any[]) => objects.find((o) => o.kind === 'Deployment').spec.template.spec;
const nginxOf = (objects: any[]) => pod(objects).containers[0];
const initOf = (objects: any[]) => pod(objects).initContainers[0];
const agentOf = (objects: any[]) => pod(objects).containers[1];
const policyOf = (objects: any[]) => objects.find((o) => o.kind === 'NetworkPolicy' && o.spec.policyTypes).spec;
const cmOf = (objects: any[]) => objects.find((o) => o.kind === 'ConfigMap' && o.data['nginx.conf'] !== undefined).data;
const codeCmOf = (objects: any[]) => objects.find((o) => o.kind === 'ConfigMap' && o.data['init.sh'] !== undefined);
const codeOf = (objects: any[]) => codeCmOf(objects).data;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/**
 * After a script of the code ConfigMap was changed: its name and every
 * command's sums made to match again, as a library with that script would
 * synthesize them, so that the rule about the script's content is what fails.
 */
function reseal(objects: any[]): void {
  const cm = codeCmOf(objects);
  const names = Object.keys(cm.data).sort();
  const name = `${cm.metadata.name.replace(/-code-[0-9a-f]+$/, '')}-code-${sha256(names.map((f) => `${sha256(cm.data[f])}  ${f}`).join('\n')).slice(0, 10)}`;
  pod(objects).volumes.find((v: any) => v.name === 'code').configMap.name = name;
  cm.metadata.name = name;
  for (const c of [...pod(objects).initContainers, ...pod(objects).containers]) {
    const files = c.command[7].split('\n').map((l: string) => l.split('  ')[1]);
    c.command[7] = files.map((f: string) => `${sha256(cm.data[f])}  ${f}`).join('\n');
  }
}
/** Changes a script of the code ConfigMap, and reseals. */
function editScript(objects: any[], script: string, edit: (text: string) => string): void {
  codeOf(objects)[script] = edit(codeOf(objects)[script]);
  reseal(objects);
}

describe('posture of synthesized gateways', () => {
  test('a gateway with peers, a preshared key, a low port and both route kinds passes (privileged init)', () => {
    // GIVEN / WHEN
    const objects = synth(fullGateway());
    // THEN
    expect(assertPosture(objects)).toBe(1);
    expect(initOf(objects).securityContext.privileged).toBe(true);
  });

  test('with metrics it passes too: the metrics port is TCP on nginx, admitted from scrapeFrom only', () => {
    const objects = synth(fullGateway({}, true));
    expect(assertPosture(objects)).toBe(1);
    expect(policyOf(objects).ingress).toHaveLength(2);
  });

  test('privilegedInit: false passes with NET_ADMIN only and the forwarding sysctl', () => {
    const objects = synth(fullGateway({ privilegedInit: false }));
    expect(assertPosture(objects)).toBe(1);
    expect(initOf(objects).securityContext.capabilities).toEqual({ add: ['NET_ADMIN'], drop: ['ALL'] });
  });

  // Each rule, broken on purpose: the check must fail with its message.
  const good = () => clone(synth(fullGateway()));
  const goodUnprivileged = () => clone(synth(fullGateway({ privilegedInit: false })));
  const goodMetrics = () => clone(synth(fullGateway({}, true)));
  const cases: Array<[string, () => any[], (o: any[]) => void, RegExp]> = [
    ['the service account token is mounted', good, (o) => { pod(o).automountServiceAccountToken = true; }, /automountServiceAccountToken must be false/],
    ['the pod uses the host network', good, (o) => { pod(o).hostNetwork = true; }, /no host namespaces/],
    ['the pod has no seccomp profile', good, (o) => { delete pod(o).securityContext.seccompProfile; }, /seccompProfile must be RuntimeDefault/],
    ['nginx may run as root', good, (o) => { nginxOf(o).securityContext.runAsNonRoot = false; pod(o).securityContext.runAsNonRoot = false; }, /runAsNonRoot with a non-zero user id/],
    ['nginx is privileged', good, (o) => { nginxOf(o).securityContext.privileged = true; }, /nginx: must not be privileged/],
    ['nginx may escalate', good, (o) => { nginxOf(o).securityContext.allowPrivilegeEscalation = true; }, /allowPrivilegeEscalation must be false/],
    ['nginx keeps capabilities', good, (o) => { nginxOf(o).securityContext.capabilities = { drop: ['NET_RAW'] }; }, /capabilities must drop ALL/],
    ['nginx adds a capability', good, (o) => { nginxOf(o).securityContext.capabilities.add = ['NET_BIND_SERVICE']; }, /must add no capability/],
    ['nginx has a writable root filesystem', good, (o) => { nginxOf(o).securityContext.readOnlyRootFilesystem = false; }, /nginx: readOnlyRootFilesystem must be true/],
    ['nginx mounts the key', good, (o) => { nginxOf(o).volumeMounts.push({ name: 'private-key', mountPath: '/k', readOnly: true }); }, /nginx: mounts Secret volume private-key/],
    ['the key is readable by group and others', good, (o) => { pod(o).volumes.find((v: any) => v.name === 'private-key').secret.defaultMode = 0o644; }, /defaultMode must be 256/],
    ['the key is mounted writable', good, (o) => { initOf(o).volumeMounts.find((m: any) => m.name === 'private-key').readOnly = false; }, /wireguard-init: mounts .*exactly, got .*"\/run\/secrets\/wireguard-gateway":"rw"/],
    ['a preshared key is mounted writable', good, (o) => { agentOf(o).volumeMounts.find((m: any) => m.name.startsWith('psk-')).readOnly = false; }, /must be mounted read-only in wireguard-init and wireguard-agent only/],
    ['the private key leaks into the ConfigMap', good, (o) => {
      const key = o.find((x: any) => x.kind === 'Secret').stringData['private-key'];
      cmOf(o)['wg0.conf'] += `PrivateKey = ${key}\n`;
    }, /a value of Secret .* appears in ConfigMap/],
    ['a capability is spelled CAP_NET_ADMIN', goodUnprivileged, (o) => { initOf(o).securityContext.capabilities.add = ['CAP_NET_ADMIN']; }, /not spelled as Kubernetes spells it/],
    ['the unprivileged init adds more than NET_ADMIN', goodUnprivileged, (o) => { initOf(o).securityContext.capabilities.add = ['NET_ADMIN', 'SYS_ADMIN']; }, /must add NET_ADMIN only/],
    ['the unprivileged init may escalate', goodUnprivileged, (o) => { initOf(o).securityContext.allowPrivilegeEscalation = true; }, /allowPrivilegeEscalation must be false when not privileged/],
    ['the unprivileged pod leaves forwarding on', goodUnprivileged, (o) => {
      pod(o).securityContext.sysctls = pod(o).securityContext.sysctls.filter((s: any) => s.name !== 'net.ipv4.ip_forward');
    }, /pod sysctl net.ipv4.ip_forward=0 must be set/],
    ['the privileged init script leaves forwarding on', good, (o) => {
      cmOf(o)['start.env'] = cmOf(o)['start.env'].replace('forwarding_off_by=init\n', 'forwarding_off_by=pod-sysctl\n');
    }, /must write 0 to ip_forward \(start.env: forwarding_off_by=init, got pod-sysctl\)/],
    ['the init script does not write 0 to ip_forward', good, (o) => {
      editScript(o, 'init.sh', (t) => t.replace('echo 0 > "$PROC/sys/net/ipv4/ip_forward" || fail', ': || fail'));
    }, /must write 0 to ip_forward/],
    ['the init script does not refuse a pod that forwards', good, (o) => {
      editScript(o, 'init.sh', (t) => t.replace('if [ "$(cat "$PROC/sys/net/ipv4/ip_forward")" != 0 ]; then', 'if false; then'));
    }, /must refuse to start when forwarding is on/],
    ['the packet filter lets anything else in from wg0', good, (o) => {
      editScript(o, 'init.sh', (t) => t.replace('echo "-A $FILTER_INPUT -i $WG_IF -j DROP"', 'echo "-A $FILTER_INPUT -i $WG_IF -j ACCEPT"'));
    }, /the packet filter has -A \$FILTER_INPUT -i \$WG_IF -j DROP/],
    ['the packet filter forwards', good, (o) => {
      editScript(o, 'init.sh', (t) => t.replace('echo "-A $FILTER_FORWARD -j DROP"', 'echo "-A $FILTER_FORWARD -j RETURN"'));
    }, /the packet filter has -A \$FILTER_FORWARD -j DROP/],
    ['the packet filter uses iptables-legacy (which needs NET_RAW)', good, (o) => {
      editScript(o, 'init.sh', (t) => t.replace('IPTABLES_RESTORE="${IPTABLES_RESTORE:-iptables-nft-restore}"', 'IPTABLES_RESTORE="${IPTABLES_RESTORE:-iptables-legacy-restore}"'));
    }, /nf_tables backend \(NET_ADMIN, no NET_RAW\)/],
    ['start.env names another service network than the gateway\'s', good, (o) => {
      cmOf(o)['start.env'] = cmOf(o)['start.env'].replace(/^service_network=.*$/m, 'service_network=10.0.0.0/8');
    }, /names the service network 10\.99\.0\.0\/20/],
    ['nginx.conf has no per-peer session limit', good, (o) => {
      cmOf(o)['nginx.conf'] = cmOf(o)['nginx.conf'].replace(/^ {2}limit_conn peers \d+;\n/m, '');
    }, /limits every peer's sessions on every route/],
    ['the gateway\'s ConfigMap carries a script', good, (o) => { cmOf(o)['init.sh'] = codeOf(o)['init.sh']; }, /holds data only/],
    ['the code ConfigMap is mutable', good, (o) => { delete codeCmOf(o).immutable; }, /must be immutable/],
    ['a script changes and the code ConfigMap keeps its name', good, (o) => {
      codeOf(o)['agent.sh'] += '# changed\n';
    }, /named after its scripts' hash/],
    ['a script changes and a command keeps its old sum', good, (o) => {
      const old = initOf(o).command[7];
      editScript(o, 'init.sh', (t) => `${t}# changed\n`);
      initOf(o).command[7] = old;
    }, /wireguard-init: starts by copying init.sh, net.awk to \/run\/wireguard-agent\/code and checking their SHA-256 sums/],
    ['a container runs its script from the code ConfigMap, unchecked', good, (o) => { nginxOf(o).command = ['/bin/sh', '/opt/wireguard-gateway/start-nginx.sh']; }, /nginx: starts by copying start-nginx.sh, net.awk/],
    ['the start program runs the script before checking it', good, (o) => {
      initOf(o).command[2] = initOf(o).command[2].replace('if ! out=', 'exec /bin/sh "$to/$run" "$@"\nif ! out=');
    }, /its start program copies, checks the sums, then runs the copy/],
    ['nginx can write where the agent writes for it', good, (o) => { nginxOf(o).volumeMounts.find((m: any) => m.name === 'agent-out').readOnly = false; }, /nginx: mounts .*exactly/],
    ['the agent can write where nginx writes for it', good, (o) => { agentOf(o).volumeMounts.find((m: any) => m.name === 'nginx-out').readOnly = false; }, /wireguard-agent: mounts .*exactly/],
    ['nginx can write the code ConfigMap\'s mount', good, (o) => { nginxOf(o).volumeMounts.find((m: any) => m.name === 'code').readOnly = false; }, /nginx: mounts .*exactly/],
    ['the unprivileged init container is told to write /proc/sys', goodUnprivileged, (o) => {
      cmOf(o)['start.env'] = cmOf(o)['start.env'].replace('forwarding_off_by=pod-sysctl\n', 'forwarding_off_by=init\n');
    }, /says the pod's sysctl switches forwarding off \(got init\)/],
    ['port 443 without the unprivileged-port sysctl', good, (o) => { pod(o).securityContext.sysctls = []; }, /ip_unprivileged_port_start must be <= 443/],
    ['the policy has no Egress type', good, (o) => { policyOf(o).policyTypes = ['Ingress']; }, /policyTypes must be Ingress and Egress/],
    ['ingress is open to TCP too', good, (o) => { policyOf(o).ingress[0].ports.push({ protocol: 'TCP', port: 22 }); }, /ingress must allow UDP 51820 only/],
    ['an egress rule has no destination', good, (o) => { delete policyOf(o).egress[1].to; }, /an egress rule without "to"/],
    ['an egress rule has no ports', good, (o) => { delete policyOf(o).egress[1].ports; }, /an egress rule must name its ports/],
    ['egress goes to 0.0.0.0/0', good, (o) => { policyOf(o).egress[1].to = [{ ipBlock: { cidr: '0.0.0.0/0' } }]; }, /egress to 0.0.0.0\/0 is every address/],
    ['the agent is privileged', good, (o) => { agentOf(o).securityContext.privileged = true; }, /wireguard-agent: must not be privileged/],
    ['the agent adds more than NET_ADMIN', good, (o) => { agentOf(o).securityContext.capabilities.add.push('SYS_ADMIN'); }, /wireguard-agent: must add NET_ADMIN only/],
    ['the agent keeps capabilities', good, (o) => { agentOf(o).securityContext.capabilities.drop = []; }, /wireguard-agent: must drop ALL/],
    ['the agent may escalate', good, (o) => { agentOf(o).securityContext.allowPrivilegeEscalation = true; }, /wireguard-agent: allowPrivilegeEscalation must be false/],
    ['the agent has a writable root filesystem', good, (o) => { agentOf(o).securityContext.readOnlyRootFilesystem = false; }, /wireguard-agent: readOnlyRootFilesystem must be true/],
    ['the agent runs another image', good, (o) => { agentOf(o).image = 'docker.io/library/alpine:3'; }, /runs the init image, no other/],
    ['the agent mounts the private key', good, (o) => { agentOf(o).volumeMounts.push({ name: 'private-key', mountPath: '/k', readOnly: true }); }, /must not mount the private key/],
    ['nginx can write to the agent\'s own directory', good, (o) => {
      const name = agentOf(o).volumeMounts.find((m: any) => m.mountPath === '/run/wireguard-agent').name;
      nginxOf(o).volumeMounts.push({ name, mountPath: '/run/wireguard-agent' });
    }, /nginx: mounts .*exactly, got .*"\/run\/wireguard-agent":"rw"/],
    ['nginx mounts a preshared key', good, (o) => {
      const psk = pod(o).volumes.find((v: any) => v.name.startsWith('psk-'));
      nginxOf(o).volumeMounts.push({ name: psk.name, mountPath: '/psk', readOnly: true });
    }, /nginx: mounts Secret volume psk-/],
    ['a container has a liveness probe', good, (o) => { agentOf(o).livenessProbe = agentOf(o).readinessProbe; }, /no liveness probe/],
    ['the readiness probe is a network probe', good, (o) => { agentOf(o).readinessProbe = { tcpSocket: { port: 8080 } }; }, /the readiness probe runs the agent's checked copy/],
    ['the readiness probe runs the script of the ConfigMap', good, (o) => { agentOf(o).readinessProbe.exec.command = ['/bin/sh', '/opt/wireguard-gateway/agent.sh', 'ready']; }, /the readiness probe runs the agent's checked copy/],
    ['nginx gets an HTTP probe', good, (o) => { nginxOf(o).readinessProbe = { httpGet: { path: '/', port: 8080 } }; }, /must be an exec probe/],
    ['two replicas have no disruption budget', good, (o) => { o.splice(o.findIndex((x: any) => x.kind === 'PodDisruptionBudget'), 1); }, /one PodDisruptionBudget for 2 replica/],
    ['the agent runs a script from the directory nginx writes', good, (o) => {
      editScript(o, 'agent.sh', (t) => `${t}sh "$NGINX_OUT/reload-result"\n`);
    }, /runs only its checked copies \(\$CODE_DIR\), never a file of a volume: \$NGINX_OUT\/reload-result/],
    ['anyone may reach the metrics port (a rule without "from")', goodMetrics, (o) => { delete policyOf(o).ingress[1].from; }, /must name who scrapes/],
    ['the metrics port rule opens another port too', goodMetrics, (o) => { policyOf(o).ingress[1].ports.push({ protocol: 'TCP', port: 22 }); }, /TCP 9586 only/],
    ['the Service exposes the metrics port', goodMetrics, (o) => {
      o.find((x: any) => x.kind === 'Service').spec.ports.push({ name: 'metrics', port: 9586, targetPort: 9586, protocol: 'TCP' });
    }, /exposes the metrics port 9586/],
    ['the metrics port is UDP', goodMetrics, (o) => { nginxOf(o).ports[1].protocol = 'UDP'; }, /one TCP port named metrics, on nginx/],
    ['the metrics server listens on every address', goodMetrics, (o) => {
      cmOf(o)['nginx.conf'] = cmOf(o)['nginx.conf'].replace('    include /tmp/nginx/metrics-listen.conf;', '    listen 9586;');
    }, /listens only where metrics-listen.conf says/],
    ['the metrics server grows a per-peer list again', goodMetrics, (o) => {
      cmOf(o)['nginx.conf'] = cmOf(o)['nginx.conf'].replace('    location = /metrics {', '    deny 10.98.0.3;\n    location = /metrics {');
    }, /holds no per-peer list/],
    ['start-nginx.sh listens for metrics on another port than the container\'s', goodMetrics, (o) => {
      cmOf(o)['start.env'] = cmOf(o)['start.env'].replace('metrics_port=9586\n', 'metrics_port=9100\n');
    }, /start.env's metrics_port is the container port 9586 \(got 9100\)/],
    ['POD_IP comes from somewhere else than the downward API', goodMetrics, (o) => { nginxOf(o).env = [{ name: 'POD_IP', value: '0.0.0.0' }]; }, /POD_IP comes from the downward API/],
    ['metrics.sh reads wg show dump (the private key)', goodMetrics, (o) => {
      editScript(o, 'metrics.sh', (t) => `${t}wg show "$WG_IF" dump >/dev/null\n`);
    }, /never asks wg for the private key/],
  ];
  test.each(cases)('fails if %s', (_name, base, mutate, message) => {
    // GIVEN a chart that passes
    const objects = base();
    expect(assertPosture(objects)).toBe(1);
    // WHEN the rule is broken
    mutate(objects);
    // THEN
    expect(() => assertPosture(objects)).toThrow(message);
  });

  test('fails if two objects of a chart share a kind, namespace and name (one would replace the other)', () => {
    const objects = good();
    assertUniqueNames(objects);
    const cm = objects.find((x: any) => x.kind === 'ConfigMap' && x.data['nginx.conf'] !== undefined);
    objects.push({ ...cm, data: {} });
    expect(() => assertUniqueNames(objects)).toThrow(/two objects are \/ConfigMap wireguard\/gw: applying the chart, one would replace the other/);
  });

  test('fails at synth when an escape hatch breaks the posture, on a synth path other than util.synth', () => {
    // GIVEN an app synthesized the way `cdk8s synth` does (App.synthYaml)
    const app = new App();
    const chart = new Chart(app, 'escape', { namespace: 'wireguard' });
    const gw = testGateway({}, chart);
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    ApiObject.of(gw.deployment).addJsonPatch(JsonPatch.replace('/spec/template/spec/containers/0/securityContext/privileged', true));
    // THEN the hook refuses it
    expect(() => app.synthYaml()).toThrow(/posture: nginx: must not be privileged/);
  });
});

describe('every synthesized chart goes through the checks', () => {
  test('the Chart.toJson hook is installed and counts charts and gateways', () => {
    expect(synthChecksInstalled()).toBe(true);
    const before = { ...synthChecks };
    const app = new App();
    const chart = new Chart(app, 'counted');
    testGateway({}, chart).addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    app.synthYaml();
    expect(synthChecks.charts).toBe(before.charts + 1);
    expect(synthChecks.gateways).toBe(before.gateways + 1);
  });

  test('every test file that can synthesize imports util or posture, so the hook runs there', () => {
    const files = readdirSync(join(ROOT, 'test')).filter((f) => f.endsWith('.test.ts'));
    expect(files.length).toBeGreaterThan(5);
    const synthesizing = files.filter((f) => /synth|toJson|new App\(|Testing\./.test(readFileSync(join(ROOT, 'test', f), 'utf-8')));
    expect(synthesizing.length).toBeGreaterThan(3);
    const missing = synthesizing.filter((f) => !/^import (.* from )?'\.\/(util|posture)';$/m.test(readFileSync(join(ROOT, 'test', f), 'utf-8')));
    expect(missing).toEqual([]);
  });

  /** Runs `load` in a fresh module registry that has the hook, returning that registry's counters. */
  function inFreshRegistry(load: () => void): { charts: number; gateways: number } {
    let counters: { charts: number; gateways: number } = { charts: 0, gateways: 0 };
    jest.isolateModules(() => {
      // Dynamic require is the point: each load happens inside the fresh registry.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      counters = require('./posture').synthChecks;
      load();
    });
    return counters;
  }

  // Apps other tests synthesize in a child process (cdk8s synth, the CLI's --app):
  // discovered from the tree, synthesized here in-process under the checks.
  const exampleApps = readdirSync(join(ROOT, 'examples')).map((d) => join(ROOT, 'examples', d, 'main.ts'));
  test.each(exampleApps)('the example app %s passes the checks', (file) => {
    const counters = inFreshRegistry(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const cdk8s = require('cdk8s');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(file);
      const charts = Object.values(mod).filter((c: any) => typeof c === 'function' && cdk8s.Chart.prototype.isPrototypeOf(c.prototype)) as any[];
      expect(charts.length).toBeGreaterThan(0);
      const app = new cdk8s.App();
      for (const C of charts) new C(app, 'example');
      app.synthYaml();
    });
    expect(counters.gateways).toBeGreaterThan(0);
  });

  const fixtureDir = join(ROOT, 'test', 'fixtures');
  const fixtureApps = readdirSync(fixtureDir, { recursive: true } as any).map(String).filter((f) => /(^|\/)app\.ts$/.test(f));
  test('the CLI fixture apps are found', () => expect(fixtureApps.length).toBeGreaterThan(0));
  test.each(fixtureApps)('the fixture app %s passes the checks in each of its synthesizing modes', (file) => {
    const source = readFileSync(join(fixtureDir, file), 'utf-8');
    const modes = [...new Set([...source.matchAll(/fixture [!=]== '([a-z-]+)'/g)].map((m) => m[1]))];
    const outdir = mkdtempSync(join(tmpdir(), 'wggw-posture-'));
    const saved = { fixture: process.env.CLI_FIXTURE, outdir: process.env.CDK8S_OUTDIR };
    let gateways = 0;
    try {
      process.env.CDK8S_OUTDIR = outdir;
      for (const mode of modes.filter((m) => m !== 'fail' && m !== 'no-synth')) {
        process.env.CLI_FIXTURE = mode;
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        gateways += inFreshRegistry(() => require(join(fixtureDir, file))).gateways;
      }
    } finally {
      process.env.CLI_FIXTURE = saved.fixture;
      process.env.CDK8S_OUTDIR = saved.outdir;
      if (saved.fixture === undefined) delete process.env.CLI_FIXTURE;
      if (saved.outdir === undefined) delete process.env.CDK8S_OUTDIR;
      rmSync(outdir, { recursive: true, force: true });
    }
    expect(modes.length).toBeGreaterThan(0);
    expect(gateways).toBeGreaterThan(0);
  });
});
