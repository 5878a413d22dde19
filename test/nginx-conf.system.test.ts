/**
 * System tier: real `nginx -t` on every distinct nginx.conf the unit tier
 * rendered (recorded by test/util.ts recordNginxConf: every synthesized chart,
 * every renderer test, the property test's samples). Run the unit tier first.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { nginxTester } from './system-util';
import { NGINX_CONF_DIR } from './util';

describe('every nginx.conf the unit tier rendered passes real nginx -t', () => {
  const files = existsSync(NGINX_CONF_DIR) ? readdirSync(NGINX_CONF_DIR).filter((f) => f.endsWith('.conf')).sort() : [];

  test('the unit tier recorded them', () => {
    if (files.length === 0) {
      throw new Error(`no rendered nginx.conf in ${NGINX_CONF_DIR}: run the unit tier first (npx projen test), then this tier`);
    }
    // Every synthesized gateway and renderer test records (59 distinct files when this was written).
    expect(files.length).toBeGreaterThan(20);
  });

  test('nginx -t accepts each one', () => {
    const confs = files.map((f) => readFileSync(join(NGINX_CONF_DIR, f), 'utf-8'));
    const tester = nginxTester(confs);
    const failed: string[] = [];
    try {
      confs.forEach((conf, i) => {
        try {
          tester.test(conf);
        } catch (e) {
          failed.push(`${files[i]}: ${(e as Error).message}`);
        }
      });
    } finally {
      tester.close();
    }
    // eslint-disable-next-line no-console
    console.log(`nginx -t: ${confs.length - failed.length} of ${confs.length} recorded nginx.conf files pass`);
    expect(failed).toEqual([]);
  }, 600_000);
});
