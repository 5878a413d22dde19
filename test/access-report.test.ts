/**
 * `access-report`: the model (src/_cli/access-report.ts), each format
 * (src/_cli/access-render.ts; the CSV parsed back by csv-parse), and the
 * command on the fixture app (test/fixtures/cli/app.ts, CLI_FIXTURE=access).
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { FIXTURE_APP, ROOT, cli, inProcess } from './cli-util';
import { PEER_KEYS, testGateway } from './util';
import { RouteAccess } from '../src';
import { AccessReportFormat, CSV_COLUMNS, csvField, markdownCell, renderAccessReport, terminalText } from '../src/_cli/access-render';
import { ACCESS_REPORT_VERSION, AccessReport, Via, accessReport, fingerprint } from '../src/_cli/access-report';
import { CliIo } from '../src/_cli/command';
import { runCli } from '../src/_cli/dispatch';
import { GatewayInfo, readGateway } from '../src/_cli/gateways';
import { PeerState, parseRfc3339 } from '../src/_peer-access';

const AT = '2026-12-31T00:00:00Z';
const at = (iso: string) => parseRfc3339(iso)!;
const HOSTILE = '=cmd|"x",\x1b[31mred';

/** A gateway as the CLI reads it: closed routes, two groups, an expiry, a disabled peer, one without routes, a hostile name. */
function gatewayInfo(): GatewayInfo {
  const gw = testGateway({ endpoint: 'vpn.example.com', routeAccess: RouteAccess.CLOSED });
  const zoe = gw.addPeer('zoe', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
  const contractor = gw.addPeer('contractor', { publicKey: PEER_KEYS[1], address: '10.98.0.3', expires: new Date('2027-01-01T00:00:00Z') });
  const hostile = gw.addPeer(HOSTILE, { publicKey: PEER_KEYS[2], address: '10.98.0.6', enabled: false });
  gw.addPeer('idle', { publicKey: 'qQieeCjdPunX+qQ9MeMiZRdvQ4xkZvwnwlF/rppWy1I=', address: '10.98.0.5' });
  const dba = gw.addPeerGroup('dba', { peers: [zoe] });
  gw.addManagedDbRoute('orders-db', { host: 'orders.example.internal', port: 5432, cidrs: ['10.20.0.0/16'], address: '10.99.0.2', allowPeers: [dba, contractor, zoe] });
  gw.addProxiedService('grafana', { serviceName: 'grafana', serviceNamespace: 'monitoring', port: 3000, address: '10.99.0.1', allowPeers: [zoe, hostile] });
  return readGateway(gw.connectionInfo(), 'test');
}

function report(iso = AT): AccessReport {
  return accessReport([gatewayInfo()], at(iso));
}

describe('the model', () => {
  test('every peer, each route it may use, sorted by peer then route; a peer without routes is there too', () => {
    const r = report();
    expect(r.version).toBe(ACCESS_REPORT_VERSION);
    expect(r.at).toBe(AT);
    expect(r.gateways[0].peers.map((p) => [p.name, p.routes.map((x) => `${x.name} ${x.via} ${x.viaGroups.join(',')}`)])).toEqual([
      [HOSTILE, ['grafana peer ']],
      ['contractor', ['orders-db peer ']],
      ['idle', []],
      ['zoe', ['grafana peer ', 'orders-db group dba']],
    ]);
  });

  test('the state at the report\'s time: expired from the expiry\'s second, disabled whatever the time', () => {
    const states = (iso: string) => report(iso).gateways[0].peers.map((p) => `${p.name === HOSTILE ? 'hostile' : p.name}=${p.state}`);
    expect(states('2026-12-31T23:59:59Z')).toEqual(['hostile=disabled', 'contractor=enabled', 'idle=enabled', 'zoe=enabled']);
    expect(states('2027-01-01T00:00:00Z')).toEqual(['hostile=disabled', 'contractor=expired', 'idle=enabled', 'zoe=enabled']);
  });

  test('the fingerprint is the public key\'s first 10 characters; the peer keeps its address, groups and expiry', () => {
    const zoe = report().gateways[0].peers.find((p) => p.name === 'zoe')!;
    expect(zoe).toMatchObject({ address: '10.98.0.2', publicKey: PEER_KEYS[0], fingerprint: 'bTiyvrUQaH', groups: ['dba'], expires: null, enabled: true, state: PeerState.ENABLED });
    expect(fingerprint(PEER_KEYS[1])).toBe('EB5xHzgfEu');
  });

  test('an open route is open to every peer (Via.OPEN)', () => {
    const gw = testGateway();
    gw.addPeer('a', { publicKey: PEER_KEYS[0], address: '10.98.0.2' });
    gw.addProxiedService('pg', { serviceName: 'pg', port: 5432 });
    const r = accessReport([readGateway(gw.connectionInfo(), 'test')], at(AT));
    expect(r.gateways[0].peers[0].routes.map((x) => x.via)).toEqual([Via.OPEN]);
  });

  test('gateways in path order, whatever order they come in', () => {
    const g = gatewayInfo();
    const r = accessReport([{ ...g, gateway: 'z/gw' }, { ...g, gateway: 'a/gw' }], at(AT));
    expect(r.gateways.map((x) => x.gateway)).toEqual(['a/gw', 'z/gw']);
  });
});

describe('formats', () => {
  test('table: a header with the time, a title and aligned columns per gateway; names cannot send terminal sequences', () => {
    const text = renderAccessReport(report(), AccessReportFormat.TABLE);
    const lines = text.split('\n');
    expect(lines.slice(0, 5)).toEqual([
      `Access report as of ${AT}: 1 gateway(s), 4 peer(s).`,
      `States are as of that time; --at ${AT} gives this report again.`,
      '',
      'Gateway test/gw (vpn.example.com:51820): 4 peer(s)',
      'PEER                    ADDRESS    KEY         GROUPS  EXPIRES               STATE     ROUTE       LISTEN          TARGET                                     VIA',
    ]);
    expect(lines[5]).toBe('=cmd|"x",\\u{1b}[31mred  10.98.0.6  HIgo9xNzJM  -       never                 disabled  grafana     10.99.0.1:3000  grafana.monitoring.svc.cluster.local:3000  peer');
    expect(lines[7]).toBe('idle                    10.98.0.5  qQieeCjdPu  -       never                 enabled   (no route)  -               -                                          -');
    expect(lines[9]).toMatch(/^zoe +10\.98\.0\.2 +bTiyvrUQaH +dba +never +enabled +orders-db +10\.99\.0\.2:5432 +orders\.example\.internal:5432 +group dba$/);
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/); // eslint-disable-line no-control-regex
    expect(terminalText('a\u202eb\u0085c')).toBe('a\\u{202e}b\\u{85}c');
  });

  test('markdown: a heading per gateway, one table row per line; names are escaped into one cell', () => {
    const text = renderAccessReport(report(), AccessReportFormat.MARKDOWN);
    expect(text.startsWith(`# Access report\n\nAccess report as of ${AT}: 1 gateway(s), 4 peer(s).\n`)).toBe(true);
    expect(text).toContain('\n## Gateway test/gw (vpn.example.com:51820): 4 peer(s)\n\n| Peer | Address | Key | Groups | Expires | State | Route | Listen | Target | Via |\n|---|---|---|---|---|---|---|---|---|---|\n');
    const rows = text.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Peer'));
    expect(rows).toHaveLength(5);
    // Every row has exactly 10 cells: no name adds a column.
    for (const row of rows) expect(row.replace(/\\\|/g, '').split('|').length - 2).toBe(10);
    expect(rows[0].startsWith('| =cmd\\|"x",\\\\u{1b}\\[31mred | 10.98.0.6 |')).toBe(true);
    expect(markdownCell('a_b*c`d<e>')).toBe('a\\_b\\*c\\`d\\<e\\>');
  });

  test('json: versioned, and exactly the model', () => {
    const r = report();
    const text = renderAccessReport(r, AccessReportFormat.JSON);
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(r)));
    expect(JSON.parse(text).gateways[0].peers[3].routes[1]).toEqual({
      name: 'orders-db', kind: 'ManagedDbRoute', address: '10.99.0.2', port: 5432, target: 'orders.example.internal:5432', via: 'group', viaGroups: ['dba'],
    });
  });

  test('csv: RFC 4180 that a CSV library parses back to every row and value, hostile names included', () => {
    const text = renderAccessReport(report(), AccessReportFormat.CSV);
    expect(text.endsWith('\r\n')).toBe(true);
    const rows: Array<Record<string, string>> = parseCsv(text, { columns: true, skip_empty_lines: true });
    expect(Object.keys(rows[0])).toEqual([...CSV_COLUMNS]);
    expect(rows.map((r) => `${r.peer} ${r.route} ${r.state}`)).toEqual([
      `'${HOSTILE} grafana disabled`, 'contractor orders-db enabled', 'idle  enabled', 'zoe grafana enabled', 'zoe orders-db enabled',
    ]);
    expect(rows[4]).toEqual({
      at: AT,
      gateway: 'test/gw',
      peer: 'zoe',
      address: '10.98.0.2',
      public_key: PEER_KEYS[0],
      fingerprint: 'bTiyvrUQaH',
      groups: '["dba"]',
      expires: '',
      enabled: 'true',
      state: 'enabled',
      route: 'orders-db',
      kind: 'ManagedDbRoute',
      listen_address: '10.99.0.2',
      listen_port: '5432',
      target: 'orders.example.internal:5432',
      via: 'group',
      via_groups: '["dba"]',
    });
    expect(rows[1].expires).toBe('2027-01-01T00:00:00Z');
    expect(JSON.parse(rows[3].groups)).toEqual(['dba']);
  });

  test('csvField: quotes what needs it, and defuses what a spreadsheet would run', () => {
    expect(['plain', 'a,b', 'say "hi"', 'two\nlines', '=1+1', '+1', '-1', '@sum', '\tx'].map(csvField))
      .toEqual(['plain', '"a,b"', '"say ""hi"""', '"two\nlines"', '\'=1+1', '\'+1', '\'-1', '\'@sum', '\'\tx']);
    expect(parseCsv(['"a,b"', csvField('x"y,z'), csvField('=HYPERLINK("http://x")')].join(',') + '\r\n')).toEqual([['a,b', 'x"y,z', '\'=HYPERLINK("http://x")']]);
  });
});

describe('the command', () => {
  const env = { CLI_FIXTURE: 'access' };

  test('on an app: the table by default; the same --at gives the same bytes', () => {
    const first = cli(['access-report', '--app', FIXTURE_APP, '--at', AT], { env });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Gateway dev/gw (no endpoint): 1 peer(s)');
    expect(first.stdout).toContain('Gateway prod/gw (vpn.example.com:51820): 5 peer(s)');
    expect(first.stdout).toMatch(/\ncontractor +10\.98\.0\.3 +EB5xHzgfEu +- +2027-01-01T00:00:00Z +enabled +orders-db /);
    const again = cli(['access-report', `--app=${FIXTURE_APP}`, '--at=2027-01-01T01:00:00+01:00', '--format', 'table'], { env });
    expect(again.stdout).toBe(first.stdout.split(AT).join('2027-01-01T00:00:00Z').replace(/(contractor .*)enabled /, '$1expired '));
  });

  test('without --at, the time it runs, printed so that --at reproduces it', () => {
    const io: CliIo = { readStdin: () => '', env: { ...process.env, ...env, TS_NODE_PROJECT: `${ROOT}/test/tsconfig.json`, TS_NODE_TRANSPILE_ONLY: 'true' }, cwd: ROOT, now: () => Date.parse('2027-06-01T12:00:00.750Z') };
    const r = runCli(['access-report', '--app', FIXTURE_APP, '--format', 'csv'], io);
    expect(r.code).toBe(0);
    const rows: Array<Record<string, string>> = parseCsv(r.stdout, { columns: true });
    expect(new Set(rows.map((x) => x.at))).toEqual(new Set(['2027-06-01T12:00:00Z']));
    expect(rows.find((x) => x.peer === 'contractor')!.state).toBe('expired');
  });

  test('--help describes the formats, the fingerprint and --at', () => {
    const r = inProcess(['access-report', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: cdk8s-wireguard-gateway access-report --app "<command>" \[--format table\|csv\|json\|markdown\] \[--at <time>\]/);
    expect(r.stdout).toContain('the first 10 characters of its\npublic key');
    expect(inProcess(['--help']).stdout).toContain('  access-report ');
  });

  test.each([
    ['--app is missing', ['access-report'], 'access-report: missing --app: give the command that synthesizes your cdk8s app, e.g. --app "npx ts-node main.ts" (the "app" line of cdk8s.yaml)'],
    ['--format is unknown', ['access-report', '--app', 'true', '--format', 'xlsx'], 'access-report: invalid --format "xlsx": use table, csv, json, markdown'],
    ['--at is no RFC 3339 time', ['access-report', '--app', 'true', '--at', '2027-01-01'], 'access-report: invalid --at "2027-01-01": give an RFC 3339 time such as 2027-01-01T00:00:00Z'],
  ])('fails if %s (exit 2, before running the app)', (_name, args, message) => {
    const r = inProcess(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`cdk8s-wireguard-gateway: ${message}. Run "cdk8s-wireguard-gateway access-report --help" for usage.\n`);
  });

  test('fails if the app has no gateway, naming the command', () => {
    const r = inProcess(['access-report', '--app', 'node -e "require(\'fs\').writeFileSync(process.env.CDK8S_OUTDIR + \'/a.k8s.yaml\', \'kind: ConfigMap\\n\')"', '--at', AT]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^cdk8s-wireguard-gateway: access-report: no WireguardGateway found in the app's manifests/);
  });
});
