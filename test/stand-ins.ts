/**
 * Recorded stand-ins for the programs the shipped scripts call (`ip`, `wg`,
 * `nginx`), so that the scripts' logic runs under the host's `sh` on any
 * machine, unprivileged (the unit tier). Each stand-in is a small sh script on
 * a temporary PATH: it appends its command line to a log, and answers from (and
 * changes) files in a state directory, so a test asserts what a script asked
 * for and what state it left. A fake /proc (`PROC`) holds net/tcp, the
 * forwarding sysctls, uptime and the stand-in nginx's processes.
 *
 * The system tier runs the same scripts against the real programs
 * (*.system.test.ts).
 */
import { spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/** The shipped scripts, as the package ships them. */
export const ASSETS = join(__dirname, '..', 'assets');

/**
 * `ip`: the interface exists when state/link exists (its content: the flags);
 * state/addresses and state/routes hold one address a line; `-batch -` applies
 * address and route commands; state/fail-link-add makes `ip link add` fail.
 */
const IP = `
S=$STANDIN_STATE
case "$*" in
  "link show dev "*) [ -f "$S/link" ] ;;
  "-o link show dev "*) [ -f "$S/link" ] || exit 1; echo "5: $5: <$(cat "$S/link")> mtu 1420 qdisc noqueue state UNKNOWN" ;;
  "link add dev "*" type wireguard")
    if [ -f "$S/fail-link-add" ]; then echo "RTNETLINK answers: Operation not supported" >&2; exit 2; fi
    printf 'POINTOPOINT,NOARP' > "$S/link" ;;
  "link set dev "*" mtu "*) echo "$6" > "$S/mtu" ;;
  "link set dev "*" up") printf '%s,UP,LOWER_UP' "$(cat "$S/link")" > "$S/link" ;;
  "-4 -o address show dev "*) awk -v d="$6" '{ print "5: " d "    inet " $1 "/32 scope global " d "\\\\       valid_lft forever" }' "$S/addresses" ;;
  "-4 route show dev "*) awk '{ print $1 " scope link" }' "$S/routes" ;;
  "-batch -")
    tee -a "$S/batch" | while read -r what verb arg _; do
      case "$what $verb" in
        "address add") echo "\${arg%/32}" >> "$S/addresses" ;;
        "route replace") grep -qx "\${arg%/32}" "$S/routes" || echo "\${arg%/32}" >> "$S/routes" ;;
        "route del") grep -vx "\${arg%/32}" "$S/routes" > "$S/routes.new"; mv "$S/routes.new" "$S/routes" ;;
        *) echo "ip stand-in: unexpected batch line: $what $verb $arg" >&2; exit 9 ;;
      esac
    done ;;
  "address del "*) grep -vx "\${3%/32}" "$S/addresses" > "$S/addresses.new"; mv "$S/addresses.new" "$S/addresses" ;;
  *) echo "ip stand-in: unexpected: ip $*" >&2; exit 9 ;;
esac
`;

/**
 * `wg`: state/wg-allowed-ips ("key TAB address/32" a line; `show <if> peers`
 * prints its keys), state/wg-private-key (absent: "(none)"),
 * state/wg-listen-port, state/wg-transfer and friends for `wg show <if> <what>`;
 * `syncconf` keeps what it read (state/wg-syncconf) and takes its peers, key and
 * port; `set` is recorded in state/wg-set; state/fail-wg makes every call fail,
 * state/wg-says a failing call prints that file's text (as wg would print a key it cannot parse).
 */
const WG = `
S=$STANDIN_STATE
if [ -f "$S/fail-wg" ]; then echo "Unable to access interface: No such device" >&2; exit 1; fi
if [ -f "$S/wg-says" ] && [ "$1" != show ]; then cat "$S/wg-says" >&2; exit 1; fi
case "$1" in
  show)
    case "$3" in
      peers) cut -f 1 "$S/wg-allowed-ips" ;;
      private-key) cat "$S/wg-private-key" 2>/dev/null || echo "(none)" ;;
      *) cat "$S/wg-$3" ;;
    esac ;;
  syncconf)
    cat > "$S/wg-syncconf"
    awk '/^PublicKey = / { k = $3 } /^AllowedIPs = / { print k "\t" $3 }' "$S/wg-syncconf" > "$S/wg-allowed-ips"
    sed -n 's/^PrivateKey = //p' "$S/wg-syncconf" > "$S/wg-private-key"
    sed -n 's/^ListenPort = //p' "$S/wg-syncconf" > "$S/wg-listen-port" ;;
  set) echo "$*" >> "$S/wg-set" ;;
  *) echo "wg stand-in: unexpected: wg $*" >&2; exit 9 ;;
esac
`;

/**
 * `iptables-nft -C <chain> -j <target>`: true when state/iptables-hooks has the
 * line "<chain> <target>". `iptables-nft-restore --noflush`: keeps what it read
 * (state/iptables-restore, and every input in state/iptables-restores), and
 * hooks what its "-I <chain> 1 -j <target>" lines insert; state/fail-iptables
 * makes it fail.
 */
const IPTABLES = `
S=$STANDIN_STATE
case "$*" in
  "-C "*" -j "*) grep -qx "$2 $4" "$S/iptables-hooks" 2>/dev/null ;;
  *) echo "iptables stand-in: unexpected: iptables-nft $*" >&2; exit 9 ;;
esac
`;
const IPTABLES_RESTORE = `
S=$STANDIN_STATE
[ "$*" = --noflush ] || { echo "iptables-restore stand-in: unexpected: $*" >&2; exit 9; }
cat > "$S/iptables-restore"
if [ -f "$S/fail-iptables" ]; then echo "iptables-nft-restore v1.8.11 (nf_tables): Could not fetch rule set generation id: Protocol not supported" >&2; exit 4; fi
cat "$S/iptables-restore" >> "$S/iptables-restores"
awk '$1 == "-I" { print $2, $5 }' "$S/iptables-restore" >> "$S/iptables-hooks"
`;

/**
 * `nginx`: as a master (`nginx -e stderr -c FILE`), it starts two "workers"
 * (entries in $PROC/<pid>/stat whose parent is its own PID), two more on each
 * SIGHUP unless state/nginx-ignores-hup exists, records SIGUSR1, and exits on
 * SIGTERM or SIGQUIT; with state/nginx-exits, it exits at once. `nginx -t`:
 * fails with the text of state/nginx-t-error when that file exists.
 */
const NGINX = `
S=$STANDIN_STATE
if [ "$1" = -t ]; then
  if [ -f "$S/nginx-t-error" ]; then cat "$S/nginx-t-error" >&2; exit 1; fi
  exit 0
fi
if [ -f "$S/nginx-exits" ]; then exit 0; fi
n=0
workers() {
  for _ in 1 2; do
    n=$((n + 1)); w=$(($$ * 100 + n))
    mkdir -p "$PROC/$w" && echo "$w (nginx) S $$ 1 1 0" > "$PROC/$w/stat"
  done
}
trap 'echo "nginx SIGHUP" >> "$STANDIN_LOG"; [ -f "$S/nginx-ignores-hup" ] || workers' HUP
trap 'echo "nginx SIGUSR1" >> "$STANDIN_LOG"' USR1
trap 'echo "nginx SIGTERM" >> "$STANDIN_LOG"; exit 0' TERM
trap 'echo "nginx SIGQUIT" >> "$STANDIN_LOG"; exit 0' QUIT
workers
while :; do sleep 0.05 & wait $!; done
`;

const PROGRAMS: Record<string, string> = { 'ip': IP, 'wg': WG, 'nginx': NGINX, 'iptables-nft': IPTABLES, 'iptables-nft-restore': IPTABLES_RESTORE };

export interface Run { status: number | null; stdout: string; stderr: string }

/** A shell to run the scripts with, and a directory to put first on PATH (busybox's applets). */
export interface Shell { readonly name: string; readonly cmd: string[]; readonly path?: string }

/** The host's sh, with the host's awk, sed and the rest: the unit tier. */
export const HOST_SH: Shell = { name: 'sh', cmd: ['sh'] };

/** A temporary pod: stand-ins first on PATH, their state, a fake /proc, and the pod's directories. */
export class FakePod {
  public readonly dir = mkdtempSync(join(tmpdir(), 'wggw-pod-'));
  public readonly bin = join(this.dir, 'bin');
  public readonly state = join(this.dir, 'stand-ins');
  public readonly proc = join(this.dir, 'proc');
  private readonly log = join(this.dir, 'calls');

  constructor() {
    for (const d of [this.bin, this.state, join(this.proc, 'net'), join(this.proc, 'sys/net/ipv4'), join(this.proc, 'sys/net/ipv6/conf/all')]) {
      mkdirSync(d, { recursive: true });
    }
    for (const [name, body] of Object.entries(PROGRAMS)) {
      writeFileSync(join(this.bin, name), `#!/bin/sh\necho "${name} $*" >> "$STANDIN_LOG"\n${body}`);
      chmodSync(join(this.bin, name), 0o755);
    }
    writeFileSync(this.log, '');
    for (const f of ['addresses', 'routes', 'wg-allowed-ips']) this.write(f, '');
    this.writeProc('sys/net/ipv4/ip_forward', '1\n');
    this.writeProc('sys/net/ipv6/conf/all/forwarding', '1\n');
    this.tcp([]);
    this.uptime();
  }

  /** A file of the stand-ins' state. */
  public write(file: string, text: string): void {
    writeFileSync(join(this.state, file), text);
  }

  public read(file: string): string | undefined {
    return existsSync(join(this.state, file)) ? readFileSync(join(this.state, file), 'utf-8') : undefined;
  }

  /** Lines of a state file. */
  public lines(file: string): string[] {
    return (this.read(file) ?? '').split('\n').filter((l) => l !== '');
  }

  public remove(file: string): void {
    rmSync(join(this.state, file), { force: true });
  }

  public writeProc(file: string, text: string): void {
    writeFileSync(join(this.proc, file), text);
  }

  public readProc(file: string): string {
    return readFileSync(join(this.proc, file), 'utf-8');
  }

  /** /proc/net/tcp with these sockets: [local "a.b.c.d:port", state hex], little-endian as on x86. */
  public tcp(sockets: Array<[string, string]>): void {
    const hex = (ap: string) => {
      const [a, p] = ap.split(':');
      return a.split('.').reverse().map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0')).join('') + ':'
        + Number(p).toString(16).toUpperCase().padStart(4, '0');
    };
    this.writeProc('net/tcp', [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      ...sockets.map(([l, st], i) => `   ${i}: ${hex(l)} 0200620A:D431 ${st} 00000000:00000000 00:00000000 00000000   101        0 ${i}`),
    ].join('\n') + '\n');
  }

  /** /proc/uptime: this process's uptime, so that a script measures real elapsed time. */
  public uptime(): void {
    // Replaced at once: a script never reads half a file.
    writeFileSync(join(this.proc, 'uptime.tmp'), `${process.uptime().toFixed(2)} 0.00\n`);
    renameSync(join(this.proc, 'uptime.tmp'), join(this.proc, 'uptime'));
  }

  /** Keeps /proc/uptime current (every 50 ms) until the returned function is called. */
  public tickUptime(): () => void {
    const timer = setInterval(() => this.uptime(), 50);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The stand-ins' calls so far, one command line each. */
  public calls(): string[] {
    return readFileSync(this.log, 'utf-8').split('\n').filter((l) => l !== '');
  }

  public clearCalls(): void {
    writeFileSync(this.log, '');
  }

  /** The environment for a script: stand-ins first on PATH, then the shell's, the fake /proc, and `more`. */
  public env(more: Record<string, string> = {}, shell: Shell = HOST_SH): NodeJS.ProcessEnv {
    const path = [this.bin, ...(shell.path === undefined ? [] : [shell.path]), process.env.PATH].join(':');
    return { PATH: path, STANDIN_STATE: this.state, STANDIN_LOG: this.log, PROC: this.proc, ...more };
  }

  /** Runs a shipped script to its end. */
  public run(script: string, args: string[], env: Record<string, string>, shell: Shell = HOST_SH): Run {
    const r: SpawnSyncReturns<string> = spawnSync(shell.cmd[0], [...shell.cmd.slice(1), join(ASSETS, script), ...args], {
      env: this.env(env, shell), encoding: 'utf-8', timeout: 60_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Starts a long-running shipped script in a process group of its own; its output accumulates in `out`. */
  public start(script: string, args: string[], env: Record<string, string>, shell: Shell = HOST_SH): Running {
    const child = spawn(shell.cmd[0], [...shell.cmd.slice(1), join(ASSETS, script), ...args], { env: this.env(env, shell), detached: true });
    // 'close', not 'exit': the exit code once everything the script wrote has arrived.
    const running: Running = { out: '', exited: new Promise((resolve) => child.on('close', (code) => resolve(code))), child };
    child.stdout!.on('data', (d) => { running.out += d; });
    child.stderr!.on('data', (d) => { running.out += d; });
    return running;
  }
}

export interface Running {
  out: string;
  readonly exited: Promise<number | null>;
  readonly child: ReturnType<typeof spawn>;
}

/** Polls `ok` every 50 ms; throws with `what` and `detail()` after `ms`. */
export async function until(what: string, ok: () => boolean, detail: () => string = () => '', ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kills a started script and everything it started (its own process group). */
export function stop(running: Running): void {
  try {
    process.kill(-running.child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}
