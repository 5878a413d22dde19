/**
 * Route addresses: derived from each route's name, so no route's address
 * depends on another route; collisions fail synth, naming both routes and a
 * free address. Unit tests of the pure functions, then property tests of the
 * stability the README promises, on real gateways.
 */
import * as fc from 'fast-check';
import { WireguardGateway } from '../src';
import { testGateway } from './util';
import { addressCollisions, automaticAddress } from '../src/_address-plan';
import { parseAnyCidr, parseIpv4Cidr, usableRange, checkDnsName, checkPort, ipv4ToInt, networkContains } from '../src/_net';

const net20 = parseIpv4Cidr('p', 'serviceNetwork', '10.99.0.0/20');
const net24 = parseIpv4Cidr('p', 'serviceNetwork', '10.99.0.0/24');

const SEED = Number(process.env.PROPERTY_SEED ?? 20261126);
const RUNS = Number(process.env.ADDRESS_PROPERTY_RUNS ?? 300);

describe('automaticAddress', () => {
  test('is a pure function of the name (case-insensitive) and the network', () => {
    expect(automaticAddress(net20, 'postgres')).toBe('10.99.14.119');
    expect(automaticAddress(net20, 'Postgres')).toBe('10.99.14.119');
    expect(automaticAddress(net24, 'postgres')).toBe('10.99.0.67');
  });

  test('never hands out the network or broadcast address; /31 and /32 use every address', () => {
    const net30 = parseIpv4Cidr('p', 'n', '10.99.0.0/30');
    const names = Array.from({ length: 200 }, (_, i) => `route-${i}`);
    expect(new Set(names.map((n) => automaticAddress(net30, n)))).toEqual(new Set(['10.99.0.1', '10.99.0.2']));
    expect(new Set(names.map((n) => automaticAddress(parseIpv4Cidr('p', 'n', '10.99.0.6/31'), n)))).toEqual(new Set(['10.99.0.6', '10.99.0.7']));
    expect(automaticAddress(parseIpv4Cidr('p', 'n', '10.99.0.7/32'), 'x')).toBe('10.99.0.7');
    expect(usableRange(parseIpv4Cidr('p', 'n', '10.99.0.7/32'))).toEqual({ first: 0x0a630007, last: 0x0a630007 });
  });
});

describe('addressCollisions', () => {
  const auto = (name: string, network = net24) => ({ path: `gw/${name}`, name, address: automaticAddress(network, name), explicit: false });
  const explicit = (name: string, address: string) => ({ path: `gw/${name}`, name, address, explicit: true });

  test('explicit addresses may be shared; distinct automatic addresses are fine', () => {
    expect(addressCollisions(net24, [explicit('a', '10.99.0.9'), explicit('b', '10.99.0.9'), auto('postgres'), auto('redis')])).toEqual([]);
  });

  test('an automatic address another route was given explicitly fails, suggesting a free address for the automatic one', () => {
    // GIVEN "postgres" derives 10.99.0.67, and "pinned" was given it explicitly
    const routes = [auto('postgres'), explicit('pinned', '10.99.0.67')];
    // THEN
    expect(addressCollisions(net24, routes)).toEqual([
      'gw/postgres: invalid address "10.99.0.67": it is the automatic address of this route (derived from its name), and route gw/pinned (given explicitly) has it too. '
      + 'Fix: give gw/postgres an explicit address that no route uses, for example address: "10.99.0.68"',
    ]);
  });

  test('two automatic routes on one address fail once, naming both; suggestions are free and distinct', () => {
    // GIVEN four routes forced onto one address, and the next address taken
    const same = (name: string) => ({ ...auto(name), address: '10.99.0.10' });
    const routes = [same('d'), same('b'), same('c'), explicit('x', '10.99.0.11'), same('a')];
    // WHEN
    const messages = addressCollisions(net24, routes);
    // THEN the first by name keeps it; the others each get their own free address
    expect(messages).toHaveLength(3);
    expect(messages[0]).toBe('gw/b: invalid address "10.99.0.10": it is the automatic address of this route (derived from its name), and routes '
      + 'gw/a (derived from its name), gw/c (derived from its name), gw/d (derived from its name) have it too. '
      + 'Fix: give one of them an explicit address that no route uses, for example address: "10.99.0.12" on gw/b; if peers already reach gw/b at 10.99.0.10, give it to gw/a instead');
    expect(messages.map((m) => /address: "([\d.]+)"/.exec(m)![1])).toEqual(['10.99.0.12', '10.99.0.13', '10.99.0.14']);
    // and the same input gives the same messages, in any order
    expect(addressCollisions(net24, [...routes].reverse())).toEqual(messages);
  });

  test('routes of one name in two cases are left to the name check', () => {
    expect(addressCollisions(net24, [auto('db'), auto('DB')])).toEqual([]);
  });

  test('a full network asks for a larger one', () => {
    const net31 = parseIpv4Cidr('p', 'n', '10.99.0.0/31');
    const routes = ['a', 'b', 'c'].map((n) => auto(n, net31));
    const messages = addressCollisions(net31, routes);
    expect(messages.length).toBeGreaterThan(0);
    expect(messages[messages.length - 1]).toMatch(/Fix: give the gateway a larger serviceNetwork \(10\.99\.0\.0\/31 has no free address left, 2 usable\), or let routes share an explicit address on different ports$/);
  });
});

// --- Properties, on real gateways ---------------------------------------------------

interface RouteIn { name: string; pin?: number }
interface Scenario { prefix: number; routes: RouteIn[] }

/** Route names unique case-insensitively (the gateway refuses duplicates), some with an explicit address. */
const scenario: fc.Arbitrary<Scenario> = fc.record({
  // Small networks make collisions common; the default /20 makes them rare.
  prefix: fc.constantFrom(20, 24, 26, 27, 28),
  routes: fc.uniqueArray(fc.record({
    name: fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9-]{0,11}$/),
    pin: fc.option(fc.nat({ max: 29 }), { nil: undefined, freq: 4 }),
  }), { minLength: 1, maxLength: 12, selector: (r) => r.name.toLowerCase() }),
});

/** An explicit address inside the network (10.99.0.0/prefix, prefix >= 20). */
function pinned(prefix: number, pin: number | undefined): string | undefined {
  return pin === undefined ? undefined : `10.99.0.${1 + (pin % Math.min(30, 2 ** (32 - prefix) - 2))}`;
}

function build(prefix: number, routes: RouteIn[]): WireguardGateway {
  const gw = testGateway({ serviceNetwork: `10.99.0.0/${prefix}` });
  routes.forEach((r, i) => gw.addProxiedService(r.name, { serviceName: 'svc', port: 5000 + i, address: pinned(prefix, r.pin) }));
  return gw;
}

const errorsOf = (gw: WireguardGateway) => gw.node.findAll().flatMap((c) => c.node.validate());
const addresses = (gw: WireguardGateway) => new Map(gw.routes.map((r) => [r.node.id, r.address]));

describe('address stability (property tests)', () => {
  test(`adding, removing or reordering routes never moves another route's address (${RUNS} runs)`, () => {
    fc.assert(fc.property(scenario, fc.array(fc.nat()), fc.array(fc.boolean()), (s, order, keep) => {
      // GIVEN one gateway with every route, and another with a reordered subset of them
      const all = addresses(build(s.prefix, s.routes));
      const shuffled = [...s.routes].map((r, i) => ({ r, k: order[i] ?? i })).sort((a, b) => a.k - b.k).map((x) => x.r);
      const subset = shuffled.filter((_, i) => keep[i] ?? true);
      fc.pre(subset.length > 0);
      // THEN every route the two share has one address in both
      for (const [name, address] of addresses(build(s.prefix, subset))) {
        if (all.get(name) !== address) throw new Error(`${name}: ${all.get(name)} with every route, ${address} with ${subset.length}`);
      }
    }), { seed: SEED, numRuns: RUNS });
  });

  test(`route.address never changes once read, whatever is added later (${RUNS} runs)`, () => {
    fc.assert(fc.property(scenario, (s) => {
      const gw = testGateway({ serviceNetwork: `10.99.0.0/${s.prefix}` });
      const read: Array<[WireguardGateway['routes'][number], string]> = [];
      s.routes.forEach((r, i) => {
        const route = gw.addProxiedService(r.name, { serviceName: 'svc', port: 5000 + i, address: pinned(s.prefix, r.pin) });
        read.push([route, route.address]);
        errorsOf(gw); // a synth-time check in between changes nothing either
      });
      for (const [route, address] of read) {
        if (route.address !== address) throw new Error(`${route.node.id} moved from ${address} to ${route.address}`);
      }
    }), { seed: SEED, numRuns: RUNS });
  });

  test(`no automatic address is ever shared silently: synth fails naming both routes, and the suggested address resolves it (${RUNS} runs)`, () => {
    const stats = { collisions: 0, clean: 0 };
    fc.assert(fc.property(scenario, (s) => {
      // GIVEN
      const gw = build(s.prefix, s.routes);
      const network = parseIpv4Cidr('p', 'n', gw.serviceNetwork);
      // WHEN
      const errors = errorsOf(gw).filter((m) => m.includes(': invalid address "'));
      // THEN every address held by an automatic route and any other route is reported, naming both
      const routes = gw.routes;
      for (const r of routes.filter((x) => !x._explicitAddress)) {
        if (!networkContains(network, ipv4ToInt(r.address))) throw new Error(`${r.address} is outside ${gw.serviceNetwork}`);
        for (const other of routes.filter((x) => x !== r && x.address === r.address)) {
          if (!errors.some((m) => m.includes(r.node.path) && m.includes(other.node.path))) {
            throw new Error(`${r.node.path} and ${other.node.path} share ${r.address} silently: ${JSON.stringify(errors)}`);
          }
        }
      }
      if (errors.length === 0) {
        stats.clean++;
        return;
      }
      stats.collisions++;
      // and giving each reported route the address suggested for it resolves every collision
      const pins = new Map(errors.map((m) => [/^test\/gw\/([^:]+):/.exec(m)![1], /address: "([\d.]+)"/.exec(m)]));
      if ([...pins.values()].some((m) => m === null)) return; // the network is full: the message asks for a larger one
      const fixed = testGateway({ serviceNetwork: gw.serviceNetwork });
      s.routes.forEach((r, i) => {
        const m = pins.get(r.name);
        const address = m ? m[1] : pinned(s.prefix, r.pin);
        fixed.addProxiedService(r.name, { serviceName: 'svc', port: 5000 + i, address });
      });
      const left = errorsOf(fixed).filter((m) => m.includes(': invalid address "'));
      if (left.length > 0) throw new Error(`after the suggested fixes: ${JSON.stringify(left)}`);
      // suggestions are deterministic
      if (JSON.stringify(errorsOf(build(s.prefix, s.routes)).filter((m) => m.includes(': invalid address "'))) !== JSON.stringify(errors)) {
        throw new Error('the same routes gave different messages');
      }
    }), { seed: SEED, numRuns: RUNS });
    // Neither side is vacuous.
    expect(stats.collisions).toBeGreaterThan(RUNS * 0.1);
    expect(stats.clean).toBeGreaterThan(RUNS * 0.1);
  });
});

describe('address and name checks', () => {
  test('fails if a CIDR has no prefix, suggesting /32', () => {
    expect(() => parseIpv4Cidr('app/gw', 'serviceNetwork', '10.0.0.1')).toThrow('app/gw: invalid serviceNetwork "10.0.0.1": an IPv4 CIDR needs a /prefix. Fix: did you mean "10.0.0.1/32"');
  });
  test('fails if a CIDR is malformed', () => {
    expect(() => parseIpv4Cidr('app/gw', 'serviceNetwork', '10.0.0.300/24')).toThrow('must be an IPv4 CIDR "a.b.c.d/n" with n from 0 to 32');
    expect(() => parseIpv4Cidr('app/gw', 'serviceNetwork', '10.0.0.0/33')).toThrow('must be an IPv4 CIDR');
  });
  test('accepts IPv6 CIDRs for egress, rejecting host bits', () => {
    expect(parseAnyCidr('p', 'cidrs[0]', 'fd00:10::/64')).toBe('fd00:10::/64');
    expect(() => parseAnyCidr('p', 'cidrs[0]', 'fd00:10::1/64')).toThrow('p: invalid cidrs[0] "fd00:10::1/64": the address has host bits set for its prefix. Fix: did you mean "fd00:10::/64"');
    expect(() => parseAnyCidr('p', 'cidrs[0]', 'fd00::zz/64')).toThrow('must be an IPv4 or IPv6 CIDR');
  });
  test('ports are integers from 1 to 65535', () => {
    expect(checkPort('p', 'port', 1, 'x')).toBe(1);
    for (const bad of [0, 65536, 1.5, NaN, -1]) expect(() => checkPort('p', 'port', bad, 'fix it')).toThrow('must be an integer from 1 to 65535. Fix: fix it');
  });
  test('DNS names are RFC 1123 labels, case-folded, trailing dot dropped', () => {
    expect(checkDnsName('p', 'host', 'MyDB.Example.COM.', 'x')).toBe('mydb.example.com');
    for (const bad of ['', 'a..b', '-a.com', 'a_b.com', 'a b.com', 'a;b', 'ä.com', `${'a'.repeat(64)}.com`, 'host:5432']) {
      expect(() => checkDnsName('p', 'host', bad, 'fix')).toThrow('must be a DNS name');
    }
  });
});
