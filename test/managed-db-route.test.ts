import { DatabaseEngine, ManagedDbRoute } from '../src';
import { configData, findObject, recordedNginxConf, synth, testChart, testGateway } from './util';

describe('ManagedDbRoute', () => {
  test('proxies to the host by DNS name per connection, and allows its CIDRs on its port', () => {
    // GIVEN
    const gw = testGateway();
    // WHEN
    const route = gw.addManagedDbRoute('orders', { host: 'Orders.cluster-abc.eu-west-1.rds.amazonaws.com', engine: DatabaseEngine.POSTGRESQL, cidrs: ['10.20.0.0/16'] });
    const objects = synth(gw);
    // THEN
    expect(route).toBeInstanceOf(ManagedDbRoute);
    expect(route.targetHost).toBe('orders.cluster-abc.eu-west-1.rds.amazonaws.com');
    expect(route.targetPort).toBe(5432);
    const conf = configData(objects)['nginx.conf'];
    expect(conf).toContain(`  # ManagedDbRoute test/gw/orders\n  server {\n    listen ${route.address}:5432;\n    set $backend "orders.cluster-abc.eu-west-1.rds.amazonaws.com:5432";\n    proxy_pass $backend;`);
    expect(findObject(objects, 'NetworkPolicy').spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ protocol: 'TCP', port: 5432 }] });
    expect(recordedNginxConf(conf)).toBe(true); // the system tier runs nginx -t on it
  });

  test('engine default ports; an explicit port wins', () => {
    const gw = testGateway();
    expect(gw.addManagedDbRoute('pg', { host: 'a.example.com', engine: DatabaseEngine.POSTGRESQL, cidrs: ['10.0.0.0/8'] }).targetPort).toBe(5432);
    expect(gw.addManagedDbRoute('my', { host: 'b.example.com', engine: DatabaseEngine.MYSQL, cidrs: ['10.0.0.0/8'] }).targetPort).toBe(3306);
    expect(gw.addManagedDbRoute('re', { host: 'c.example.com', engine: DatabaseEngine.REDIS, cidrs: ['10.0.0.0/8'] }).targetPort).toBe(6379);
    const custom = gw.addManagedDbRoute('x', { host: 'd.example.com', engine: DatabaseEngine.POSTGRESQL, port: 6432, listenPort: 5432, cidrs: ['10.0.0.0/8'] });
    expect([custom.targetPort, custom.listenPort]).toEqual([6432, 5432]);
  });

  test('IPv6 CIDRs are allowed in the policy', () => {
    const gw = testGateway();
    gw.addManagedDbRoute('x', { host: 'd.example.com', port: 5432, cidrs: ['fd00:20::/64'] });
    expect(findObject(synth(gw), 'NetworkPolicy').spec.egress).toContainEqual({ to: [{ ipBlock: { cidr: 'fd00:20::/64' } }], ports: [{ protocol: 'TCP', port: 5432 }] });
  });

  test('new ManagedDbRoute(scope, ...) works like gateway.addManagedDbRoute', () => {
    const chart = testChart();
    const gw = testGateway({}, chart);
    const route = new ManagedDbRoute(chart, 'db', { gateway: gw, host: 'db.example.com', port: 3306, cidrs: ['10.20.0.0/16'] });
    expect(configData(synth(gw))['nginx.conf']).toContain(`listen ${route.address}:3306;`);
  });

  describe('validation', () => {
    test('fails if host is not a DNS name', () => {
      expect(() => testGateway().addManagedDbRoute('db', { host: 'db.example.com; evil', port: 1, cidrs: ['10.0.0.0/8'] })).toThrow(
        'test/gw/db: invalid host "db.example.com; evil": must be a DNS name: labels of a-z, 0-9 and "-", 1 to 63 characters each, separated by dots, at most 253 characters. Fix: give the database endpoint\'s DNS name');
    });
    test('fails if there is neither a port nor an engine', () => {
      expect(() => testGateway().addManagedDbRoute('db', { host: 'db.example.com', cidrs: ['10.0.0.0/8'] })).toThrow(
        'test/gw/db: invalid port undefined: a ManagedDbRoute needs a port. Fix: pass port, or engine (DatabaseEngine.POSTGRESQL, MYSQL or REDIS) for its default port');
    });
    test('fails if cidrs is empty', () => {
      expect(() => testGateway().addManagedDbRoute('db', { host: 'db.example.com', port: 1, cidrs: [] })).toThrow(
        'test/gw/db: invalid cidrs []: at least one CIDR is required: NetworkPolicies cannot name hosts. Fix: list the CIDRs where the database may live');
    });
    test('fails if a CIDR is bad', () => {
      expect(() => testGateway().addManagedDbRoute('db', { host: 'db.example.com', port: 1, cidrs: ['10.20.0.0/16', '10.1.2.3/8'] })).toThrow(
        'test/gw/db: invalid cidrs[1] "10.1.2.3/8": the address has host bits set for its prefix. Fix: did you mean "10.0.0.0/8"');
    });
    test('fails if the port is out of range', () => {
      expect(() => testGateway().addManagedDbRoute('db', { host: 'db.example.com', port: 99999, cidrs: ['10.0.0.0/8'] })).toThrow('test/gw/db: invalid port 99999: must be an integer from 1 to 65535');
    });
  });
});
