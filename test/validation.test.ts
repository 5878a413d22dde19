/**
 * The validation matrix (docs/validation.md): one `fails if ...` test per class
 * of bad input, asserting its exact message; whole-app problems reported all
 * together; and the document and the tests agreeing, message for message.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { PEER_KEYS, TEST_SERVER_PRIVATE_KEY, TEST_SERVER_PUBLIC_KEY, synth, testGateway } from './util';
import { CASES, ValidationCase } from './validation-cases';

const DOC = join(__dirname, '..', 'docs', 'validation.md');
const AGGREGATE = 'Validation failed with the following errors:\n  ';

/** The message `run` throws. Fails the test when it does not throw. */
function thrown(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error, but nothing was thrown');
}

/** The message shape: `<path>: invalid <prop> <value>: <allowed>. Fix: <fix>` (or a whole-gateway sentence). */
const SHAPE = /^(\[[^\]]+\] )?test\/[^\s:]+: (invalid [^:]+ .+: .+|the .+)\. Fix: .+$/s;

describe('validation matrix', () => {
  test.each(CASES.map((c) => [`${c.title} (${c.id})`, c] as [string, ValidationCase]))('fails if %s', (_title, c) => {
    // WHEN
    const message = thrown(c.run);
    // THEN
    if (c.when === 'construct') {
      expect(message).toBe(c.message);
    } else {
      expect(message.startsWith(AGGREGATE)).toBe(true);
      expect(message.slice(AGGREGATE.length).split('\n  ')).toContain(c.message);
    }
    expect(c.message).toMatch(SHAPE);
    // A message never echoes a private key.
    expect(message).not.toContain(TEST_SERVER_PRIVATE_KEY);
  });

  test('case ids are unique and there are at least 25 classes', () => {
    expect(new Set(CASES.map((c) => c.id)).size).toBe(CASES.length);
    expect(CASES.length).toBeGreaterThanOrEqual(25);
  });

  test('fails with every whole-app problem at once, each with its construct path', () => {
    // GIVEN a gateway with five independent whole-app problems
    const gw = testGateway();
    gw.addProxiedService('a', { serviceName: 'a', port: 5432, address: '10.99.0.9' });
    gw.addProxiedService('b', { serviceName: 'b', port: 5432, address: '10.99.0.9' });
    gw.addManagedDbRoute('A', { host: 'db.example.com', port: 3306, cidrs: ['10.20.0.0/16'] });
    gw.addPeer('p1', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
    gw.addPeer('p2', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
    gw.addPeer('p3', { publicKey: TEST_SERVER_PUBLIC_KEY, address: '10.98.0.4' });
    // WHEN
    const message = thrown(() => synth(gw));
    // THEN one report lists them all
    expect(message.startsWith(AGGREGATE)).toBe(true);
    const lines = message.slice(AGGREGATE.length).split('\n  ');
    expect(lines).toEqual([
      '[test/gw] test/gw/b: invalid listenPort 5432: 10.99.0.9:5432 is already used by test/gw/a. Fix: give one of them another listenPort, or another address',
      '[test/gw] test/gw/A: invalid route name "A": route test/gw/a has the same name (names are case-insensitive). Fix: give every route of the gateway its own id',
      '[test/gw] test/gw/p2: invalid address "10.98.0.2": it is already the address of peer test/gw/p1. Fix: give every peer its own tunnel address',
      `[test/gw] test/gw/p2: invalid publicKey "${PEER_KEYS[0]}": it is already the key of peer test/gw/p1. Fix: every peer needs its own key pair (wg genkey)`,
      `[test/gw] test/gw/p3: invalid publicKey "${TEST_SERVER_PUBLIC_KEY}": it is the gateway's own public key. Fix: give the peer its own key pair (wg genkey)`,
    ]);
  });
});

describe('docs/validation.md', () => {
  /** Rows of the matrix: | id | class | message |. */
  function documented(): Array<{ id: string; title: string; message: string }> {
    return readFileSync(DOC, 'utf-8').split('\n')
      .map((l) => /^\| (V\d+) \| (.+?) \| `(.+)` \|$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ id: m[1], title: m[2], message: m[3] }));
  }

  test('lists at least 25 classes', () => {
    expect(documented().length).toBeGreaterThanOrEqual(25);
  });

  test('every documented message has a test asserting exactly that message, and every test is documented', () => {
    const doc = documented();
    const byId = new Map(CASES.map((c) => [c.id, c]));
    for (const row of doc) {
      const c = byId.get(row.id);
      expect({ id: row.id, tested: c !== undefined }).toEqual({ id: row.id, tested: true });
      expect({ id: row.id, message: row.message }).toEqual({ id: row.id, message: c!.message });
      expect({ id: row.id, title: row.title }).toEqual({ id: row.id, title: c!.title });
    }
    expect(doc.map((r) => r.id).sort()).toEqual(CASES.map((c) => c.id).sort());
  });
});
