import type { ChildProcess } from "node:child_process";

export declare function freePort(host?: string): Promise<number>;

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** performance.now() when the process was spawned. */
  startedAt: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last 64 KiB of stdout and stderr. */
  output(): string;
  /** Milliseconds from spawn to the first /healthz 200. */
  waitHealthy(timeoutMs?: number): Promise<number>;
  /** Signals the spawned process only. */
  signal(signal?: NodeJS.Signals): void;
  /** Signals the whole process group and waits for the spawned process to exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export declare function startServerProcess(options: {
  command: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
}): Promise<ServerProcess>;

export declare function rssBytes(pid: number): number | undefined;
export declare function processTree(pid: number): { pid: number; depth: number }[];
export declare function memoryOf(pid: number): { server: number; tree: number; processes: number };
