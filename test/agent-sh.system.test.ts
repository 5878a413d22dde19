/**
 * System tier: assets/agent.sh under busybox sh (the images') and dash, with
 * the unit tier's stand-ins (test/script-cases/agent-sh.ts). The end-to-end
 * suite runs it with the real init.sh, WireGuard and nginx.
 */
import { agentShCases } from './script-cases/agent-sh';
import { DASH, busyboxShell } from './system-util';

describe.each([busyboxShell(), DASH])('agent.sh ($name, stand-ins)', (shell) => {
  agentShCases(shell);
});
