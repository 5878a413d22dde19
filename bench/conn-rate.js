#!/usr/bin/env node
/*
 * conn-rate: short TCP connections against a greeting server (the e2e
 * harness's echo-server, which sends "TAG\n" on connect), for bench/datapath.sh.
 *
 *   node bench/conn-rate.js HOST:PORT --seconds 5 --concurrency 8 [--expect TAG]
 *
 * Each of --concurrency workers opens a connection, waits for the greeting,
 * closes it and starts the next, until --seconds have passed (a closed loop:
 * it stops by itself). Latency is from connect() to the greeting's arrival,
 * so it covers the TCP handshake through every hop and, through the gateway,
 * nginx's DNS lookup (cached) and its connection to the backend.
 * Prints one JSON line: {connections, errors, seconds, rate, p50Ms, p99Ms, maxMs, firstError}.
 * Plain Node.js, no dependencies.
 */
'use strict';
const net = require('net');

function parse(argv) {
  const opt = { seconds: 5, concurrency: 8, timeout: 3000 };
  const pos = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) opt[argv[i].slice(2)] = argv[++i];
    else pos.push(argv[i]);
  }
  const m = /^(.+):(\d+)$/.exec(pos[0] || '');
  if (!m) {
    process.stderr.write('usage: conn-rate.js HOST:PORT [--seconds S] [--concurrency C] [--expect TAG]\n');
    process.exit(2);
  }
  return { host: m[1], port: Number(m[2]), seconds: Number(opt.seconds), concurrency: Number(opt.concurrency), timeout: Number(opt.timeout), expect: opt.expect };
}

function once(o) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let buf = '';
    let done = false;
    const s = net.connect({ host: o.host, port: o.port, noDelay: true });
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, err });
    };
    const timer = setTimeout(() => finish('timeout'), o.timeout);
    s.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const tag = buf.slice(0, nl);
      finish(o.expect !== undefined && tag !== o.expect ? `answered ${JSON.stringify(tag)}` : undefined);
    });
    s.on('error', (e) => finish(e.code || e.message));
    s.on('close', () => finish('closed before the greeting'));
  });
}

async function main() {
  const o = parse(process.argv.slice(2));
  const lat = [];
  let errors = 0;
  let firstError;
  const start = Date.now();
  const end = start + o.seconds * 1000;
  async function worker() {
    while (Date.now() < end) {
      const r = await once(o);
      if (r.err === undefined) lat.push(r.ms);
      else { errors++; if (firstError === undefined) firstError = r.err; }
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const secs = (Date.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : null);
  const r3 = (x) => (x === null ? null : Math.round(x * 1000) / 1000);
  process.stdout.write(JSON.stringify({
    connections: lat.length, errors, seconds: r3(secs), rate: r3(lat.length / secs),
    p50Ms: r3(q(0.5)), p99Ms: r3(q(0.99)), maxMs: r3(lat.length ? lat[lat.length - 1] : null), firstError,
  }) + '\n');
}

main();
