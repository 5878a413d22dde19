/**
 * assets/metrics.sh under the host's sh, with a stand-in wg and a fake
 * /proc/net/tcp (test/script-cases/metrics-sh.ts).
 * test/metrics-sh.system.test.ts runs the same cases under busybox sh and
 * dash with every output checked by the real promtool, and with real nginx.
 */
import { metricsShCases } from './script-cases/metrics-sh';
import { HOST_SH } from './stand-ins';

describe('metrics.sh (host sh, stand-ins)', () => {
  metricsShCases(HOST_SH);
});
