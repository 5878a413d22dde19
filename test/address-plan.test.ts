import { planAddresses } from '../src/_address-plan';
import { parseAnyCidr, parseIpv4Cidr, usableRange, checkDnsName, checkPort } from '../src/_net';

const net24 = parseIpv4Cidr('p', 'serviceNetwork', '10.99.0.0/24');

describe('planAddresses', () => {
  test('hands out the next free address in request order, skipping the network address', () => {
    const plan = planAddresses(net24, [{ path: 'a' }, { path: 'b' }, { path: 'c' }]);
    expect(plan).toEqual({ addresses: ['10.99.0.1', '10.99.0.2', '10.99.0.3'], errors: [] });
  });

  test('keeps explicit addresses and never hands them out again, wherever they appear', () => {
    const plan = planAddresses(net24, [{ path: 'a' }, { path: 'b', address: '10.99.0.1' }, { path: 'c' }, { path: 'd', address: '10.99.0.1' }]);
    expect(plan.addresses).toEqual(['10.99.0.2', '10.99.0.1', '10.99.0.3', '10.99.0.1']);
  });

  test('is deterministic', () => {
    const reqs = Array.from({ length: 50 }, (_, i) => ({ path: `r${i}`, address: i % 7 === 0 ? `10.99.0.${200 - i}` : undefined }));
    expect(planAddresses(net24, reqs)).toEqual(planAddresses(net24, reqs));
  });

  test('reports every request that finds the network exhausted', () => {
    const net30 = parseIpv4Cidr('p', 'serviceNetwork', '10.99.0.0/30');
    const plan = planAddresses(net30, [{ path: 'a' }, { path: 'b' }, { path: 'c' }, { path: 'd' }]);
    expect(plan.addresses.slice(0, 2)).toEqual(['10.99.0.1', '10.99.0.2']);
    expect(plan.errors).toHaveLength(2);
    expect(plan.errors[0]).toBe('c: invalid address undefined: the service network 10.99.0.0/30 has no free address left (2 usable, all taken). Fix: give the gateway a larger serviceNetwork, or let routes share an address with an explicit "address" on different ports');
  });

  test('a /32 network holds exactly one address; /31 two', () => {
    expect(usableRange(parseIpv4Cidr('p', 'n', '10.99.0.7/32'))).toEqual({ first: 0x0a630007, last: 0x0a630007 });
    expect(planAddresses(parseIpv4Cidr('p', 'n', '10.99.0.6/31'), [{ path: 'a' }, { path: 'b' }]).addresses).toEqual(['10.99.0.6', '10.99.0.7']);
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
