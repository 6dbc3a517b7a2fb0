#!/usr/bin/env node
// `npm run dev:worker`: the edge setup on this machine, offline. Starts a real libSQL server
// (sqld), applies the migrations with the project's own migrate command, starts a fake Resend
// server unless RESEND_API_KEY is set, and runs the Worker with `wrangler dev` (workerd) against
// both. Ctrl-C stops everything.
//
//   npm run dev:worker                          fake Resend; every email it takes is printed here
//   RESEND_API_KEY=re_… MAIL_FROM="Name <lessons@your-verified.domain>" npm run dev:worker
//                                               real mail through Resend
//
// Environment: WORKER_PORT (8787), SQLD_PORT (8080), APP_SECRET (a fixed development value),
// RESEND_API_KEY / RESEND_BASE_URL, and, passed through when set: MAIL_FROM, MAIL_POSTAL_ADDRESS,
// BRAND_NAME, SEND_HOUR, DISPATCH_MAX_EMAILS, DISPATCH_MAX_MS, DISPATCH_MAX_SUBREQUESTS.
// Anything else in .dev.vars (TURNSTILE_*, …) still applies; the values set here win.
// The database lives in .cache/sqld-dev: delete that folder to start afresh.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { startSqld } from "./sqld.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const HOST = "127.0.0.1";
const WORKER_PORT = port("WORKER_PORT", 8787);
const SQLD_PORT = port("SQLD_PORT", 8080);
const APP_URL = `http://${HOST}:${WORKER_PORT}`;
const DEV_APP_SECRET = "dev-worker-secret-not-for-production-0123456789";
const PASS_THROUGH = ["MAIL_FROM", "MAIL_POSTAL_ADDRESS", "BRAND_NAME", "SEND_HOUR", "DISPATCH_MAX_EMAILS", "DISPATCH_MAX_MS", "DISPATCH_MAX_SUBREQUESTS"];
// Offline: no usage metrics, no request.cf lookup.
const OFFLINE = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

function port(name, fallback) {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0 || value > 65535) throw new Error(`${name}=${process.env[name]} is not a port`);
  return value;
}

const cleanups = [];
let shuttingDown = false;

async function shutdown(code) {
  if (shuttingDown) return;
  shuttingDown = true;
  // Last started, first stopped: wrangler, then mail, then sqld.
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      console.error(`dev:worker: while stopping: ${error instanceof Error ? error.message : error}`);
    }
  }
  process.exit(code);
}
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => void shutdown(0));

/** Stops a child process: `signal`, then SIGKILL if it is still there after a few seconds. */
function stopChild(child, signal = "SIGTERM") {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      done();
    });
    child.kill(signal);
  });
}

/** Runs a command to completion with output shown; rejects on a non-zero exit. */
function run(command, args, env) {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", fail);
    child.once("exit", (code, signal) => (code === 0 ? done() : fail(new Error(`${args.join(" ")} exited with ${signal ?? code}`))));
  });
}

/** The fake Resend server as a child process; resolves with its URL (the first line it prints). */
async function startFakeResend() {
  const child = spawn(process.execPath, ["--import", "tsx", "tests/support/fake-resend-server.ts", "--record"], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  cleanups.push(() => stopChild(child));
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error("the fake Resend server printed no URL within 20 s")), 20_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      done(line.trim());
    });
    child.once("exit", (code) => fail(new Error(`the fake Resend server exited (${code}) before it was ready`)));
  });
  lines.on("line", (line) => console.log(`[fake resend] ${line}`));
  child.once("exit", (code, signal) => {
    if (!shuttingDown) {
      console.error(`dev:worker: the fake Resend server stopped (${signal ?? code}); stopping everything.`);
      void shutdown(1);
    }
  });
  return url;
}

/**
 * A loopback tap in front of the fake Resend server: forwards every call unchanged and prints
 * each email's subject, recipient and the links in it that lead back to the Worker, so the
 * confirmation link can be followed from here.
 */
async function startMailTap(target) {
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    try {
      const headers = {};
      for (const name of ["content-type", "authorization", "idempotency-key", "user-agent"]) {
        if (typeof req.headers[name] === "string") headers[name] = req.headers[name];
      }
      const upstream = await fetch(`${target}${req.url}`, { method: req.method, headers, body: body.length > 0 ? body : undefined });
      const answer = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
      res.end(answer);
      if (upstream.ok && req.method === "POST") printEmails(body);
    } catch (error) {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ statusCode: 502, name: "fake_unreachable", message: String(error) }));
    }
  });
  await new Promise((done) => server.listen(0, HOST, done));
  cleanups.push(() => new Promise((done) => {
    server.closeAllConnections();
    server.close(() => done());
  }));
  return `http://${HOST}:${server.address().port}`;
}

function printEmails(body) {
  let payload;
  try {
    payload = JSON.parse(body.toString("utf8"));
  } catch {
    return;
  }
  const emails = Array.isArray(payload) ? payload : [payload];
  if (emails.length > 3) {
    console.log(`\n✉  ${emails.length} emails (${[...new Set(emails.map((e) => e.subject))].join(" / ")})`);
    return;
  }
  for (const email of emails) {
    const links = [...new Set(String(email.text ?? "").match(new RegExp(`${APP_URL}/[^\\s)\\]>"]+`, "g")) ?? [])];
    console.log(`\n✉  "${email.subject}" to ${[email.to].flat().join(", ")}`);
    for (const link of links) console.log(`   ${link}`);
  }
}

async function main() {
  const wrangler = createRequire(import.meta.url).resolve("wrangler/bin/wrangler.js");

  const sqld = await startSqld({ port: SQLD_PORT, dbDir: join(ROOT, ".cache", "sqld-dev") }).catch((error) => {
    if (/already in use/.test(error.message)) {
      throw new Error(`${error.message}: is another dev:worker running? Otherwise choose another port with SQLD_PORT=…`);
    }
    throw error;
  });
  cleanups.push(() => sqld.stop());
  sqld.exited.then(({ code, signal }) => {
    if (!shuttingDown) {
      console.error(`dev:worker: sqld stopped (${signal ?? code}); stopping everything.\n${sqld.output().trim()}`);
      void shutdown(1);
    }
  });

  console.log(`dev:worker: applying migrations to ${sqld.url}`);
  await run(process.execPath, ["--import", "tsx", "src/cli/migrate.ts"], { ...process.env, DATABASE_URL: sqld.url, DATABASE_AUTH_TOKEN: "" });

  const vars = { DATABASE_URL: sqld.url, DATABASE_AUTH_TOKEN: "", APP_URL };
  for (const name of PASS_THROUGH) if (process.env[name]) vars[name] = process.env[name];
  // Secrets from the shell go to wrangler in a private file, not on its command line (where `ps`
  // would show them). .dev.vars comes first so the developer's other settings still apply.
  const secrets = {};
  let mail;
  if (process.env.RESEND_API_KEY) {
    secrets.RESEND_API_KEY = process.env.RESEND_API_KEY;
    if (process.env.RESEND_BASE_URL) vars.RESEND_BASE_URL = process.env.RESEND_BASE_URL;
    else vars.RESEND_BASE_URL = "";
    mail = `Resend${process.env.RESEND_BASE_URL ? ` at ${process.env.RESEND_BASE_URL}` : ""} (real mail; MAIL_FROM must be on a verified domain)`;
  } else {
    const fake = await startFakeResend();
    vars.RESEND_BASE_URL = await startMailTap(fake);
    vars.RESEND_API_KEY = "re_dev_worker_fake";
    mail = `fake Resend at ${fake} (nothing leaves this machine; each email is printed below)`;
  }
  if (process.env.APP_SECRET) secrets.APP_SECRET = process.env.APP_SECRET;
  else vars.APP_SECRET = DEV_APP_SECRET;

  const envFiles = [];
  const devVars = join(ROOT, ".dev.vars");
  if (existsSync(devVars)) envFiles.push(devVars);
  else for (const name of [".env", ".env.local"]) if (existsSync(join(ROOT, name))) envFiles.push(join(ROOT, name));
  if (Object.keys(secrets).length > 0) {
    const dir = await mkdtemp(join(tmpdir(), "dev-worker-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "secrets.env");
    await writeFile(file, Object.entries(secrets).map(([name, value]) => `${name}=${JSON.stringify(value)}\n`).join(""), { mode: 0o600 });
    envFiles.push(file);
  }

  const args = [
    wrangler,
    "dev",
    "--ip", HOST,
    "--port", String(WORKER_PORT),
    "--test-scheduled",
    "--show-interactive-dev-session=false",
    ...envFiles.flatMap((file) => ["--env-file", file]),
    ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ];

  console.log(
    [
      "",
      "dev:worker",
      `  libSQL  sqld ${sqld.version} at ${sqld.url} (data in .cache/sqld-dev; delete it to start afresh)`,
      `  mail    ${mail}`,
      `  Worker  ${APP_URL} (wrangler dev, workerd)${envFiles.length > 0 && existsSync(devVars) ? "; also using .dev.vars" : ""}`,
      `  cron    curl "${APP_URL}/__scheduled?cron=*/5+*+*+*+*"   runs one dispatcher pass (the scheduled handler)`,
      "  Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );

  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...OFFLINE }, stdio: "inherit" });
  // wrangler gets the terminal's Ctrl-C itself; SIGINT again here is harmless.
  cleanups.push(() => stopChild(child, "SIGINT"));
  child.once("exit", (code, signal) => {
    if (!shuttingDown) {
      if (code !== 0) console.error(`dev:worker: wrangler dev stopped (${signal ?? code}); stopping everything.`);
      void shutdown(code ?? 1);
    }
  });
}

main().catch((error) => {
  console.error(`dev:worker: ${error instanceof Error ? error.message : error}`);
  void shutdown(1);
});
