#!/usr/bin/env node
/**
 * The `cdk8s-wireguard-gateway` command. All logic is in _cli/ (dispatch.ts
 * and one module per command under cmds/); this file only connects it to the
 * process.
 */
import { readFileSync } from 'fs';
import { runCli } from './_cli/dispatch';

const result = runCli(process.argv.slice(2), {
  readStdin: () => readFileSync(0, 'utf-8'),
  env: process.env,
  cwd: process.cwd(),
  stdoutIsTerminal: process.stdout.isTTY === true,
});
process.stdout.write(result.stdout);
process.stderr.write(result.stderr);
process.exitCode = result.code;
