// What the kernel knows about a process: CPU time and resident memory, from /proc.
import fs from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS = 100;

export interface Cpu {
  user: number;
  system: number;
}

/** User and system CPU seconds of a process (threads included; or of one thread, as `<pid>/task/<tid>`), or null when it is gone. */
export function cpuSeconds(pid: number | string): Cpu | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / TICKS, system: Number(fields[12]) / TICKS };
  } catch {
    return null;
  }
}

/**
 * CPU time of a process (threads included) in µs, to the nanosecond: the scheduler's own
 * count (/proc/<pid>/schedstat, its first field), where /proc/<pid>/stat counts 10 ms ticks.
 * Null when the process is gone or the kernel keeps no such count.
 */
export function cpuMicros(pid: number): number | null {
  try {
    const ns = Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(ns) && ns > 0 ? ns / 1000 : null;
  } catch {
    return null;
  }
}

export function rssMb(pid: number): number | null {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Per-process counters of a set of processes between start() and stop(), summed field by
 * field over the processes; processes born in between count whole, and gone ones not at all.
 */
function counterMeter<T extends Record<string, number>>(pids: () => Promise<number[]> | number[], read: (pid: number) => T | null, zero: T) {
  let before = new Map<number, T>();
  const readAll = async () => new Map((await pids()).map((p) => [p, read(p)] as const).filter((e): e is [number, T] => e[1] !== null));
  return {
    async start() {
      before = await readAll();
    },
    async since(): Promise<T> {
      const total: Record<string, number> = { ...zero };
      for (const [pid, now] of await readAll()) {
        const b = before.get(pid);
        for (const k of Object.keys(now)) total[k] = total[k]! + now[k]! - (b?.[k] ?? 0);
      }
      return total as T;
    },
  };
}

/** CPU seconds of a set of processes (or, with `read`, of some of their threads) between start() and stop(); processes born in between count whole. */
export function cpuMeter(pids: () => Promise<number[]> | number[], read: (pid: number) => Cpu | null = cpuSeconds) {
  const meter = counterMeter(pids, read, { user: 0, system: 0 });
  return {
    start: meter.start,
    /** Total CPU seconds since start(); `split` has the user and system parts. */
    async stop(): Promise<number> {
      const d = await meter.since();
      return d.user + d.system;
    },
    split: meter.since,
  };
}

/**
 * CPU seconds of a process's threads other than its main one (/proc/<pid>/task/<tid>/stat),
 * or null when it is gone. In a Node server these are V8's helpers (the optimizing compiler,
 * the garbage collector's parallel and concurrent work), libuv's pool and, embedded, PGlite's
 * worker thread. A fresh server compiles its hot paths there for its first seconds under
 * load, a steady one barely.
 */
function helperThreadSeconds(pid: number): Cpu | null {
  try {
    const total = { user: 0, system: 0 };
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      if (tid === String(pid)) continue;
      const cpu = cpuSeconds(`${pid}/task/${tid}`);
      if (cpu) {
        total.user += cpu.user;
        total.system += cpu.system;
      }
    }
    return total;
  } catch {
    return null;
  }
}

/** helperThreadSeconds of a set of processes between start() and stop(), user and system together. */
export const helperThreadsMeter = (pids: () => Promise<number[]> | number[]) => cpuMeter(pids, helperThreadSeconds);

/**
 * What a process asked of the kernel: read and write system calls (/proc/<pid>/io, all its
 * threads: read, write, their vector forms and the like; send() and recv() are not counted)
 * and context switches (each thread's, summed), or null when it is gone. Counts, not timings:
 * on a machine whose timings wander they still tell two runs apart (a write per delivery, or
 * one per several).
 */
export type KernelCounts = {
  reads: number;
  writes: number;
  switches: number;
};

function kernelCounts(pid: number): KernelCounts | null {
  try {
    const io = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(io)?.[1] ?? 0);
    let switches = 0;
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      for (const m of status.matchAll(/ctxt_switches:\s+(\d+)/g)) switches += Number(m[1]);
    }
    return { reads: field('syscr'), writes: field('syscw'), switches };
  } catch {
    return null;
  }
}

/** kernelCounts of a set of processes between start() and stop(); processes born in between count whole. */
export function kernelMeter(pids: () => Promise<number[]> | number[]) {
  const meter = counterMeter(pids, kernelCounts, { reads: 0, writes: 0, switches: 0 });
  return {
    start: meter.start,
    stop: meter.since,
  };
}

/** The shares of the machine's CPU time (all cores) spent busy and stolen by the host between start() and stop(), from /proc/stat. */
export function machineBusy() {
  const read = () => {
    // cpu user nice system idle iowait irq softirq steal ...: idle and iowait are the idle part;
    // steal is time the host ran something else while this machine had work, busy for it.
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    return { idle: f[3]! + f[4]!, steal: f[7]!, total: f.reduce((a, b) => a + b, 0) };
  };
  let before = read();
  return {
    start() {
      before = read();
    },
    /** Shares of the cores' time: busy (stolen included) and stolen by the host. */
    stop(): { busy: number; stolen: number } {
      const now = read();
      const total = now.total - before.total;
      if (total <= 0) return { busy: 0, stolen: 0 };
      return { busy: 1 - (now.idle - before.idle) / total, stolen: (now.steal - before.steal) / total };
    },
  };
}

/** Samples a process's RSS every `everyMs` until stopped; answers the peak. */
export function rssPeak(pid: number, everyMs = 200) {
  let peak = rssMb(pid) ?? 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMb(pid) ?? 0);
  }, everyMs);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rssMb(pid) ?? 0);
  };
}
