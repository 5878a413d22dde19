/**
 * assets/init.sh under the host's sh, with recorded stand-ins for ip and wg
 * (test/script-cases/init-sh.ts). test/init-sh.system.test.ts runs the same
 * cases under busybox sh and dash, and init.sh against real WireGuard.
 */
import { initShCases } from './script-cases/init-sh';
import { HOST_SH } from './stand-ins';

describe('init.sh (host sh, stand-ins)', () => {
  initShCases(HOST_SH);
});
