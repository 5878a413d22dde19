import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { ApiObject, Chart, Duration, JsonPatch, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import {
  ConfigUpdates, ExternalTrafficPolicy, GatewayServiceType, ProxiedService, ReplicaSpread, WireguardGateway, WireguardGatewayProps, WireguardKey,
} from '../src';
import { PEER_KEYS, TEST_SERVER_PUBLIC_KEY, configData, findObject, forSnapshot, recordedNginxConf, synth, testChart, testGateway, validateWithSchemas } from './util';
import { LIVE_FILES } from '../src/_contract';

const podOf = (objects: any[]) => findObject(objects, 'Deployment').spec.template.spec;
const codeName = (objects: any[]) => podOf(objects).volumes.find((v: any) => v.name === 'code').configMap.name;

function smallGateway(props = {}) {
  const gw = testGateway(props);
  gw.addProxiedService('postgres', { serviceName: 'postgres', serviceNamespace: 'db', port: 5432, podSelector: { app: 'pg' } });
  return gw;
}

describe('WireguardGateway', () => {
  test('the smallest gateway synthesizes valid objects (snapshot)', () => {
    // GIVEN / WHEN
    const gw = smallGateway();
    const objects = synth(gw);
    // THEN
    validateWithSchemas(objects);
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Secret', 'Service']);
    expect(forSnapshot(objects)).toMatchSnapshot();
  });

  test('code and data apart: the scripts are in an immutable ConfigMap named after their hash; every container runs a copy it checked', () => {
    const gw = smallGateway();
    const objects = synth(gw);
    const code = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === gw.codeConfigMap.name);
    expect(code.immutable).toBe(true);
    expect(code.metadata.name).toMatch(/^gw-code-[0-9a-f]{10}$/);
    expect(Object.keys(code.data).sort()).toEqual(['agent.sh', 'init.sh', 'net.awk', 'start-nginx.sh']);
    expect(Object.keys(configData(objects)).filter((f) => f.endsWith('.sh'))).toEqual([]);
    const spec = podOf(objects);
    expect(spec.volumes.find((v: any) => v.name === 'code')).toEqual({ name: 'code', configMap: { name: code.metadata.name } });
    const sum = (f: string) => `${createHash('sha256').update(code.data[f]).digest('hex')}  ${f}`;
    expect(spec.initContainers[0].command.slice(3)).toEqual(['boot', '/opt/wireguard-gateway', '/run/wireguard-agent/code', 'init.sh', [sum('init.sh'), sum('net.awk')].join('\n')]);
    expect(spec.containers[0].command.slice(3)).toEqual(['boot', '/opt/wireguard-gateway', '/tmp/nginx/code', 'start-nginx.sh', [sum('start-nginx.sh'), sum('net.awk')].join('\n')]);
    expect(spec.containers[1].command.slice(3)).toEqual(['boot', '/opt/wireguard-gateway', '/run/wireguard-agent/code', 'agent.sh',
      [sum('agent.sh'), sum('init.sh'), sum('net.awk')].join('\n')]);
    // The same scripts, the same name: another gateway of the app, or the same one with other routes and peers.
    const other = smallGateway({ name: 'other' });
    other.addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
    expect(other.codeConfigMap.name.replace(/^other-/, 'gw-')).toBe(code.metadata.name);
  });

  test('one-way volumes: what the agent writes for nginx and what nginx writes for the agent are two emptyDirs, each read-only for its reader', () => {
    const spec = podOf(synth(smallGateway()));
    const mounts = (c: any) => Object.fromEntries(c.volumeMounts.map((m: any) => [m.name, m.readOnly === true ? 'ro' : 'rw']));
    expect(mounts(spec.containers[0])).toEqual({ 'config': 'ro', 'code': 'ro', 'tmp': 'rw', 'agent-out': 'ro', 'nginx-out': 'rw' });
    expect(mounts(spec.containers[1])).toEqual({ 'config': 'ro', 'code': 'ro', 'agent': 'rw', 'agent-out': 'rw', 'nginx-out': 'ro' });
    expect(mounts(spec.initContainers[0])).toEqual({ 'config': 'ro', 'code': 'ro', 'private-key': 'ro', 'agent': 'rw' });
    const paths = (c: any) => Object.fromEntries(c.volumeMounts.map((m: any) => [m.name, m.mountPath]));
    expect(paths(spec.containers[0])).toMatchObject({ 'agent-out': '/run/wireguard-gateway/agent-out', 'nginx-out': '/run/wireguard-gateway/nginx-out' });
  });

  test('every object lives in the chart namespace, or the namespace prop', () => {
    expect(synth(smallGateway()).every((o) => o.metadata.namespace === 'wireguard')).toBe(true);
    expect(synth(smallGateway({ namespace: 'vpn' })).every((o) => o.metadata.namespace === 'vpn')).toBe(true);
  });

  test('the Deployment has two replicas, a surge-first rolling update, and explicit resources on every container', () => {
    const dep = findObject(synth(smallGateway()), 'Deployment');
    expect(dep.spec.replicas).toBe(2);
    expect(dep.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const containers = [...dep.spec.template.spec.initContainers, ...dep.spec.template.spec.containers];
    expect(containers.map((c: any) => c.name)).toEqual(['wireguard-init', 'nginx', 'wireguard-agent']);
    for (const c of containers) {
      expect(c.resources.requests.cpu).toBeDefined();
      expect(c.resources.limits.memory).toBeDefined();
      expect(c.resources.limits.cpu).not.toBe('1500m');
    }
    const init = dep.spec.template.spec.initContainers[0];
    expect(init.resources).toEqual({ limits: { cpu: '200m', memory: '64Mi' }, requests: { cpu: '10m', memory: '16Mi' } });
    const agent = dep.spec.template.spec.containers[1];
    expect(agent.resources).toEqual({ limits: { cpu: '200m', memory: '64Mi' }, requests: { cpu: '10m', memory: '16Mi' } });
  });

  test('container resources are overridable', () => {
    const resources = {
      cpu: { request: kplus.Cpu.millis(50), limit: kplus.Cpu.millis(500) },
      memory: { request: Size.mebibytes(32), limit: Size.mebibytes(128) },
    };
    const pod = findObject(synth(smallGateway({ initResources: resources, nginxResources: resources })), 'Deployment').spec.template.spec;
    for (const c of [pod.initContainers[0], pod.containers[0]]) {
      expect(c.resources).toEqual({ limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '50m', memory: '32Mi' } });
    }
  });

  test('the init container is privileged and root; nginx is restricted', () => {
    const pod = findObject(synth(smallGateway()), 'Deployment').spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 101, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.initContainers[0].securityContext).toEqual({
      privileged: true, allowPrivilegeEscalation: true, readOnlyRootFilesystem: true, runAsNonRoot: false, runAsUser: 0, runAsGroup: 0,
    });
    expect(pod.containers[0].securityContext).toEqual({
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 101,
      runAsGroup: 101,
      capabilities: { drop: ['ALL'] },
    });
  });

  test('privilegedInit: false gives NET_ADMIN only (Kubernetes spelling) and a forwarding sysctl', () => {
    const gw = smallGateway({ privilegedInit: false });
    const pod = findObject(synth(gw), 'Deployment').spec.template.spec;
    expect(pod.initContainers[0].securityContext).toMatchObject({
      privileged: false, allowPrivilegeEscalation: false, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
    });
    expect(pod.securityContext.sysctls).toEqual([
      { name: 'net.ipv4.ip_unprivileged_port_start', value: '0' },
      { name: 'net.ipv4.ip_forward', value: '0' },
    ]);
    // start.env tells the script not to write /proc/sys; it still refuses a forwarding pod.
    expect(configData(synth(gw))['start.env']).toContain('\nforwarding_off_by=pod-sysctl\n');
    expect(ApiObject.of(gw.codeConfigMap).toJson().data['init.sh']).toContain('refusing to start a gateway that forwards');
  });

  test('a listen port below 1024 sets the safe unprivileged-port sysctl for non-root nginx', () => {
    const gw = testGateway({ configUpdates: ConfigUpdates.RESTART });
    gw.addProxiedService('api', { serviceName: 'kubernetes', serviceNamespace: 'default', port: 443, targetPort: 6443, egressCidrs: ['172.20.0.10/32'] });
    gw.addProxiedService('web', { serviceName: 'web', port: 80 });
    const pod = findObject(synth(gw), 'Deployment').spec.template.spec;
    expect(pod.securityContext.sysctls).toEqual([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '80' }]);
  });

  test('with live updates the unprivileged-port sysctl is 0 from the start: a low port added later needs no new pod', () => {
    const sysctls = (port: number) => {
      const gw = testGateway();
      gw.addProxiedService('svc', { serviceName: 'svc', port });
      return findObject(synth(gw), 'Deployment').spec.template.spec.securityContext.sysctls;
    };
    expect(sysctls(5432)).toEqual([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }]);
    expect(sysctls(80)).toEqual(sysctls(5432));
  });

  test('images are pinned and overridable', () => {
    const pod = (props = {}) => findObject(synth(smallGateway(props)), 'Deployment').spec.template.spec;
    expect(pod().initContainers[0].image).toBe(WireguardGateway.DEFAULT_INIT_IMAGE);
    expect(pod().containers[0].image).toBe(WireguardGateway.DEFAULT_NGINX_IMAGE);
    expect(WireguardGateway.DEFAULT_INIT_IMAGE).toMatch(/:[0-9][^:]*$/);
    expect(WireguardGateway.DEFAULT_NGINX_IMAGE).toMatch(/:[0-9][^:]*$/);
    const custom = pod({ initImage: 'registry.example/wg:1', nginxImage: 'registry.example/nginx:2' });
    expect(custom.initContainers[0].image).toBe('registry.example/wg:1');
    expect(custom.containers[0].image).toBe('registry.example/nginx:2');
  });

  test('the private key is only in the Secret, mounted 0400 into the init container only', () => {
    const objects = synth(smallGateway());
    const secret = findObject(objects, 'Secret');
    expect(secret.stringData).toEqual({ 'private-key': expect.any(String) });
    const key = secret.stringData['private-key'];
    const elsewhere = objects.filter((o) => o.kind !== 'Secret').map((o) => JSON.stringify(o));
    expect(elsewhere.some((text) => text.includes(key))).toBe(false);
    const pod = findObject(objects, 'Deployment').spec.template.spec;
    expect(pod.volumes.find((v: any) => v.name === 'private-key').secret).toEqual({
      secretName: secret.metadata.name, defaultMode: 0o400, items: [{ key: 'private-key', path: 'private-key' }],
    });
    expect(pod.initContainers[0].volumeMounts).toContainEqual({ name: 'private-key', mountPath: '/run/secrets/wireguard-gateway', readOnly: true });
    expect(JSON.stringify(pod.containers)).not.toContain('private-key');
    // fsGroup would make the kubelet OR group-read into the key file's mode.
    expect(pod.securityContext.fsGroup).toBeUndefined();
  });

  test('WireguardKey.fromSecret references an existing Secret and defines none', () => {
    const chart = testChart();
    const secret = kplus.Secret.fromSecretName(chart, 'Key', 'my-wg-key');
    const gw = testGateway({ privateKey: WireguardKey.fromSecret(secret, { publicKey: TEST_SERVER_PUBLIC_KEY, key: 'wg.key' }) }, chart);
    gw.addManagedDbRoute('db', { host: 'db.example.com', port: 5432, cidrs: ['10.20.0.0/16'] });
    const objects = synth(gw);
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const pod = findObject(objects, 'Deployment').spec.template.spec;
    expect(pod.volumes.find((v: any) => v.name === 'private-key').secret).toEqual({
      secretName: 'my-wg-key', defaultMode: 0o400, items: [{ key: 'wg.key', path: 'private-key' }],
    });
    expect(gw.publicKey).toBe(TEST_SERVER_PUBLIC_KEY);
  });

  test('unsafeFromBase64 derives the public key', () => {
    expect(smallGateway().publicKey).toBe(TEST_SERVER_PUBLIC_KEY);
  });

  test('the Service is a UDP LoadBalancer on listenPort by default', () => {
    const svc = findObject(synth(smallGateway()), 'Service');
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.ports).toEqual([{ name: 'wireguard', port: 51820, targetPort: 51820, protocol: 'UDP' }]);
    expect(svc.spec.externalTrafficPolicy).toBe('Cluster');
    expect(svc.spec.sessionAffinity).toBe('ClientIP');
  });

  describe('availability', () => {
    const pod = (objects: any[]) => findObject(objects, 'Deployment').spec.template.spec;

    test('two or more replicas: a disruption budget of one, spread over nodes and zones (preferred)', () => {
      // GIVEN / WHEN
      const gw = smallGateway({ replicas: 3 });
      const objects = synth(gw);
      // THEN
      expect(findObject(objects, 'Deployment').spec.replicas).toBe(3);
      const pdb = findObject(objects, 'PodDisruptionBudget');
      expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: gw.podLabels }, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
      expect(ApiObject.of(gw.podDisruptionBudget!).toJson()).toEqual(pdb);
      const spread = pod(objects).topologySpreadConstraints;
      expect(spread.map((c: any) => [c.topologyKey, c.whenUnsatisfiable, c.maxSkew])).toEqual([
        ['kubernetes.io/hostname', 'ScheduleAnyway', 1], ['topology.kubernetes.io/zone', 'ScheduleAnyway', 1],
      ]);
      for (const c of spread) {
        expect(c.labelSelector).toEqual({ matchLabels: gw.podLabels });
        expect(c.matchLabelKeys).toEqual(['pod-template-hash']);
      }
    });

    test('ReplicaSpread.REQUIRED makes one pod per node a rule; zones stay preferred', () => {
      const spread = pod(synth(smallGateway({ replicaSpread: ReplicaSpread.REQUIRED }))).topologySpreadConstraints;
      expect(spread.map((c: any) => c.whenUnsatisfiable)).toEqual(['DoNotSchedule', 'ScheduleAnyway']);
    });

    test('one replica: no budget and no spread, and still a surge-first rollout', () => {
      const gw = smallGateway({ replicas: 1 });
      const objects = synth(gw);
      expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
      expect(gw.podDisruptionBudget).toBeUndefined();
      expect(pod(objects).topologySpreadConstraints).toBeUndefined();
      expect(findObject(objects, 'Deployment').spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    });

    test('the agent has an exec readiness probe, no container a liveness probe', () => {
      const spec = pod(synth(smallGateway()));
      expect(spec.containers[1].readinessProbe).toEqual({
        exec: { command: ['/bin/sh', '/run/wireguard-agent/code/agent.sh', 'ready'] },
        periodSeconds: 5,
        timeoutSeconds: 3,
        failureThreshold: 2,
        successThreshold: 1,
      });
      expect([...spec.containers, ...spec.initContainers].filter((c: any) => c.livenessProbe !== undefined)).toEqual([]);
    });

    test('a pod being removed drains: both long-running containers wait drainTime (15 s) before SIGTERM', () => {
      const spec = pod(synth(smallGateway()));
      for (const c of spec.containers) expect(c.lifecycle).toEqual({ preStop: { exec: { command: ['sleep', '15'] } } });
      expect(spec.terminationGracePeriodSeconds).toBe(25);
      const custom = pod(synth(smallGateway({ drainTime: Duration.seconds(40) })));
      expect(custom.containers[0].lifecycle.preStop.exec.command).toEqual(['sleep', '40']);
      expect(custom.terminationGracePeriodSeconds).toBe(50);
      const none = pod(synth(smallGateway({ drainTime: Duration.seconds(0) })));
      expect(none.containers.map((c: any) => c.lifecycle)).toEqual([undefined, undefined]);
      expect(none.terminationGracePeriodSeconds).toBe(10);
    });

    test('replicas, spread and drain are pod-template changes, not live ones', () => {
      const template = (props: Partial<WireguardGatewayProps>) => JSON.stringify(findObject(synth(smallGateway(props)), 'Deployment').spec.template);
      expect(template({ replicaSpread: ReplicaSpread.REQUIRED })).not.toBe(template({}));
      expect(template({ drainTime: Duration.seconds(30) })).not.toBe(template({}));
    });
  });

  test('Service options: NodePort, source ranges, traffic policy, annotations', () => {
    const lb = findObject(synth(smallGateway({
      listenPort: 51000,
      loadBalancerSourceRanges: ['203.0.113.0/24'],
      externalTrafficPolicy: ExternalTrafficPolicy.LOCAL,
      serviceAnnotations: { 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' },
    })), 'Service');
    expect(lb.spec.loadBalancerSourceRanges).toEqual(['203.0.113.0/24']);
    expect(lb.spec.externalTrafficPolicy).toBe('Local');
    expect(lb.spec.ports[0]).toMatchObject({ port: 51000, targetPort: 51000, protocol: 'UDP' });
    expect(lb.metadata.annotations).toEqual({ 'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb' });
    const np = findObject(synth(smallGateway({ serviceType: GatewayServiceType.NODE_PORT, nodePort: 31820 })), 'Service');
    expect(np.spec.type).toBe('NodePort');
    expect(np.spec.ports[0].nodePort).toBe(31820);
  });

  test('the NetworkPolicy allows UDP listenPort in, and DNS plus each target out', () => {
    const gw = testGateway({ dnsCidrs: ['169.254.20.10/32'] });
    gw.addProxiedService('postgres', { serviceName: 'postgres', serviceNamespace: 'db', port: 5432, targetPort: 15432, podSelector: { app: 'pg' } });
    gw.addManagedDbRoute('rds', { host: 'mydb.abc.eu-west-1.rds.amazonaws.com', port: 5432, cidrs: ['10.20.0.0/16', '10.21.0.0/16'] });
    const objects = synth(gw);
    const policy = findObject(objects, 'NetworkPolicy');
    const dep = findObject(objects, 'Deployment');
    expect(policy.spec.podSelector.matchLabels).toEqual(gw.podLabels);
    expect(dep.spec.template.metadata.labels).toMatchObject(gw.podLabels);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress).toEqual([{ ports: [{ protocol: 'UDP', port: 51820 }] }]);
    expect(policy.spec.egress).toEqual([
      {
        to: [
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
          { ipBlock: { cidr: '169.254.20.10/32' } },
        ],
        ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
      },
      { to: [{ ipBlock: { cidr: '10.20.0.0/16' } }, { ipBlock: { cidr: '10.21.0.0/16' } }], ports: [{ protocol: 'TCP', port: 5432 }] },
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'db' } }, podSelector: { matchLabels: { app: 'pg' } } }],
        ports: [{ protocol: 'TCP', port: 15432 }],
      },
    ]);
    // Route rules are sorted, so the policy never depends on definition order.
  });

  test('the gateway is a cdk8s-plus network-policy peer', () => {
    const chart = testChart();
    const gw = testGateway({}, chart);
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    const db = new kplus.Deployment(chart, 'db', { containers: [{ image: 'postgres:16', portNumber: 5432 }] });
    db.connections.allowFrom(gw, { ports: [kplus.NetworkPolicyPort.tcp(5432)] });
    const objects = synth(gw);
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy' && o.spec.ingress?.[0]?.from);
    expect(policies).toHaveLength(1);
    const from = policies[0].spec.ingress[0].from[0];
    const gwPod = findObject(objects, 'Deployment', (d) => d.spec.template.spec.initContainers !== undefined).spec.template.metadata.labels;
    for (const [k, v] of Object.entries(from.podSelector.matchLabels)) expect(gwPod[k]).toBe(v);
  });

  test('as a peer, the gateway offers what every cdk8s-plus major reads: its pods by name and namespace', () => {
    const gw = testGateway();
    const config = gw.toNetworkPolicyPeerConfig();
    expect(config.ipBlock).toBeUndefined();
    expect(config.podSelector?.namespaces).toEqual({ names: ['wireguard'] });
    expect(config.podSelector?.labelSelector.isEmpty()).toBe(false);
    expect(gw.toPodSelector()).toBe(gw.deployment);
    expect(gw.toPodSelectorConfig().namespaces).toEqual({ names: ['wireguard'] });
  });

  test('the gateway is a pod selection for another workload\'s scheduling', () => {
    const chart = testChart();
    const gw = testGateway({}, chart);
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    const app = new kplus.Deployment(chart, 'app', { containers: [{ image: 'app:1' }] });
    app.scheduling.separate(gw);
    const objects = synth(gw);
    const term = findObject(objects, 'Deployment', (d) => d.spec.template.spec.initContainers === undefined)
      .spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
    expect(term).toMatchObject({ topologyKey: 'kubernetes.io/hostname', namespaces: ['wireguard'] });
    // It selects the gateway's pods: cdk8s-plus's stable address label, which they carry.
    const gwPod = findObject(objects, 'Deployment', (d) => d.spec.template.spec.initContainers !== undefined).spec.template.metadata.labels;
    expect(Object.keys(term.labelSelector.matchLabels)).toEqual(['cdk8s.io/metadata.addr']);
    for (const [k, v] of Object.entries(term.labelSelector.matchLabels)) expect(gwPod[k]).toBe(v);
  });

  test('targetNamespacePolicies adds an allow-from-gateway policy in each target namespace', () => {
    const gw = testGateway({ targetNamespacePolicies: true });
    gw.addProxiedService('pg', { serviceName: 'pg', serviceNamespace: 'db', port: 5432, targetPort: 5433, podSelector: { app: 'pg' } });
    gw.addManagedDbRoute('rds', { host: 'rds.example.com', port: 5432, cidrs: ['10.20.0.0/16'] });
    const policies = synth(gw).filter((o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === 'db');
    expect(policies).toHaveLength(1);
    // Named after the gateway and the route, labelled like the gateway's own objects.
    expect(policies[0].metadata).toEqual({ name: 'gw.pg', namespace: 'db', labels: expect.objectContaining({ 'app.kubernetes.io/instance': 'gw' }) });
    expect(policies[0].spec).toEqual({
      podSelector: { matchLabels: { app: 'pg' } },
      policyTypes: ['Ingress'],
      ingress: [{
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'wireguard' } }, podSelector: { matchLabels: gw.podLabels } }],
        ports: [{ protocol: 'TCP', port: 5433 }],
      }],
    });
    // Off by default.
    expect(synth(smallGateway()).filter((o) => o.kind === 'NetworkPolicy')).toHaveLength(1);
  });

  test('defineNamespace defines a Pod Security-labelled namespace', () => {
    const objects = synth(smallGateway({ defineNamespace: true }));
    validateWithSchemas(objects);
    const ns = findObject(objects, 'Namespace');
    expect(ns.metadata).toEqual({
      name: 'wireguard',
      labels: { 'pod-security.kubernetes.io/enforce': 'privileged', 'pod-security.kubernetes.io/enforce-version': 'latest' },
    });
  });

  test('configUpdates RESTART: a checksum of every rendered file rolls the pod when anything changes', () => {
    const restart = { configUpdates: ConfigUpdates.RESTART };
    const checksum = (gw: any) => findObject(synth(gw), 'Deployment').spec.template.metadata.annotations['wireguard-gateway.cdk8s.io/config-checksum'];
    const a = checksum(smallGateway(restart));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(smallGateway(restart))).toBe(a);
    const changed = smallGateway(restart);
    changed.addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
    expect(checksum(changed)).not.toBe(a);
    expect(configData(synth(smallGateway(restart)))['start.env']).toContain('\nlive_updates=0\n');
  });

  test('configUpdates LIVE (the default): peers, routes and allowPeers do not touch the pod template', () => {
    // GIVEN gateways that differ in their peers, routes and allow lists (no preshared keys)
    const variants: Array<(gw: WireguardGateway) => void> = [
      () => {},
      (gw) => gw.addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2' }),
      (gw) => {
        const laptop = gw.addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
        gw.addPeer('ci', { publicKey: PEER_KEYS[1], address: '10.98.0.3' });
        gw.addProxiedService('web', { serviceName: 'web', port: 80, allowPeers: [laptop] });
        gw.addManagedDbRoute('db', { host: 'db.example.com', port: 3306, cidrs: ['10.20.0.0/16'] });
      },
    ];
    const synthesized = variants.map((change) => {
      const gw = smallGateway();
      change(gw);
      return synth(gw);
    });
    // THEN their ConfigMaps differ, their Deployments do not
    const deployments = synthesized.map((o) => JSON.stringify(findObject(o, 'Deployment')));
    expect(new Set(synthesized.map((o) => JSON.stringify(configData(o)))).size).toBe(variants.length);
    expect(new Set(deployments).size).toBe(1);
    const annotations = findObject(synthesized[0], 'Deployment').spec.template.metadata.annotations;
    expect(Object.keys(annotations)).toEqual(['wireguard-gateway.cdk8s.io/restart-checksum']);
    expect(configData(synthesized[0])['start.env']).toContain('\nlive_updates=1\n');
  });

  test('configUpdates LIVE: what a running pod cannot apply still rolls it', () => {
    const template = (props: Partial<WireguardGatewayProps>, psk = false) => {
      const chart = testChart();
      const gw = smallGateway(props);
      if (psk) gw.addPeer('phone', { publicKey: PEER_KEYS[1], address: '10.98.0.3', presharedKeySecret: kplus.Secret.fromSecretName(chart, 'Psk', 'p') });
      return JSON.stringify(findObject(synth(gw), 'Deployment').spec.template);
    };
    const base = template({});
    // the settings the containers read at start (start.env: the resolver), images, resources, the listen port, a new Secret volume
    expect(template({ dnsCacheValidity: Duration.seconds(9) })).not.toBe(base);
    expect(template({ resolverTimeout: Duration.seconds(3) })).not.toBe(base);
    expect(template({ ipv6: true })).not.toBe(base);
    expect(template({ resolverAddresses: ['10.96.0.10'] })).not.toBe(base);
    expect(template({ resolverAddresses: ['10.96.0.11'] })).not.toBe(template({ resolverAddresses: ['10.96.0.10'] }));
    expect(template({ nginxImage: 'registry.example/nginx:2' })).not.toBe(base);
    expect(template({ listenPort: 51821 })).not.toBe(base);
    const agentResources = {
      cpu: { request: kplus.Cpu.millis(20), limit: kplus.Cpu.millis(100) },
      memory: { request: Size.mebibytes(8), limit: Size.mebibytes(32) },
    };
    expect(template({ agentResources })).not.toBe(base);
    expect(template({}, true)).not.toBe(base);
    // and what the agent applies live does not
    expect(template({ mtu: 1380 })).toBe(base);
    expect(template({ maxSessionsPerWorker: 100 })).toBe(base);
    expect(template({ maxSessionsPerPeer: 10 })).toBe(base);
  });

  test('config-id is the checksum of the files a running pod applies', () => {
    const data = configData(synth(smallGateway()));
    const id = createHash('sha256');
    for (const f of ['nginx.conf', 'wg0.conf', 'connection-info.json', 'routes.tsv', 'peers.tsv', 'live.env']) id.update(data[f]);
    expect(data['config-id']).toBe(id.digest('hex') + '\n');
  });

  test('the order of definition does not matter: routes and peers added after use still render', () => {
    const early = testGateway();
    early.addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
    early.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    const late = testGateway();
    late.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    late.addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
    expect(configData(synth(early))).toEqual(configData(synth(late)));
    // ProxiedService constructed directly after the gateway, and a peer after it.
    const chart = testChart();
    const gw = testGateway({}, chart);
    const pg = new ProxiedService(chart, 'pg', { gateway: gw, serviceName: 'pg', port: 5432 });
    gw.addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
    const data = configData(synth(gw));
    expect(data['wg0.conf']).toContain(PEER_KEYS[0]);
    expect(data['nginx.conf']).toContain(`listen ${pg.address}:5432;`);
  });

  test('synth is deterministic: same input, byte-identical output', () => {
    const render = () => {
      const gw = smallGateway();
      gw.addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
      return JSON.stringify(synth(gw));
    };
    expect(render()).toBe(render());
  });

  test('the rendered nginx.conf of a gateway with every feature is recorded for the system tier\'s real nginx -t', () => {
    const gw = testGateway({ dnsCacheValidity: Duration.seconds(3), resolverAddresses: ['10.96.0.10', 'fd00::10'] });
    const laptop = gw.addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
    gw.addProxiedService('pg', { serviceName: 'pg', serviceNamespace: 'db', port: 5432, allowPeers: [laptop] });
    gw.addProxiedService('pg-replica', { serviceName: 'pg-replica', serviceNamespace: 'db', port: 5432, address: '10.99.0.200', listenPort: 5432 });
    gw.addProxiedService('pg-admin', { serviceName: 'pg', serviceNamespace: 'db', port: 5432, address: '10.99.0.200', listenPort: 15432 });
    gw.addManagedDbRoute('rds', { host: 'rds.example.com', port: 3306, cidrs: ['10.20.0.0/16'], idleTimeout: Duration.hours(2) });
    const data = configData(synth(gw));
    expect(data['start.env']).toContain('\nresolver_addresses=10.96.0.10 fd00::10\nresolver_valid_seconds=3\n');
    expect(recordedNginxConf(data['nginx.conf'])).toBe(true);
  });

  describe('names and labels', () => {
    /** A gateway with every kind of object, at `scope`. */
    function everyObject(scope: Construct, name?: string): WireguardGateway {
      const gw = testGateway({ name, defineNamespace: true, targetNamespacePolicies: true }, scope);
      gw.addPeer('laptop', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
      gw.addProxiedService('postgres', { serviceName: 'postgres', serviceNamespace: 'db', port: 5432, podSelector: { app: 'pg' } });
      gw.addManagedDbRoute('orders-db', { host: 'orders.example.com', port: 5432, cidrs: ['10.20.0.0/16'] });
      return gw;
    }

    /** Every object, without what legitimately names the construct path: rendered comments and their checksum. */
    function identities(objects: any[]): any[] {
      return objects.map((o) => {
        const copy = JSON.parse(JSON.stringify(o));
        if (copy.kind === 'ConfigMap') delete copy.data;
        delete copy.spec?.template?.metadata?.annotations?.['wireguard-gateway.cdk8s.io/config-checksum'];
        delete copy.spec?.template?.metadata?.annotations?.['wireguard-gateway.cdk8s.io/restart-checksum'];
        return copy;
      });
    }

    test('moving the gateway under another scope, with the same name, changes no object name, label or selector', () => {
      // GIVEN the gateway at vpn/gw, and the same gateway moved to vpn/network/gw
      const before = new Chart(Testing.app(), 'vpn', { namespace: 'wireguard' });
      const after = new Chart(Testing.app(), 'vpn', { namespace: 'wireguard' });
      const moved = everyObject(new Construct(after, 'network'));
      everyObject(before);
      // WHEN
      const a = synth(before);
      const b = synth(moved);
      // THEN every object is the same but for the comments that name the path
      expect(identities(b)).toEqual(identities(a));
      expect(a.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort()).toEqual([
        'ConfigMap wireguard/gw', `ConfigMap wireguard/${codeName(a)}`, 'Deployment wireguard/gw', 'Namespace /wireguard', 'NetworkPolicy db/gw.postgres',
        'NetworkPolicy wireguard/gw', 'PodDisruptionBudget wireguard/gw', 'Secret wireguard/gw', 'Service wireguard/gw',
      ]);
      expect(JSON.stringify(a)).not.toMatch(/-c8[0-9a-f]{6}"/); // no path hash anywhere
    });

    test('moving the gateway does not roll the pod: the restart checksum stays; the files that name the path change, and apply live', () => {
      // GIVEN the gateway at vpn/gw, and the same gateway moved to vpn/network/gw
      const before = new Chart(Testing.app(), 'vpn', { namespace: 'wireguard' });
      const after = new Chart(Testing.app(), 'vpn', { namespace: 'wireguard' });
      everyObject(before);
      everyObject(new Construct(after, 'network'));
      // WHEN
      const a = synth(before);
      const b = synth(after);
      // THEN the Deployment is the same, restart checksum included: no pod rolls
      const annotation = (o: any[]) => findObject(o, 'Deployment').spec.template.metadata.annotations['wireguard-gateway.cdk8s.io/restart-checksum'];
      expect(annotation(b)).toMatch(/^[0-9a-f]{64}$/);
      expect(annotation(b)).toBe(annotation(a));
      expect(findObject(b, 'Deployment')).toEqual(findObject(a, 'Deployment'));
      // AND what changes is the ConfigMap's live files (comments naming the path, connection-info.json's
      // "gateway"), so config-id: the agent applies it live (an nginx reload, nothing else)
      const [da, db] = [configData(a), configData(b)];
      const changed = Object.keys(da).filter((f) => da[f] !== db[f]).sort();
      expect(changed).toEqual(['config-id', 'connection-info.json', 'live.env', 'nginx.conf', 'peers.tsv', 'routes.tsv', 'wg0.conf']);
      expect(changed.filter((f) => f !== 'config-id' && !(LIVE_FILES as readonly string[]).includes(f))).toEqual([]);
      expect(db['start.env']).toBe(da['start.env']);
    });

    test('the name prop names every object and sets the instance label; the id does not matter then', () => {
      const objects = synth(everyObject(testChart(), 'corp-vpn'));
      for (const o of objects.filter((x) => x.kind !== 'Namespace')) {
        expect(o.metadata.name).toMatch(/^corp-vpn(\.postgres|-code-[0-9a-f]{10})?$/);
        expect(o.metadata.labels).toEqual({
          'app.kubernetes.io/name': 'wireguard-gateway',
          'app.kubernetes.io/instance': 'corp-vpn',
          'app.kubernetes.io/component': 'gateway',
          'app.kubernetes.io/part-of': 'wireguard-gateway',
          'app.kubernetes.io/managed-by': 'cdk8s',
        });
      }
    });

    test('the Service, the Deployment and the NetworkPolicy select the pods by the gateway\'s own labels, which the pods carry', () => {
      const gw = smallGateway();
      const objects = synth(gw);
      const template = findObject(objects, 'Deployment').spec.template.metadata.labels;
      const selectors = [
        findObject(objects, 'Service').spec.selector,
        findObject(objects, 'Deployment').spec.selector.matchLabels,
        findObject(objects, 'NetworkPolicy').spec.podSelector.matchLabels,
      ];
      for (const selector of selectors) {
        expect(selector).toEqual({ 'app.kubernetes.io/name': 'wireguard-gateway', 'app.kubernetes.io/instance': 'gw' });
        expect(template).toMatchObject(selector);
      }
      // cdk8s-plus's own pod label is stable too, so its selectors (connections.allowTo/allowFrom) are.
      expect(template['cdk8s.io/metadata.addr']).toBe('gw.wireguard');
    });

    test('the default name is the construct id in lower case; moving the gateway keeps it', () => {
      const gw = new WireguardGateway(new Construct(testChart(), 'Network'), 'Gateway', { privateKey: WireguardKey.fromSecretName('k', { publicKey: TEST_SERVER_PUBLIC_KEY }) });
      gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
      expect(gw.name).toBe('gateway');
      expect(findObject(synth(gw), 'Service').metadata.name).toBe('gateway');
    });

    test('node.defaultChild is the Deployment, so ApiObject.of(gateway) patches it', () => {
      const gw = smallGateway();
      expect(gw.node.defaultChild).toBe(gw.deployment);
      ApiObject.of(gw).addJsonPatch(JsonPatch.add('/spec/minReadySeconds', 5));
      expect(findObject(synth(gw), 'Deployment').spec.minReadySeconds).toBe(5);
    });

    test('the @default docs show the images\' literal values', () => {
      const source = readFileSync(join(__dirname, '..', 'src', 'wireguard-gateway-props.ts'), 'utf-8');
      expect(source).toContain(`@default "${WireguardGateway.DEFAULT_INIT_IMAGE}" (WireguardGateway.DEFAULT_INIT_IMAGE)`);
      expect(source).toContain(`@default "${WireguardGateway.DEFAULT_NGINX_IMAGE}" (WireguardGateway.DEFAULT_NGINX_IMAGE)`);
      expect(WireguardGateway.CONNECTION_INFO).toBe('connection-info.json');
    });
  });

  describe('pod and Service settings', () => {
    test('podMetadata, pull secret, service account, priority class and scheduling reach the pod', () => {
      // GIVEN
      const chart = testChart();
      const gw = smallGateway({
        podMetadata: { labels: { team: 'platform' }, annotations: { 'example.com/owner': 'platform team' } },
        dockerRegistryAuth: kplus.Secret.fromSecretName(chart, 'Pull', 'regcred'),
        serviceAccount: kplus.ServiceAccount.fromServiceAccountName(chart, 'Sa', 'wireguard'),
        priorityClassName: 'system-cluster-critical',
      });
      // WHEN
      gw.scheduling.attract(kplus.Node.labeled(kplus.NodeLabelQuery.is('pool', 'vpn')));
      gw.scheduling.tolerate(kplus.Node.tainted(kplus.NodeTaintQuery.is('dedicated', 'vpn')));
      const template = findObject(synth(gw), 'Deployment').spec.template;
      // THEN
      expect(template.metadata.labels).toMatchObject({ 'team': 'platform', 'app.kubernetes.io/instance': 'gw' });
      expect(template.metadata.annotations).toMatchObject({ 'example.com/owner': 'platform team', 'wireguard-gateway.cdk8s.io/restart-checksum': expect.any(String) });
      expect(template.spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
      expect(template.spec.serviceAccountName).toBe('wireguard');
      expect(template.spec.automountServiceAccountToken).toBe(false);
      expect(template.spec.priorityClassName).toBe('system-cluster-critical');
      expect(template.spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'vpn' }]);
      expect(template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
        { matchExpressions: [{ key: 'pool', operator: 'In', values: ['vpn'] }] },
      ]);
    });

    test('scheduling: colocate and separate, with a topology and a weight, reach the pod', () => {
      const gw = smallGateway();
      const chart = Chart.of(gw);
      gw.scheduling.colocate(kplus.Pods.select(chart, 'Cache', { labels: { app: 'cache' } }), { topology: kplus.Topology.ZONE, weight: 50 });
      gw.scheduling.separate(kplus.Pods.select(chart, 'Batch', { labels: { app: 'batch' } }));
      const affinity = findObject(synth(gw), 'Deployment').spec.template.spec.affinity;
      expect(affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution).toEqual([
        { weight: 50, podAffinityTerm: { topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: { app: 'cache' } } } },
      ]);
      expect(affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution).toEqual([
        { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'batch' } } },
      ]);
    });

    test('loadBalancerClass, Service labels and annotations, and a node port inside a custom range', () => {
      const lb = findObject(synth(smallGateway({
        loadBalancerClass: 'service.k8s.aws/nlb',
        serviceLabels: { team: 'platform' },
        serviceAnnotations: { 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing' },
      })), 'Service');
      expect(lb.spec.loadBalancerClass).toBe('service.k8s.aws/nlb');
      expect(lb.metadata.labels).toMatchObject({ 'team': 'platform', 'app.kubernetes.io/instance': 'gw' });
      expect(lb.metadata.annotations).toEqual({ 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing' });
      const np = findObject(synth(smallGateway({ serviceType: GatewayServiceType.NODE_PORT, nodePort: 20820, serviceNodePortRange: '20000-22767' })), 'Service');
      expect(np.spec.ports[0].nodePort).toBe(20820);
      expect(() => testGateway({ nodePort: 32768 })).toThrow('test/gw: invalid nodePort 32768: must be an integer inside the cluster\'s node port range 30000-32767');
      expect(() => testGateway({ nodePort: 30000 })).not.toThrow();
    });

    test('cdk8s-plus connections on the Deployment add typed policies that select the gateway\'s pods', () => {
      // GIVEN
      const gw = smallGateway();
      // WHEN an extra egress the gateway's own policy does not allow
      const api = kplus.NetworkPolicyIpBlock.ipv4(Chart.of(gw), 'Api', '192.0.2.10/32');
      gw.deployment.connections.allowTo(api, { ports: [kplus.NetworkPolicyPort.tcp(443)] });
      const objects = synth(gw);
      // THEN a second policy selects the same pods, by labels they carry
      const extra = objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.name !== 'gw');
      expect(extra).toHaveLength(1);
      const template = findObject(objects, 'Deployment').spec.template.metadata.labels;
      expect(template).toMatchObject(extra[0].spec.podSelector.matchLabels);
      expect(extra[0].spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '192.0.2.10/32' } }], ports: [{ port: 443, protocol: 'TCP' }] }]);
    });

    test('defineNamespace refuses the namespaces other workloads share', () => {
      for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
        expect(() => testGateway({ defineNamespace: true, namespace: ns })).toThrow(`test/gw: invalid namespace "${ns}": defineNamespace labels the namespace`);
        expect(() => testGateway({ namespace: ns })).not.toThrow();
      }
    });
  });

  describe('validation', () => {
    test('fails if the gateway exposes nothing', () => {
      expect(() => synth(testGateway())).toThrow('test/gw: the gateway exposes nothing. Fix: add a route with addProxiedService or addManagedDbRoute');
    });
    test('fails if serviceNetwork is not a CIDR', () => {
      expect(() => testGateway({ serviceNetwork: '10.99.0.0' })).toThrow('test/gw: invalid serviceNetwork "10.99.0.0": an IPv4 CIDR needs a /prefix. Fix: did you mean "10.99.0.0/32"');
      expect(() => testGateway({ serviceNetwork: '10.99.0.1/24' })).toThrow('invalid serviceNetwork "10.99.0.1/24": the address has host bits set for its prefix. Fix: did you mean "10.99.0.0/24"');
      expect(() => testGateway({ serviceNetwork: '10.0.0.0/8' })).toThrow('invalid serviceNetwork "10.0.0.0/8": must be /16 or smaller');
    });
    test('fails if listenPort is out of range', () => {
      expect(() => testGateway({ listenPort: 70000 })).toThrow('test/gw: invalid listenPort 70000: must be an integer from 1 to 65535. Fix: pick a UDP port, usually 51820');
    });
    test('fails if replicas is out of range', () => {
      expect(() => testGateway({ replicas: 0 })).toThrow('test/gw: invalid replicas 0: must be an integer from 1 to 10. Fix: use 2 (the default) or 3');
    });
    test('fails if mtu is out of range', () => {
      expect(() => testGateway({ mtu: 100 })).toThrow('test/gw: invalid mtu 100: must be an integer from 1280 to 9000');
    });
    test('fails if the private key is not 32 bytes of base64, without echoing it', () => {
      expect(() => testGateway({ privateKey: WireguardKey.unsafeFromBase64('not-a-key') })).toThrow(
        'test/gw: invalid privateKey "<9 characters>": must be 32 bytes of base64 (44 characters ending in "="), as printed by wg genkey / wg pubkey. Fix: generate one with "wg genkey"');
    });
    test('fails if the endpoint is not a DNS name or IP', () => {
      expect(() => testGateway({ endpoint: 'vpn.example.com:51820' })).toThrow('test/gw: invalid endpoint "vpn.example.com:51820": must be a DNS name');
    });
    test('fails if loadBalancerSourceRanges is given with NodePort', () => {
      expect(() => testGateway({ serviceType: GatewayServiceType.NODE_PORT, loadBalancerSourceRanges: ['10.0.0.0/8'] })).toThrow(
        'test/gw: invalid loadBalancerSourceRanges ["10.0.0.0/8"]: they only apply to serviceType LOAD_BALANCER, not NodePort');
    });
    test('fails if a resolver address is not an IP', () => {
      expect(() => testGateway({ resolverAddresses: ['kube-dns'] })).toThrow('test/gw: invalid resolverAddresses[0] "kube-dns": must be an IPv4 or IPv6 address');
    });
    test('fails if a DNS cache validity is not whole seconds', () => {
      expect(() => testGateway({ dnsCacheValidity: Duration.millis(1500) })).toThrow('test/gw: invalid dnsCacheValidity "1500ms": must be a whole number of seconds, at least 1');
    });
    test('fails if two routes use the same address:port, reporting all problems together', () => {
      const gw = testGateway();
      gw.addProxiedService('a', { serviceName: 'a', port: 5432, address: '10.99.0.9' });
      gw.addProxiedService('b', { serviceName: 'b', port: 5432, address: '10.99.0.9' });
      gw.addProxiedService('c', { serviceName: 'c', port: 6379, address: '10.99.0.9' });
      gw.addProxiedService('d', { serviceName: 'd', port: 6379, address: '10.99.0.9' });
      const err = (() => { try { synth(gw); return ''; } catch (e) { return (e as Error).message; } })();
      expect(err).toContain('test/gw/b: invalid listenPort 5432: 10.99.0.9:5432 is already used by test/gw/a. Fix: give one of them another listenPort, or another address');
      expect(err).toContain('test/gw/d: invalid listenPort 6379: 10.99.0.9:6379 is already used by test/gw/c.');
    });
    test('fails if automatic addresses collide in a full service network, asking for a larger one', () => {
      // GIVEN three routes in a network of two addresses: at least two share one, and nothing is free
      const gw = testGateway({ serviceNetwork: '10.99.0.0/30' });
      gw.addProxiedService('a', { serviceName: 'a', port: 1 + 1023 });
      gw.addProxiedService('b', { serviceName: 'b', port: 1025 });
      gw.addProxiedService('c', { serviceName: 'c', port: 1026 });
      // THEN
      expect(() => synth(gw)).toThrow('Fix: give the gateway a larger serviceNetwork (10.99.0.0/30 has no free address left, 2 usable)');
    });
  });
});
