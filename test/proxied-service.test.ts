import { ApiObject, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ITargetService, ProxiedService, TargetServicePort } from '../src';
import { configData, findObject, synth, testChart, testGateway } from './util';

function serverBlocks(conf: string): string[][] {
  return [...conf.matchAll(/\n {2}server \{\n([\s\S]*?)\n {2}\}/g)].map((m) => m[1].split('\n').map((l) => l.trim()));
}

describe('ProxiedService', () => {
  test('from a cdk8s-plus Service: name, namespace, port, selector and targetPort are derived', () => {
    // GIVEN
    const chart = testChart();
    const svc = new kplus.Service(chart, 'Pg', {
      metadata: { name: 'postgres', namespace: 'databases' },
      selector: kplus.Pods.select(chart, 'PgPods', { labels: { app: 'postgres', tier: 'db' } }),
      ports: [{ port: 5432, targetPort: 15432 }],
    });
    const gw = testGateway({}, chart);
    // WHEN
    const route = gw.addProxiedService('pg', { service: svc });
    const objects = synth(gw);
    // THEN
    expect(route).toBeInstanceOf(ProxiedService);
    expect(route.serviceName).toBe('postgres');
    expect(route.serviceNamespace).toBe('databases');
    expect(route.targetHost).toBe('postgres.databases.svc.cluster.local');
    expect(route.listenPort).toBe(5432);
    // Derived from the route's name "pg" in the default 10.99.0.0/20.
    expect(route.address).toBe('10.99.5.187');
    expect(route.endpoint).toBe('10.99.5.187:5432');
    expect(serverBlocks(configData(objects)['nginx.conf'])[0].slice(0, 2)).toEqual([
      'listen 10.99.5.187:5432;', 'set $backend "postgres.databases.svc.cluster.local:5432";',
    ]);
    const egress = findObject(objects, 'NetworkPolicy', (p) => p.metadata.namespace === 'wireguard').spec.egress;
    expect(egress).toContainEqual({
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'databases' } }, podSelector: { matchLabels: { app: 'postgres', tier: 'db' } } }],
      ports: [{ protocol: 'TCP', port: 15432 }],
    });
  });

  test('a Service of another cdk8s-plus major: only its name, its ports and its Kubernetes object are read', () => {
    // GIVEN a Service that is no cdk8s-plus-27 object, as one of another major is to the library:
    // public name and ports, and a default child ApiObject (what ApiObject.of finds).
    class OtherMajorService extends Construct implements ITargetService {
      public readonly name = 'postgres';
      public readonly ports: TargetServicePort[] = [{ port: 5432, targetPort: 15432, protocol: 'TCP' }];
      constructor(scope: Construct, id: string) {
        super(scope, id);
        this.node.defaultChild = new ApiObject(this, 'Resource', {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: this.name, namespace: 'databases' },
          spec: { selector: { app: 'postgres' }, ports: [{ port: 5432, targetPort: 15432 }] },
        });
      }
    }
    const chart = testChart();
    const gw = testGateway({}, chart);
    // WHEN
    const route = gw.addProxiedService('pg', { service: new OtherMajorService(chart, 'Pg') });
    // THEN
    expect([route.serviceName, route.serviceNamespace, route.targetPodPort]).toEqual(['postgres', 'databases', 15432]);
    expect(findObject(synth(gw), 'NetworkPolicy', (p) => p.metadata.namespace === 'wireguard').spec.egress).toContainEqual({
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'databases' } }, podSelector: { matchLabels: { app: 'postgres' } } }],
      ports: [{ protocol: 'TCP', port: 15432 }],
    });
  });

  test('a Service without an explicit namespace lives in its chart\'s namespace; the name is the generated one', () => {
    const chart = testChart('apps');
    const svc = new kplus.Service(chart, 'Redis', { selector: kplus.Pods.select(chart, 'P', { labels: { app: 'r' } }), ports: [{ port: 6379 }] });
    const gw = testGateway({ namespace: 'vpn' }, chart);
    const route = gw.addProxiedService('redis', { service: svc });
    expect(route.serviceNamespace).toBe('apps');
    expect(route.serviceName).toBe(svc.name);
    expect(route.targetPodPort).toBe(6379);
  });

  test('picks one port of a multi-port Service', () => {
    const chart = testChart();
    const svc = new kplus.Service(chart, 'S', { metadata: { name: 's' }, selector: kplus.Pods.select(chart, 'P', { labels: { a: 'b' } }), ports: [{ port: 80, targetPort: 8080 }, { port: 9090 }] });
    const gw = testGateway({}, chart);
    expect(gw.addProxiedService('metrics', { service: svc, port: 9090 }).targetPodPort).toBe(9090);
    expect(gw.addProxiedService('web', { service: svc }).targetPodPort).toBe(8080);
  });

  test('by name: namespace defaults to the gateway\'s; without a selector egress goes to the namespace\'s pods on targetPort', () => {
    const gw = testGateway();
    const route = gw.addProxiedService('redis', { serviceName: 'redis', port: 6379 });
    const objects = synth(gw);
    expect(route.targetHost).toBe('redis.wireguard.svc.cluster.local');
    expect(findObject(objects, 'NetworkPolicy').spec.egress).toContainEqual({
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'wireguard' } }, podSelector: {} }],
      ports: [{ protocol: 'TCP', port: 6379 }],
    });
  });

  test('egressCidrs for endpoints that are not pods (the kubernetes API)', () => {
    const gw = testGateway();
    gw.addProxiedService('kube-api', { serviceName: 'kubernetes', serviceNamespace: 'default', port: 443, targetPort: 6443, listenPort: 6443, egressCidrs: ['172.20.0.0/28'] });
    const objects = synth(gw);
    expect(findObject(objects, 'NetworkPolicy').spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '172.20.0.0/28' } }], ports: [{ protocol: 'TCP', port: 6443 }] });
    expect(configData(objects)['nginx.conf']).toContain('set $backend "kubernetes.default.svc.cluster.local:443";');
  });

  test('clusterDomain and per-route timeouts are rendered', () => {
    const gw = testGateway({ clusterDomain: 'corp.internal' });
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432, connectTimeout: Duration.seconds(3), idleTimeout: Duration.hours(8) });
    const [block] = serverBlocks(configData(synth(gw))['nginx.conf']);
    expect(block).toContain('set $backend "pg.wireguard.svc.corp.internal:5432";');
    expect(block).toContain('proxy_connect_timeout 3s;');
    expect(block).toContain('proxy_timeout 28800s;');
  });

  test('routes share an address on different ports, and use the same port on different addresses', () => {
    const gw = testGateway();
    const a = gw.addProxiedService('pg', { serviceName: 'pg', port: 5432, address: '10.99.0.50' });
    const b = gw.addProxiedService('pg-admin', { serviceName: 'pgadmin', port: 80, address: '10.99.0.50', listenPort: 8080 });
    const c = gw.addProxiedService('pg2', { serviceName: 'pg2', port: 5432 });
    const objects = synth(gw);
    expect([a.endpoint, b.endpoint, c.endpoint]).toEqual(['10.99.0.50:5432', '10.99.0.50:8080', '10.99.5.188:5432']);
    const routes = configData(objects)['routes.tsv'].split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(routes.map((r) => r.split('\t').slice(0, 2).join(':'))).toEqual(['10.99.0.50:5432', '10.99.0.50:8080', '10.99.5.188:5432']);
  });

  test('new ProxiedService(scope, ...) works like gateway.addProxiedService', () => {
    const chart = testChart();
    const gw = testGateway({}, chart);
    new ProxiedService(chart, 'pg', { gateway: gw, serviceName: 'pg', port: 5432 });
    expect(configData(synth(gw))['nginx.conf']).toContain('# ProxiedService test/pg');
  });

  describe('validation', () => {
    test('fails if there is no target', () => {
      expect(() => testGateway().addProxiedService('x', {})).toThrow('test/gw/x: invalid service undefined: a ProxiedService needs a target. Fix: pass service (a kplus.Service), or serviceName and port');
    });
    test('fails if serviceName has no port', () => {
      expect(() => testGateway().addProxiedService('x', { serviceName: 'pg' })).toThrow('test/gw/x: invalid port undefined: port is required with serviceName. Fix: pass the Service port to connect to, for example port: 5432');
    });
    test('fails if service and serviceName are both given', () => {
      const chart = testChart();
      const svc = new kplus.Service(chart, 'S', { ports: [{ port: 1 }] });
      expect(() => testGateway({}, chart).addProxiedService('x', { service: svc, serviceName: 'y' })).toThrow('invalid serviceName "y": service and serviceName contradict each other');
    });
    test('fails if the Service has no ports', () => {
      const chart = testChart();
      const svc = new kplus.Service(chart, 'S');
      expect(() => testGateway({}, chart).addProxiedService('x', { service: svc })).toThrow('test/gw/x: invalid service "test/S": the Service has no ports');
    });
    test('fails if port is not one of the Service\'s ports', () => {
      const chart = testChart();
      const svc = new kplus.Service(chart, 'S', { ports: [{ port: 80 }, { port: 443 }] });
      expect(() => testGateway({}, chart).addProxiedService('x', { service: svc, port: 8080 })).toThrow('test/gw/x: invalid port 8080: the Service test/S has ports 80, 443. Fix: pick one of those ports');
    });
    test('fails if the Service port is UDP', () => {
      const chart = testChart();
      const svc = new kplus.Service(chart, 'S', { ports: [{ port: 53, protocol: kplus.Protocol.UDP }] });
      expect(() => testGateway({}, chart).addProxiedService('x', { service: svc })).toThrow('the Service port is UDP; the gateway proxies TCP only');
    });
    test('fails if a Service without a selector has neither egressCidrs nor podSelector', () => {
      const chart = testChart();
      const svc = new kplus.Service(chart, 'S', { metadata: { name: 'ext' }, ports: [{ port: 5432 }] });
      const gw = testGateway({}, chart);
      gw.addProxiedService('x', { service: svc });
      expect(() => synth(gw)).toThrow('test/gw/x: the Service wireguard/ext has no pod selector, so the gateway\'s NetworkPolicy cannot name its endpoints. Fix: pass egressCidrs');
    });
    test('fails if serviceName or serviceNamespace are not DNS labels', () => {
      expect(() => testGateway().addProxiedService('x', { serviceName: 'Pg;', port: 1 })).toThrow('test/gw/x: invalid serviceName "Pg;": must be a DNS label');
      expect(() => testGateway().addProxiedService('x', { serviceName: 'pg', serviceNamespace: 'a.b', port: 1 })).toThrow('test/gw/x: invalid serviceNamespace "a.b": must be a DNS label');
    });
    test('fails if podSelector and egressCidrs are both given', () => {
      expect(() => testGateway().addProxiedService('x', { serviceName: 'pg', port: 1, podSelector: { a: 'b' }, egressCidrs: ['10.0.0.0/8'] })).toThrow('podSelector and egressCidrs contradict each other');
    });
    test('fails if egressCidrs is empty or holds a bad CIDR', () => {
      expect(() => testGateway().addProxiedService('x', { serviceName: 'pg', port: 1, egressCidrs: [] })).toThrow('test/gw/x: invalid egressCidrs []: must name at least one CIDR when given');
      expect(() => testGateway().addProxiedService('x', { serviceName: 'pg', port: 1, egressCidrs: ['10.0.0.1'] })).toThrow('test/gw/x: invalid egressCidrs[0] "10.0.0.1": an IPv4 CIDR needs a /prefix. Fix: did you mean "10.0.0.1/32"');
    });
    test('fails if the address is outside the service network, or not an address', () => {
      expect(() => testGateway().addProxiedService('x', { serviceName: 'pg', port: 1, address: '10.98.0.1' })).toThrow('test/gw/x: invalid address "10.98.0.1": it is outside the gateway\'s serviceNetwork 10.99.0.0/20. Fix: give an address inside 10.99.0.0/20');
      expect(() => testGateway().addProxiedService('x', { serviceName: 'pg', port: 1, address: '10.99.0.1/32' })).toThrow('invalid address "10.99.0.1/32": must be a single IPv4 address "a.b.c.d". Fix: give a single address without a prefix, for example "10.99.0.1"');
    });
    test('fails if listenPort or targetPort are out of range', () => {
      expect(() => testGateway().addProxiedService('x', { serviceName: 'pg', port: 1, listenPort: 0 })).toThrow('test/gw/x: invalid listenPort 0: must be an integer from 1 to 65535');
      expect(() => testGateway().addProxiedService('x', { serviceName: 'pg', port: 1, targetPort: 70000 })).toThrow('test/gw/x: invalid targetPort 70000');
    });
    test('fails if a timeout is not a whole number of seconds', () => {
      expect(() => testGateway().addProxiedService('x', { serviceName: 'pg', port: 1, idleTimeout: Duration.millis(500) })).toThrow('test/gw/x: invalid idleTimeout "500ms": must be a whole number of seconds, at least 1');
    });
    test('fails if allowPeers is empty', () => {
      expect(() => testGateway().addProxiedService('x', { serviceName: 'pg', port: 1, allowPeers: [] })).toThrow('test/gw/x: invalid allowPeers []: an empty list would deny every peer');
    });
  });
});
