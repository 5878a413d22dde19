/*
 * The unit tier's globalSetup: starts the record of rendered nginx.conf files
 * afresh (test/util.ts recordNginxConf), so that the system tier runs
 * `nginx -t` on exactly what the last unit run rendered.
 */
'use strict';
const { mkdirSync, rmSync } = require('fs');
const { join } = require('path');

module.exports = async function globalSetup() {
  const dir = process.env.WGGW_NGINX_CONFS || join(__dirname, '..', 'test-reports', 'nginx-confs');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
};
