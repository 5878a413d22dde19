#!/usr/bin/env node
/*
 * e2e-net: the TCP tools of the end-to-end suite (test/e2e/run.sh).
 *
 * Plain Node.js, no dependencies, so it starts in ~50 ms inside any network
 * namespace. Every client command prints one verdict line and exits 0 when
 * the condition holds, 1 when it does not (with the reason), 2 on bad usage.
 *
 *   echo-server HOST:PORT TAG     echo server; greets each connection with "TAG\n"
 *   probe       HOST:PORT         one new connection
 *   until-ok    HOST:PORT         new connections in parallel until one answers
 *   until-fail  HOST:PORT         new connections one after another until one fails
 *   follow      HOST:PORT         new connections for a while: do they follow a DNS change?
 *   hold        HOST:PORT         long-lived sessions that keep talking until SIGTERM
 *   load        HOST:PORT         N simultaneous sessions with a byte-exact echo
 *   no-connect  HOST:PORT ...     every TCP connect must time out (nothing is reachable);
 *                                 with --refusal-ok a refusal (a RST) counts as unreached too
 *   never-accepted HOST:PORT      a new connection every --interval ms for --for-ms: none may be
 *                                 accepted (a refusal or silence is fine)
 *
 * --proto says what "answers" means: banner (the echo server's "TAG\n", the
 * default), pg (PostgreSQL answers an SSLRequest with N or S), redis (PING ->
 * +PONG) or connect (the TCP handshake completes).
 * Times are epoch milliseconds (date +%s%3N) so bash and node share a clock.
 */
'use strict';
const net = require('net');
const crypto = require('crypto');
const fs = require('fs');

// --- arguments ---------------------------------------------------------------

function parseArgs(argv) {
  const pos = [];
  const opt = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) {
      const k = argv[i].slice(2);
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) { opt[k] = true; } else { opt[k] = v; i++; }
    } else {
      pos.push(argv[i]);
    }
  }
  return { pos, opt };
}

function num(opt, k, dflt) {
  if (opt[k] === undefined) {
    if (dflt === undefined) usage(`missing --${k}`);
    return dflt;
  }
  const n = Number(opt[k]);
  if (!Number.isFinite(n)) usage(`--${k} must be a number, got ${opt[k]}`);
  return n;
}

function usage(msg) {
  process.stderr.write(`e2e-net: ${msg}\n`);
  process.exit(2);
}

function addr(s) {
  const i = (s || '').lastIndexOf(':');
  if (i < 1) usage(`expected HOST:PORT, got ${s}`);
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)), text: s };
}

function verdict(ok, text) {
  process.stdout.write(`${ok ? 'ok' : 'FAIL'}: ${text}\n`);
  process.exit(ok ? 0 : 1);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- a client session ----------------------------------------------------------

class Session {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.closed = false;
    this.error = undefined;
    this.waiters = [];
    sock.on('data', (d) => { this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d; this.wake(); });
    sock.on('error', (e) => { this.error = this.error || e; });
    sock.on('close', () => { this.closed = true; this.wake(); });
  }

  wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until take(buf) returns a byte count, consumes that many bytes and returns them. */
  async read(take, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = take(this.buf);
      if (n !== undefined) {
        const out = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        return out;
      }
      if (this.closed) {
        throw new Error(`closed by the other end before ${what}${this.error ? ` (${this.error.code || this.error.message})` : ''}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }

  async readLine(timeoutMs, what) {
    const line = await this.read((b) => { const i = b.indexOf(10); return i < 0 ? undefined : i + 1; }, timeoutMs, what);
    return line.toString('utf8').trimEnd();
  }

  /** Writes data and waits for the byte-exact echo. */
  async roundtrip(data, timeoutMs) {
    if (this.closed) throw new Error('session already closed');
    this.sock.write(data);
    const back = await this.read((b) => (b.length >= data.length ? data.length : undefined), timeoutMs, `the echo of ${data.length} bytes`);
    if (!back.equals(data)) throw new Error(`echo mismatch: sent ${data.length} bytes, got different bytes back`);
  }

  destroy() { this.sock.destroy(); }
}

function connect(a, timeoutMs) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: a.host, port: a.port, noDelay: true });
    const t = setTimeout(() => { sock.destroy(); reject(new Error(`connect timeout after ${timeoutMs} ms`)); }, timeoutMs);
    sock.once('connect', () => { clearTimeout(t); sock.removeAllListeners('error'); resolve(new Session(sock)); });
    sock.once('error', (e) => { clearTimeout(t); sock.destroy(); reject(new Error(`connect: ${e.code || e.message}`)); });
  });
}

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/** One new connection. Resolves to { ok, answer, error, start, ms }. */
async function attempt(a, proto, timeoutMs) {
  const start = Date.now();
  let s;
  try {
    s = await connect(a, timeoutMs);
    const left = () => Math.max(1, timeoutMs - (Date.now() - start));
    let answer;
    if (proto === 'banner') {
      answer = await s.readLine(left(), 'the backend\'s greeting');
    } else if (proto === 'pg') {
      s.sock.write(SSL_REQUEST);
      const b = await s.read((buf) => (buf.length >= 1 ? 1 : undefined), left(), 'PostgreSQL\'s answer to an SSLRequest');
      answer = b.toString('latin1');
      if (answer !== 'N' && answer !== 'S') throw new Error(`not PostgreSQL: answered ${JSON.stringify(answer)} to an SSLRequest`);
      answer = 'postgresql';
    } else if (proto === 'redis') {
      s.sock.write('PING\r\n');
      answer = await s.readLine(left(), 'Redis\'s answer to PING');
      if (answer !== '+PONG') throw new Error(`not Redis: answered ${JSON.stringify(answer)} to PING`);
      answer = 'PONG';
    } else if (proto === 'connect') {
      answer = 'connected';
    } else {
      usage(`unknown --proto ${proto}`);
    }
    return { ok: true, answer, start, ms: Date.now() - start, session: s };
  } catch (e) {
    if (s) s.destroy();
    return { ok: false, error: e.message, start, ms: Date.now() - start };
  }
}

// --- commands ------------------------------------------------------------------

function echoServer(pos) {
  const a = addr(pos[0]);
  const tag = pos[1] || 'echo';
  let open = 0;
  const srv = net.createServer({ noDelay: true }, (s) => {
    open++;
    s.on('error', () => {});
    s.on('close', () => { open--; });
    s.write(`${tag}\n`);
    s.pipe(s);
  });
  srv.on('error', (e) => { process.stderr.write(`echo-server ${a.text}: ${e.message}\n`); process.exit(1); });
  srv.listen({ host: a.host, port: a.port, backlog: 4096 }, () => process.stdout.write(`echo-server ${tag} listening on ${a.text}\n`));
  process.on('SIGTERM', () => { process.stdout.write(`echo-server ${tag}: ${open} open at exit\n`); process.exit(0); });
}

async function probe(a, opt) {
  const r = await attempt(a, opt.proto || 'banner', num(opt, 'timeout', 3000));
  if (r.session) r.session.destroy();
  if (!r.ok) verdict(false, `${a.text}: ${r.error}`);
  if (opt.expect && r.answer !== opt.expect) verdict(false, `${a.text} answered ${JSON.stringify(r.answer)}, expected ${JSON.stringify(opt.expect)}`);
  verdict(true, `${a.text} answered ${JSON.stringify(r.answer)} in ${r.ms} ms`);
}

/** Starts a new connection every --interval ms until one answers (as --expect if given). */
async function untilOk(a, opt) {
  const since = num(opt, 'since', Date.now());
  const maxMs = num(opt, 'max-ms');
  const deadline = since + num(opt, 'deadline-ms', maxMs + 5000);
  const interval = num(opt, 'interval', 100);
  const attemptTimeout = num(opt, 'attempt-timeout', 3000);
  const proto = opt.proto || 'banner';
  let tries = 0;
  let lastError = 'no attempt finished';
  let done = false;
  const pending = new Set();
  const result = await new Promise((resolve) => {
    const tick = () => {
      if (done) return;
      if (Date.now() > deadline) { done = true; resolve(undefined); return; }
      tries++;
      const p = attempt(a, proto, attemptTimeout).then((r) => {
        pending.delete(p);
        if (r.session) r.session.destroy();
        if (done) return;
        if (r.ok && (!opt.expect || r.answer === opt.expect)) { done = true; resolve({ ...r, at: Date.now() - since }); return; }
        lastError = r.ok ? `answered ${JSON.stringify(r.answer)}, expected ${JSON.stringify(opt.expect)}` : r.error;
      });
      pending.add(p);
      setTimeout(tick, interval);
    };
    tick();
  });
  if (result === undefined) {
    verdict(false, `no new connection to ${a.text} answered within ${deadline - since} ms (${tries} attempts; last: ${lastError})`);
  }
  const text = `a new connection to ${a.text} answered ${JSON.stringify(result.answer)} ${result.at} ms after the mark (limit ${maxMs} ms; attempt ${tries})`;
  verdict(result.at <= maxMs, text);
}

/**
 * One new connection after another until one fails (proves an outage is real).
 * With --since and --max-ms, the first failing connection must have started
 * within --max-ms of --since; with --error REGEX, its error must match.
 */
async function untilFail(a, opt) {
  const started = Date.now();
  const since = num(opt, 'since', started);
  const maxMs = opt['max-ms'] === undefined ? undefined : num(opt, 'max-ms');
  const deadline = started + num(opt, 'deadline-ms');
  const attemptTimeout = num(opt, 'attempt-timeout', 4000);
  const proto = opt.proto || 'banner';
  const want = opt.error ? new RegExp(opt.error) : undefined;
  let tries = 0;
  while (Date.now() < deadline) {
    tries++;
    const t = Date.now();
    const r = await attempt(a, proto, attemptTimeout);
    if (r.session) r.session.destroy();
    if (!r.ok) {
      const at = t - since;
      const text = `attempt ${tries} to ${a.text} failed as expected, started ${at} ms after the mark${maxMs === undefined ? '' : ` (limit ${maxMs} ms)`}: ${r.error}`;
      if (want && !want.test(r.error)) verdict(false, `${text}; expected an error matching /${opt.error}/`);
      verdict(maxMs === undefined || at <= maxMs, text);
    }
    await sleep(num(opt, 'interval', 200));
  }
  verdict(false, `every one of ${tries} new connections to ${a.text} still answered after ${Date.now() - started} ms`);
}

/**
 * New connections every --interval ms from now until since + window + tail.
 * Holds when: none fails, every answer is --old or --new, and every connection
 * started after since + window answered --new (at least 5 of them).
 */
async function follow(a, opt) {
  const since = num(opt, 'since');
  const windowMs = num(opt, 'window-ms');
  const end = since + windowMs + num(opt, 'tail-ms', 2000);
  const interval = num(opt, 'interval', 50);
  const attemptTimeout = num(opt, 'attempt-timeout', 3000);
  const oldTag = opt.old;
  const newTag = opt.new;
  if (!oldTag || !newTag) usage('follow needs --old TAG --new TAG');
  const runs = [];
  while (Date.now() < end) {
    runs.push(attempt(a, 'banner', attemptTimeout).then((r) => { if (r.session) r.session.destroy(); return r; }));
    await sleep(interval);
  }
  const results = await Promise.all(runs);
  // --old '*': "whatever it was before" (a settling run): before the window
  // any answer or failure counts as old; after it, every connection must
  // answer --new.
  const anyOld = oldTag === '*';
  const isNew = (r) => r.ok && r.answer === newTag;
  const isOld = (r) => (anyOld ? !isNew(r) : r.ok && r.answer === oldTag);
  const late = results.filter((r) => r.start - since > windowMs);
  const errors = results.filter((r) => !r.ok && !(anyOld && r.start - since <= windowMs));
  const strange = results.filter((r) => r.ok && !isNew(r) && !isOld(r));
  const olds = results.filter(isOld);
  const news = results.filter(isNew);
  const lastOld = olds.length ? Math.max(...olds.map((r) => r.start - since)) : undefined;
  const firstNew = news.length ? Math.min(...news.map((r) => r.start - since)) : undefined;
  const lateOld = late.filter((r) => isOld(r) && r.ok);
  const summary = `${results.length} new connections: ${olds.length} reached ${anyOld ? 'the old target' : oldTag}, ${news.length} reached ${newTag}, ${errors.length} failed; `
    + `last old one started ${lastOld === undefined ? 'never' : `+${lastOld} ms`}, first ${newTag} +${firstNew === undefined ? 'never' : `${firstNew} ms`} after the DNS change (limit ${windowMs} ms)`;
  if (errors.length) verdict(false, `${summary}; first error: ${errors[0].error}`);
  if (strange.length) verdict(false, `${summary}; ${strange.length} reached neither (e.g. ${JSON.stringify(strange[0].answer)})`);
  if (lateOld.length) verdict(false, `${summary}; ${lateOld.length} connections started more than ${windowMs} ms after the change still reached the old target`);
  if (late.length < 5) verdict(false, `${summary}; only ${late.length} connections after the window, too few to judge`);
  verdict(true, summary);
}

/** Long-lived sessions that exchange a few bytes every --ping-ms until SIGTERM. */
async function hold(a, opt) {
  const n = num(opt, 'sessions', 20);
  const pingMs = num(opt, 'ping-ms', 200);
  const expect = opt.expect;
  const sessions = [];
  const problems = [];
  let rounds = 0;
  for (let i = 0; i < n; i++) {
    const r = await attempt(a, 'banner', 5000);
    if (!r.ok) verdict(false, `hold: session ${i + 1}/${n} could not start: ${r.error}`);
    if (expect && r.answer !== expect) verdict(false, `hold: session ${i + 1}/${n} reached ${r.answer}, expected ${expect}`);
    sessions.push(r.session);
  }
  if (opt.ready) fs.writeFileSync(opt.ready, `${n}\n`);
  let stop = false;
  process.on('SIGTERM', () => { stop = true; });
  while (!stop) {
    const results = await Promise.allSettled(sessions.map((s) => s.roundtrip(crypto.randomBytes(32), 5000)));
    results.forEach((r, i) => { if (r.status === 'rejected') problems.push(`session ${i + 1}: ${r.reason.message}`); });
    rounds++;
    if (problems.length) break;
    const t = Date.now();
    while (!stop && Date.now() - t < pingMs) await sleep(20);
  }
  const alive = sessions.filter((s) => !s.closed).length;
  sessions.forEach((s) => s.destroy());
  const text = `${n} sessions held for ${rounds} rounds of echo, ${alive} still open, ${problems.length} errors`;
  if (problems.length) verdict(false, `${text}; first: ${problems[0]}`);
  if (alive !== n) verdict(false, `${text}; ${n - alive} were closed`);
  verdict(true, text);
}

/** N sessions open at the same time, then a byte-exact echo of --bytes on each. */
async function load(a, opt) {
  const n = num(opt, 'sessions');
  const bytes = num(opt, 'bytes', 4096);
  const concurrency = num(opt, 'concurrency', 200);
  const timeoutMs = num(opt, 'attempt-timeout', 15000);
  const started = Date.now();
  const sessions = new Array(n);
  const errors = [];
  let next = 0;
  const opener = async () => {
    while (next < n) {
      const i = next++;
      const r = await attempt(a, 'banner', timeoutMs);
      if (r.ok) sessions[i] = r.session; else errors.push(`session ${i + 1} did not start: ${r.error}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, opener));
  const opened = sessions.filter(Boolean);
  const openNow = opened.filter((s) => !s.closed).length;
  const openMs = Date.now() - started;
  const results = await Promise.allSettled(opened.map((s) => s.roundtrip(crypto.randomBytes(bytes), timeoutMs)));
  results.forEach((r, i) => { if (r.status === 'rejected') errors.push(`session ${i + 1}: ${r.reason.message}`); });
  const echoed = results.filter((r) => r.status === 'fulfilled').length;
  opened.forEach((s) => s.destroy());
  const text = `${n} sessions: ${openNow} open at the same time after ${openMs} ms, ${echoed} byte-exact echoes of ${bytes} bytes, `
    + `${errors.length} errors, ${Date.now() - started} ms in all`;
  if (errors.length) verdict(false, `${text}; first: ${errors[0]}`);
  if (openNow !== n || echoed !== n) verdict(false, text);
  verdict(true, text);
}

/** Every target must time out: an answer (even a refusal) means a packet got through. */
async function noConnect(targets, opt) {
  const timeoutMs = num(opt, 'timeout', 2000);
  const results = await Promise.all(targets.map(async (t) => ({ t, r: await attempt(addr(t), 'connect', timeoutMs) })));
  const reached = [];
  const outcomes = [];
  for (const { t, r } of results) {
    if (r.session) r.session.destroy();
    if (r.ok) reached.push(`${t} accepted the connection`);
    else if (!/timeout/.test(r.error) && !opt['refusal-ok']) reached.push(`${t}: ${r.error} (an answer, not silence)`);
    outcomes.push(`${t} ${r.ok ? 'accepted' : /timeout/.test(r.error) ? 'silent' : r.error.replace(/^connect: /, '')}`);
  }
  if (reached.length) verdict(false, `reached what must be unreachable: ${reached.join('; ')}`);
  verdict(true, opt['refusal-ok'] ? `none of them accepted a connection within ${timeoutMs} ms: ${outcomes.join(', ')}`
    : `none of ${targets.join(', ')} answered within ${timeoutMs} ms`);
}

/** A new connection every --interval ms for --for-ms: none may be accepted; refusals and silence are counted. */
async function neverAccepted(a, opt) {
  const forMs = num(opt, 'for-ms');
  const interval = num(opt, 'interval', 50);
  const timeoutMs = num(opt, 'attempt-timeout', 300);
  const start = Date.now();
  const seen = {};
  let firstAccepted;
  const pending = [];
  while (Date.now() - start < forMs) {
    pending.push(attempt(a, 'connect', timeoutMs).then((r) => {
      if (r.session) r.session.destroy();
      const k = r.ok ? 'accepted' : /timeout/.test(r.error) ? 'silent' : r.error.replace(/^connect: /, '');
      seen[k] = (seen[k] || 0) + 1;
      if (r.ok && firstAccepted === undefined) firstAccepted = r.start;
    }));
    await sleep(interval);
  }
  await Promise.all(pending);
  const text = `${pending.length} new connections to ${a.text} over ${Date.now() - start} ms: ${Object.entries(seen).map(([k, v]) => `${v} ${k}`).join(', ')}`;
  if (firstAccepted !== undefined) verdict(false, `${text}; the first accepted ${firstAccepted - start} ms after the start`);
  verdict(true, text);
}

async function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  const { pos, opt } = parseArgs(rest);
  switch (cmd) {
    case 'echo-server': return echoServer(pos);
    case 'probe': return probe(addr(pos[0]), opt);
    case 'until-ok': return untilOk(addr(pos[0]), opt);
    case 'until-fail': return untilFail(addr(pos[0]), opt);
    case 'follow': return follow(addr(pos[0]), opt);
    case 'hold': return hold(addr(pos[0]), opt);
    case 'load': return load(addr(pos[0]), opt);
    case 'no-connect': return noConnect(pos, opt);
    case 'never-accepted': return neverAccepted(addr(pos[0]), opt);
    default: return usage(`unknown command ${cmd}; see the comment at the top of ${__filename}`);
  }
}

main().catch((e) => { process.stdout.write(`FAIL: ${e.stack || e}\n`); process.exit(1); });
