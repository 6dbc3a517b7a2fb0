#!/usr/bin/env node
// Sums a V8 .cpuprofile's self time: `node bench/cpu-profile-summary.mjs FILE.cpuprofile [top=40]`.
// Prints the time by function (self time: samples whose top frame it is), by file or package, and
// by part of the signup path: each sample goes to the nearest frame on its stack (leaf first) that
// belongs to a known part, so Node's internals count for whoever called them (TextEncoder inside
// the email's line wrapping is the email's, undici inside the Resend SDK is sending's).
import { readFileSync } from "node:fs";

const [file, top = "40"] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, "utf8"));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parents = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);

/** Parts of the signup path, by the source of a frame (first match wins). */
const PARTS = [
  ["email rendering (React Email, html-to-text, src/course/render.ts, src/mail/compose.ts)", /react|html-to-text|selderee|htmlparser2|leac|peberminta|parseley|deepmerge|domhandler|domutils|entities|prismjs|src\/course\/|src\/mail\/compose|emails\//],
  ["links and tokens (src/lib/tokens.ts, links.ts)", /src\/lib\/(tokens|links)\.ts/],
  ["sending (Resend SDK, fetch)", /resend|src\/mail\//],
  ["database (drizzle, libSQL)", /drizzle-orm|libsql|src\/db\/|src\/lifecycle\//],
  ["form token, limits, hashes (src/lib)", /src\/lib\//],
  ["routes, pages, middleware (Hono, src/routes, src/pages, src/app.tsx)", /hono|src\/routes\/|src\/pages\/|src\/app\.tsx/],
];
const partOf = (id) => {
  for (let current = id; current; current = parents.get(current)) {
    const { url } = nodes.get(current).callFrame;
    if (!url || url.startsWith("node:")) continue;
    const part = PARTS.find(([, pattern]) => pattern.test(url));
    if (part) return part[0];
  }
  return undefined;
};

const selfUs = new Map();
const intervals = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (intervals[i + 1] ?? intervals[i] ?? 0));
}
const byFunction = new Map();
const byFile = new Map();
const byPart = new Map();
let total = 0;
let busy = 0;
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = nodes.get(id).callFrame;
  const short = url.replace(/^file:\/\//, "").replace(/^.*node_modules\//, "~/").replace(/^.*\/(src|bench|tests)\//, "$1/");
  const fn = `${functionName || "(anonymous)"}  ${short}${url ? `:${lineNumber + 1}` : ""}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  const where = short.startsWith("~/") ? short.split("/").slice(0, short.startsWith("~/@") ? 3 : 2).join("/") : short || functionName;
  byFile.set(where, (byFile.get(where) ?? 0) + us);
  total += us;
  if (functionName === "(idle)") continue;
  busy += us;
  const part = partOf(id) ?? (functionName === "(garbage collector)" ? "garbage collector" : "other (Node's HTTP objects and streams, microtasks, not attributable)");
  byPart.set(part, (byPart.get(part) ?? 0) + us);
}
const print = (title, map, of) => {
  console.log(`\n${title}`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
    console.log(`${((us / of) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${name}`);
  }
};
print(`By part, of ${(busy / 1000).toFixed(0)} ms busy (idle left out)`, byPart, busy);
print(`By function (self time, ${(total / 1000).toFixed(0)} ms sampled)`, byFunction, total);
print(`By file or package (self time, ${(total / 1000).toFixed(0)} ms sampled)`, byFile, total);
