// Starts the Node server as a real process, as an operator would, for the start-up benchmark and
// the shutdown tests: its own process group (so the whole tree can be signalled), a free port, and
// helpers to wait for /healthz, read memory from /proc and stop it with a signal.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { freePort } from "./sqld.mjs";

export { freePort };

/**
 * Spawns `command args` with `env` on top of this process's environment and PORT set to a free
 * port. Output is kept (last 64 KiB) for error messages and the tests' log checks.
 */
export async function startServerProcess({ command, args = [], env = {}, cwd = process.cwd() }) {
  const port = await freePort();
  const startedAt = performance.now();
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const keep = (chunk) => {
    output = (output + chunk.toString("utf8")).slice(-65_536);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  let exitedYet = false;
  exited.then(() => (exitedYet = true));

  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    startedAt,
    exited,
    output: () => output,
    /**
     * Polls GET /healthz until it answers 200; resolves with milliseconds since spawn. Rejects if
     * the process exits first or `timeoutMs` passes (a generous limit, only against hanging).
     */
    async waitHealthy(timeoutMs = 120_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        if (exitedYet) throw new Error(`the server exited before answering /healthz:\n${output}`);
        try {
          const response = await fetch(`http://127.0.0.1:${port}/healthz`);
          await response.arrayBuffer();
          if (response.status === 200) return performance.now() - startedAt;
        } catch {
          // not listening yet
        }
        if (performance.now() > deadline) throw new Error(`no /healthz 200 within ${timeoutMs} ms:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    /** Sends `signal` to the spawned process only (npm, or the server itself). */
    signal(signal = "SIGTERM") {
      if (!exitedYet) child.kill(signal);
    },
    /** Sends `signal` to the whole process group and waits for the spawned process to exit. */
    async stop(signal = "SIGTERM") {
      if (!exitedYet) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          // already gone
        }
      }
      return exited;
    },
  };
}

/** Resident set size in bytes of one process (Linux /proc), or undefined elsewhere or once gone. */
export function rssBytes(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
    return line ? Number(line[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The process and all its descendants (Linux /proc), each with its depth below `pid`. */
export function processTree(pid) {
  if (!existsSync("/proc")) return [{ pid, depth: 0 }];
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the parent; the command name (field 2) may contain spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  const tree = [];
  const visit = (id, depth) => {
    tree.push({ pid: id, depth });
    for (const child of children.get(id) ?? []) visit(child, depth + 1);
  };
  visit(pid, 0);
  return tree;
}

/**
 * Memory of a started server: `server` is the largest process of the tree (the one running the
 * app; not the deepest, which under tsx is its small esbuild helper), `tree` is the sum over every
 * process of the tree (npm, sh, tsx's watcher, the app and its helpers).
 */
export function memoryOf(pid) {
  const tree = processTree(pid).map((p) => ({ ...p, rss: rssBytes(p.pid) ?? 0 }));
  const largest = tree.reduce((a, b) => (b.rss > a.rss ? b : a));
  return { server: largest.rss, tree: tree.reduce((sum, p) => sum + p.rss, 0), processes: tree.length };
}
