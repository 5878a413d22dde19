/**
 * The cdk8s-wireguard-gateway command, system tier: what needs the real `wg`
 * and `wg-quick`. Keys agree with `wg genkey` and `wg pubkey`; client files
 * pass `wg-quick strip` and `wg setconf`. Everything else about the command
 * is in cli.test.ts (unit tier).
 */
import { execFileSync, spawnSync } from 'child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { EXAMPLE_APP, EXAMPLE_DIR, FIXTURE_APP, SERVER_PUBLIC_KEY, cli, inProcess, keygenKeys, NOT_KEYS, tempDir } from './cli-util';
import { DEV_PEER_PRIVATE_KEYS } from '../examples/postgres-redis-rds/dev-keys';
// Synthesized charts get the schema, posture and nginx -t checks (test/posture.ts).
import './posture';

const wg = (args: string[], input?: string) => execFileSync('wg', args, { input, encoding: 'utf-8', stdio: 'pipe' }).trim();

/**
 * Checks a complete client file with the real tools: `wg-quick strip` must
 * accept it, and `wg setconf` must parse what it strips to. With no such
 * device, wg parses the whole file (keys, endpoint, allowed IPs) first and
 * only then fails to reach the device: "Configuration parsing error" means
 * the file is bad, "Unable to modify interface" means it parsed.
 */
function checkWithWg(file: string): string {
  const stripped = execFileSync('wg-quick', ['strip', file], { encoding: 'utf-8', stdio: 'pipe' });
  const strippedFile = `${file}.stripped`;
  writeFileSync(strippedFile, stripped, { mode: 0o600 });
  const r = spawnSync('wg', ['setconf', 'wggw-no-such0', strippedFile], { encoding: 'utf-8' });
  expect(r.stderr).not.toContain('parsing error');
  expect(r.stderr).toContain('Unable to modify interface');
  return stripped;
}

describe('keygen', () => {
  test('the real wg pubkey agrees with the printed key pair', () => {
    const r = cli(['keygen']);
    expect(r.code).toBe(0);
    const { privateKey, publicKey } = keygenKeys(r.stdout);
    expect(wg(['pubkey'], privateKey + '\n')).toBe(publicKey);
  });

  test('the real wg pubkey agrees with the --key-file key and the printed public key', () => {
    const dir = tempDir();
    try {
      const r = cli(['keygen', '--key-file', 'my server.key'], { cwd: dir });
      expect(r.code).toBe(0);
      const { publicKey } = keygenKeys(r.stdout);
      expect(wg(['pubkey'], readFileSync(join(dir, 'my server.key'), 'utf-8'))).toBe(publicKey);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pubkey', () => {
  test('as a process, agrees with the real wg pubkey', () => {
    const privateKey = wg(['genkey']);
    const r = cli(['pubkey'], { input: privateKey + '\n' });
    expect(r).toEqual({ stdout: wg(['pubkey'], privateKey + '\n') + '\n', stderr: '', code: 0 });
  });

  test('agrees with the real wg pubkey on 200 keys from wg genkey', () => {
    for (let i = 0; i < 200; i++) {
      const privateKey = wg(['genkey']);
      expect(inProcess(['pubkey'], { stdin: privateKey + '\n' })).toEqual({ stdout: wg(['pubkey'], privateKey) + '\n', stderr: '', code: 0 });
    }
  });

  test('agrees with the real wg pubkey on 50 unclamped random keys', () => {
    for (let i = 0; i < 50; i++) {
      const privateKey = Buffer.from(Array.from({ length: 32 }, () => Math.floor(Math.random() * 256))).toString('base64');
      expect(inProcess(['pubkey'], { stdin: privateKey }).stdout).toBe(wg(['pubkey'], privateKey) + '\n');
    }
  });

  test.each(NOT_KEYS)('rejects %s, as the real wg pubkey does', (_name, input) => {
    expect(inProcess(['pubkey'], { stdin: input + '\n' }).code).toBe(1);
    const r = spawnSync('wg', ['pubkey'], { input: input + '\n', encoding: 'utf-8' });
    // It ran (a missing wg is no rejection) and refused the key.
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^wg: (Key is not the correct length or format|Trailing characters found after key)\n$/);
  });
});

describe('client-config with the example app', () => {
  let dir: string;

  beforeAll(() => {
    dir = tempDir();
    const r = inProcess(['client-config', '--app', EXAMPLE_APP, '--out', join(dir, 'peers')], { cwd: EXAMPLE_DIR });
    expect(r.code).toBe(0);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('wg-quick strip accepts each file once the placeholder is replaced by the real key', () => {
    for (const name of ['laptop', 'ci-runner']) {
      const file = join(dir, 'peers', `${name}.conf`);
      const filled = join(dir, `${name}.conf`);
      writeFileSync(filled, readFileSync(file, 'utf-8').replace(/^PrivateKey = .*$/m, `PrivateKey = ${DEV_PEER_PRIVATE_KEYS[name]}`), { mode: 0o600 });
      const stripped = execFileSync('wg-quick', ['strip', filled], { encoding: 'utf-8', stdio: 'pipe' });
      expect(stripped).toContain(`PrivateKey = ${DEV_PEER_PRIVATE_KEYS[name]}\n`);
      expect(stripped).toContain(`PublicKey = ${SERVER_PUBLIC_KEY}\n`);
      expect(stripped).not.toContain('MTU');
      expect(stripped).not.toContain('Address');
    }
  });
});

describe('client-config with the fixture app (two gateways, a preshared key)', () => {
  let dir: string;

  beforeAll(() => {
    dir = tempDir();
    // GIVEN the laptop's private key in --private-key-dir, not the phone's
    const keys = join(dir, 'keys');
    mkdirSync(join(keys, 'alpha-gw'), { recursive: true });
    writeFileSync(join(keys, 'alpha-gw', 'laptop.key'), DEV_PEER_PRIVATE_KEYS.laptop + '\n', { mode: 0o600 });
    const r = inProcess(['client-config', `--app=${FIXTURE_APP}`, '--out', join(dir, 'out'), '--private-key-dir', keys]);
    expect(r.code).toBe(0);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the real wg parses the file with the private key filled in from --private-key-dir', () => {
    expect(checkWithWg(join(dir, 'out', 'alpha-gw', 'laptop.conf'))).toContain('Endpoint = 192.0.2.10:51821');
  });

  test('the real wg parses the file of a peer without a key file once its placeholders are replaced', () => {
    const conf = readFileSync(join(dir, 'out', 'alpha-gw', 'Alice_s_phone__work_.conf'), 'utf-8');
    // wg-quick wants a short interface name: copy it to one
    const filled = join(dir, 'phone.conf');
    const psk = execFileSync('wg', ['genpsk'], { encoding: 'utf-8' }).trim();
    writeFileSync(filled, conf
      .replace(/^PrivateKey = .*$/m, `PrivateKey = ${DEV_PEER_PRIVATE_KEYS['ci-runner']}`)
      .replace(/^PresharedKey = .*$/m, `PresharedKey = ${psk}`), { mode: 0o600 });
    checkWithWg(filled);
  });
});
