/**
 * `client-config`: synthesize the user's app, find its gateways, and write
 * each peer's wg-quick file, hosts lines and routes. The steps: check the
 * options and directories, run the app (run-app.ts), read the gateways
 * (gateways.ts), plan the files (client-plan.ts, pure), write them
 * (file-io.ts), report.
 */
import * as path from 'path';
import { clientReport, layoutClientFiles, planClientFiles, qrRefusal } from '../client-plan';
import { BIN, CliCommand, CliError, ok, usageError } from '../command';
import { isDirectory, prepareOutDir, readPrivateKeys, writePlannedFiles } from '../file-io';
import { CONNECTION_INFO_KEY, requireGateways } from '../gateways';
import { synthesizeApp } from '../run-app';

const HELP = `Usage: ${BIN} client-config --app "<command>" --out <dir> [--qr [--qr-to-non-terminal]] [--private-key-dir <dir>]

Run the command that synthesizes your cdk8s app (with CDK8S_OUTDIR set to a
fresh temporary directory), find every WireguardGateway in its manifests (the
ConfigMap key "${CONNECTION_INFO_KEY}") and write, for each peer:

  <peer>.conf          the wg-quick file (mode 0600)
  <peer>.hosts         hosts-file lines for the routes this peer may reach
  <peer>.routes.json   the same routes as JSON: name, kind, address, port, target

With several gateways, each gets a subdirectory named after its construct path.
Each .conf has a placeholder instead of the peer's private key (the gateway
never knows it) unless --private-key-dir has the key.

Options:
  --app <command>           Shell command that synthesizes the app, e.g. the "app" line of
                            cdk8s.yaml: "npx ts-node main.ts" (required)
  --out <dir>               Directory to write to; created if missing (required)
  --qr                      Also print each configuration as a QR code for mobile clients;
                            one with a private key is printed only to a terminal
  --qr-to-non-terminal      Print QR codes with private keys to any standard output (a
                            file, a pipe, a CI log keeps them): only where that is safe
  --private-key-dir <dir>   Fill in private keys from <dir>/<peer>.key (same layout as --out);
                            each key must match the public key the gateway has for the peer
  -h, --help                Show this help

Example:
  ${BIN} client-config --app "npx ts-node main.ts" --out peers
`;

export const clientConfigCommand: CliCommand = {
  name: 'client-config',
  summary: 'Synthesize a cdk8s app and write one wg-quick file per peer',
  help: HELP,
  options: { 'app': 'value', 'out': 'value', 'qr': 'flag', 'qr-to-non-terminal': 'flag', 'private-key-dir': 'value' },
  run(opts, io) {
    const app = opts.values.app;
    if (app === undefined) {
      throw usageError('client-config: missing --app: give the command that synthesizes your cdk8s app, e.g. --app "npx ts-node main.ts" (the "app" line of cdk8s.yaml)', 'client-config');
    }
    const out = opts.values.out;
    if (out === undefined) {
      throw usageError('client-config: missing --out: give the directory to write the peers\' files to, e.g. --out peers', 'client-config');
    }
    const outDir = path.resolve(io.cwd, out);
    prepareOutDir(out, outDir);
    const keyDirGiven = opts.values['private-key-dir'];
    const keyDir = keyDirGiven === undefined ? undefined : path.resolve(io.cwd, keyDirGiven);
    if (keyDir !== undefined && !isDirectory(keyDir)) {
      throw new CliError(`client-config: --private-key-dir ${JSON.stringify(keyDirGiven)} is not a directory`);
    }

    const synthesized = synthesizeApp('client-config', app, io);
    const gateways = requireGateways('client-config', synthesized.manifests);
    const confPaths = layoutClientFiles(gateways).flatMap((g) => g.peers.map((p) => p.confPath));
    if (opts.flags.has('qr-to-non-terminal') && !opts.flags.has('qr')) {
      throw usageError('client-config: --qr-to-non-terminal goes with --qr', 'client-config');
    }
    const { keys, notes: keyNotes } = keyDir === undefined ? { keys: new Map<string, string>(), notes: [] } : readPrivateKeys(keyDir, confPaths);
    const plan = planClientFiles(gateways, keys);
    // Decided before anything is written: a refusal leaves --out as it was.
    const refusal = qrRefusal(plan, { qr: opts.flags.has('qr'), stdoutIsTerminal: io.stdoutIsTerminal === true, toNonTerminal: opts.flags.has('qr-to-non-terminal') });
    if (refusal !== undefined) throw new CliError(refusal);
    writePlannedFiles(outDir, plan.files);

    const report = clientReport(plan, { out, qr: opts.flags.has('qr'), privateKeyDir: keyDir !== undefined });
    const notes = [...keyNotes, ...report.notes];
    return ok(report.stdout, synthesized.stderr + notes.map((n) => `${BIN}: note: ${n}\n`).join(''));
  },
};
