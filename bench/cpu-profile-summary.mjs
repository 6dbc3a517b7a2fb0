#!/usr/bin/env node
// Sums a V8 .cpuprofile's self time by function (and by file): `node bench/cpu-profile-summary.mjs
// FILE.cpuprofile [top=40]`. Self time is the samples whose top frame is that function.
import { readFileSync } from "node:fs";

const [file, top = "40"] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, "utf8"));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map();
const intervals = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (intervals[i + 1] ?? intervals[i] ?? 0));
}
const byFunction = new Map();
const byFile = new Map();
let total = 0;
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = nodes.get(id).callFrame;
  const short = url.replace(/^file:\/\//, "").replace(/^.*node_modules\//, "~/").replace(/^.*\/(src|bench|tests)\//, "$1/");
  const fn = `${functionName || "(anonymous)"}  ${short}${url ? `:${lineNumber + 1}` : ""}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  const where = short.startsWith("~/") ? short.split("/").slice(0, short.startsWith("~/@") ? 3 : 2).join("/") : short || functionName;
  byFile.set(where, (byFile.get(where) ?? 0) + us);
  total += us;
}
const print = (title, map) => {
  console.log(`\n${title} (self time, ${(total / 1000).toFixed(0)} ms sampled)`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${name}`);
  }
};
print("By function", byFunction);
print("By file or package", byFile);
