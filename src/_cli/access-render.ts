/**
 * access-report's formats, as pure functions of an AccessReport: a terminal
 * table (the default), CSV (RFC 4180), JSON and Markdown. One row per peer
 * and route it may use, and one row for a peer that may use none. Names are
 * user input: each format quotes or escapes them, so that a name can never
 * add a row, a column, a cell, a terminal control sequence or a formula.
 */
import { AccessReport, ReportGateway, ReportPeer, ReportRoute, Via } from './access-report';

/** The formats, by their --format name. */
export enum AccessReportFormat {
  TABLE = 'table',
  CSV = 'csv',
  JSON = 'json',
  MARKDOWN = 'markdown',
}

/** The report in a format. */
export function renderAccessReport(report: AccessReport, format: AccessReportFormat): string {
  switch (format) {
    case AccessReportFormat.TABLE: return renderTable(report);
    case AccessReportFormat.CSV: return renderCsv(report);
    case AccessReportFormat.JSON: return JSON.stringify(report, null, 2) + '\n';
    case AccessReportFormat.MARKDOWN: return renderMarkdown(report);
  }
}

/** One line of a table: a peer and one route it may use (or none). */
interface Row {
  readonly peer: ReportPeer;
  readonly route?: ReportRoute;
}

function rows(g: ReportGateway): Row[] {
  return g.peers.flatMap((peer) => (peer.routes.length === 0 ? [{ peer }] : peer.routes.map((route) => ({ peer, route }))));
}

function viaText(route: ReportRoute | undefined): string {
  if (route === undefined) return '';
  return route.via === Via.GROUP ? `group ${route.viaGroups.join(', ')}` : route.via;
}

/** The columns the table and Markdown show, and how each is read from a row. */
const COLUMNS: ReadonlyArray<readonly [string, (r: Row) => string]> = [
  ['PEER', (r) => r.peer.name],
  ['ADDRESS', (r) => r.peer.address],
  ['KEY', (r) => r.peer.fingerprint],
  ['GROUPS', (r) => r.peer.groups.join(', ')],
  ['EXPIRES', (r) => r.peer.expires ?? 'never'],
  ['STATE', (r) => r.peer.state],
  ['ROUTE', (r) => r.route?.name ?? '(no route)'],
  ['LISTEN', (r) => (r.route === undefined ? '' : `${r.route.address}:${r.route.port}`)],
  ['TARGET', (r) => r.route?.target ?? ''],
  ['VIA', (r) => viaText(r.route)],
];

/**
 * Text for a terminal: control characters (C0, DEL, C1), line and paragraph
 * separators and bidirectional overrides become `\u{...}`-style escapes, so a
 * name cannot move the cursor, colour the screen or reorder what is shown.
 */
export function terminalText(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, // eslint-disable-line no-control-regex
    (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}

function header(report: AccessReport): string[] {
  const peers = report.gateways.reduce((n, g) => n + g.peers.length, 0);
  return [
    `Access report as of ${report.at}: ${report.gateways.length} gateway(s), ${peers} peer(s).`,
    `States are as of that time; --at ${report.at} gives this report again.`,
  ];
}

function gatewayTitle(g: ReportGateway): string {
  const endpoint = g.endpoint === null ? 'no endpoint' : `${g.endpoint}:${g.listenPort}`;
  return `Gateway ${g.gateway} (${endpoint}): ${g.peers.length} peer(s)`;
}

function renderTable(report: AccessReport): string {
  const out = header(report);
  for (const g of report.gateways) {
    const cells = rows(g).map((r) => COLUMNS.map(([, read]) => terminalText(read(r)) || '-'));
    const widths = COLUMNS.map(([title], i) => Math.max(title.length, ...cells.map((c) => c[i].length)));
    const line = (c: readonly string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
    out.push('', terminalText(gatewayTitle(g)), line(COLUMNS.map(([title]) => title)), ...cells.map(line));
  }
  return out.join('\n') + '\n';
}

/** A Markdown table cell: escaped, so a name is plain text in one cell. */
export function markdownCell(text: string): string {
  return terminalText(text).replace(/[\\`*_[\]<>|~#]/g, (c) => `\\${c}`);
}

function renderMarkdown(report: AccessReport): string {
  const out = ['# Access report', '', ...header(report)];
  for (const g of report.gateways) {
    out.push('', `## ${markdownCell(gatewayTitle(g))}`, '');
    out.push(`| ${COLUMNS.map(([title]) => title.charAt(0) + title.slice(1).toLowerCase()).join(' | ')} |`);
    out.push(`|${COLUMNS.map(() => '---|').join('')}`);
    for (const r of rows(g)) out.push(`| ${COLUMNS.map(([, read]) => markdownCell(read(r)) || '-').join(' | ')} |`);
  }
  return out.join('\n') + '\n';
}

/** The CSV columns, in order. The lists (groups, via_groups) are JSON arrays of names: exact whatever a name holds. */
export const CSV_COLUMNS = [
  'at', 'gateway', 'peer', 'address', 'public_key', 'fingerprint', 'groups', 'expires', 'enabled', 'state',
  'route', 'kind', 'listen_address', 'listen_port', 'target', 'via', 'via_groups',
] as const;

/**
 * A CSV field (RFC 4180): quoted when it holds a quote, a comma or a line
 * break. A text that a spreadsheet would run as a formula (it starts with
 * =, +, -, @, a tab or a carriage return) gets a leading apostrophe, as
 * OWASP advises for CSV meant for spreadsheets.
 */
export function csvField(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function renderCsv(report: AccessReport): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const g of report.gateways) {
    for (const { peer: p, route: r } of rows(g)) {
      const fields: Record<typeof CSV_COLUMNS[number], string> = {
        at: report.at,
        gateway: g.gateway,
        peer: p.name,
        address: p.address,
        public_key: p.publicKey,
        fingerprint: p.fingerprint,
        groups: JSON.stringify(p.groups),
        expires: p.expires ?? '',
        enabled: String(p.enabled),
        state: p.state,
        route: r?.name ?? '',
        kind: r?.kind ?? '',
        listen_address: r?.address ?? '',
        listen_port: r === undefined ? '' : String(r.port),
        target: r?.target ?? '',
        via: r?.via ?? '',
        via_groups: r === undefined ? '' : JSON.stringify(r.viaGroups),
      };
      lines.push(CSV_COLUMNS.map((c) => csvField(fields[c])).join(','));
    }
  }
  return lines.join('\r\n') + '\r\n';
}
