/**
 * `access-report`: synthesize the user's app, find its gateways, and print
 * who may use which route, in one of four formats. The steps: check the
 * options, run the app (run-app.ts), read the gateways (gateways.ts), build
 * the report (access-report.ts, pure), render it (access-render.ts, pure).
 */
import { parseRfc3339 } from '../../_peer-access';
import { AccessReportFormat, renderAccessReport } from '../access-render';
import { accessReport } from '../access-report';
import { BIN, CliCommand, ok, usageError } from '../command';
import { requireGateways } from '../gateways';
import { synthesizeApp } from '../run-app';

const FORMATS = Object.values(AccessReportFormat) as string[];

const HELP = `Usage: ${BIN} access-report --app "<command>" [--format table|csv|json|markdown] [--at <time>]

Run the command that synthesizes your cdk8s app, find every WireguardGateway
in its manifests, and print, for every gateway, every peer and each route it
may use: the peer's address, key fingerprint (the first 10 characters of its
public key), groups, expiry and state (enabled, disabled, or expired at the
report's time), the route's name, listen address and port, and target, and
how the peer may use it (open: every peer may; peer: named in allowPeers;
group: through a peer group). A peer that may use no route has one row.

The report is sorted and depends only on the app and --at, so it can be
committed and compared in review: pass --at to get the same report again.

Options:
  --app <command>    Shell command that synthesizes the app, e.g. the "app" line of
                     cdk8s.yaml: "npx ts-node main.ts" (required)
  --format <format>  table (the default, for a terminal), csv, json or markdown
  --at <time>        The time states are computed at, RFC 3339 (2027-01-01T00:00:00Z);
                     default: now. The report prints it.
  -h, --help         Show this help

Example:
  ${BIN} access-report --app "npx ts-node main.ts" --format markdown --at 2027-01-01T00:00:00Z > ACCESS.md
`;

export const accessReportCommand: CliCommand = {
  name: 'access-report',
  summary: 'Synthesize a cdk8s app and print which peer may use which route',
  help: HELP,
  options: { app: 'value', format: 'value', at: 'value' },
  run(opts, io) {
    const app = opts.values.app;
    if (app === undefined) {
      throw usageError('access-report: missing --app: give the command that synthesizes your cdk8s app, e.g. --app "npx ts-node main.ts" (the "app" line of cdk8s.yaml)', 'access-report');
    }
    const format = opts.values.format ?? AccessReportFormat.TABLE;
    if (!FORMATS.includes(format)) {
      throw usageError(`access-report: invalid --format ${JSON.stringify(format)}: use ${FORMATS.join(', ')}`, 'access-report');
    }
    const at = opts.values.at === undefined ? Math.floor((io.now ?? Date.now)() / 1000) : parseRfc3339(opts.values.at);
    if (at === undefined) {
      throw usageError(`access-report: invalid --at ${JSON.stringify(opts.values.at)}: give an RFC 3339 time such as 2027-01-01T00:00:00Z`, 'access-report');
    }
    const synthesized = synthesizeApp('access-report', app, io);
    const gateways = requireGateways('access-report', synthesized.manifests);
    return ok(renderAccessReport(accessReport(gateways, at), format as AccessReportFormat), synthesized.stderr);
  },
};
