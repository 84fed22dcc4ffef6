/**
 * Where the machine's CPU went during one stretch of a bench: the server under test, the OpenSSH
 * clients (children the bench has reaped), the bench itself and everything else. On a two-core
 * machine the clients compete with the server, so a connections-per-second figure only means
 * something next to this split.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

interface ProcCpu {
  user: number;
  system: number;
  /** CPU of children the process has waited for (sshd's per-connection processes, the bench's clients). */
  children: number;
}

/** A process's own and its reaped children's CPU seconds, from /proc/PID/stat. */
export function procCpu(pid: number | 'self'): ProcCpu {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the state field: utime, stime, cutime, cstime are fields 12–15 (14–17 of stat).
  const n = (i: number) => Number(f[i]) / TICKS_PER_SECOND;
  return { user: n(11), system: n(12), children: n(13) + n(14) };
}

/** Busy CPU seconds of the whole machine (all cores), from /proc/stat. */
function machineBusy(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - cpu[3]! - cpu[4]!) / TICKS_PER_SECOND;
}

export interface CpuSplit {
  /** The server's own process (user, system), plus what its reaped children used (sshd's per-connection processes). */
  server: ProcCpu;
  /** The bench's reaped children: the OpenSSH clients. */
  clients: number;
  bench: number;
  machine: number;
}

/** Starts measuring; the returned function gives the split since then. */
export function measureCpu(serverPid: number): () => CpuSplit {
  const s0 = procCpu(serverPid);
  const b0 = procCpu('self');
  const m0 = machineBusy();
  return () => {
    const s1 = procCpu(serverPid);
    const b1 = procCpu('self');
    return {
      server: { user: s1.user - s0.user, system: s1.system - s0.system, children: s1.children - s0.children },
      clients: b1.children - b0.children,
      bench: b1.user + b1.system - (b0.user + b0.system),
      machine: machineBusy() - m0,
    };
  };
}

/** Two stretches' splits together. */
export function addCpuSplits(a: CpuSplit, b: CpuSplit): CpuSplit {
  return {
    server: { user: a.server.user + b.server.user, system: a.server.system + b.server.system, children: a.server.children + b.server.children },
    clients: a.clients + b.clients,
    bench: a.bench + b.bench,
    machine: a.machine + b.machine,
  };
}

/** One line: CPU milliseconds per connection for each part. */
export function describeCpuSplit(c: CpuSplit, connections: number): string {
  const per = (s: number) => ((s * 1000) / connections).toFixed(1);
  const server = c.server.user + c.server.system + c.server.children;
  const other = c.machine - server - c.clients - c.bench;
  return (
    `CPU ms per connection: server ${per(server)} (user ${per(c.server.user)}, system ${per(c.server.system)}` +
    (c.server.children > 0 ? `, its children ${per(c.server.children)}` : '') +
    `), clients ${per(c.clients)}, bench ${per(c.bench)}, rest of machine ${per(Math.max(0, other))}`
  );
}
