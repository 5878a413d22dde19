/**
 * assets/agent.sh under the host's sh (test/script-cases/agent-sh.ts): with a
 * stand-in init.sh and nginx's answers, then with the real init.sh and
 * stand-ins for ip and wg. test/agent-sh.system.test.ts runs the same cases
 * under busybox sh and dash.
 */
import { agentShCases } from './script-cases/agent-sh';
import { HOST_SH } from './stand-ins';

describe('agent.sh (host sh, stand-ins)', () => {
  agentShCases(HOST_SH);
});
