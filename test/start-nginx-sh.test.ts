/**
 * assets/start-nginx.sh under the host's sh, with a stand-in nginx
 * (test/script-cases/start-nginx-sh.ts). test/start-nginx-sh.system.test.ts
 * runs the same cases under busybox sh and dash, and the script with the real
 * nginx as uid 101.
 */
import { startNginxShCases } from './script-cases/start-nginx-sh';
import { HOST_SH } from './stand-ins';

describe('start-nginx.sh (host sh, stand-ins)', () => {
  startNginxShCases(HOST_SH);
});
