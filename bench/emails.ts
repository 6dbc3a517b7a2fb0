/**
 * `npm run bench:emails`: CPU of making one confirmation email, React Email at run time (as before
 * the compiled emails) against the compiled template, each in a fresh Node process (cold: module
 * load + first email; warm: mean of 2,000 after 200), and the per-email cost of filling a lesson
 * template beside rendering that lesson's template with React (what each process or isolate did
 * once per lesson before). CPU time from process.cpuUsage (user + system), so a busy machine inflates both sides
 * alike: read the ratio. No assertions.
 *
 *   npm run bench:emails
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const cpuMs = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

const CONFIG_ENV = { APP_URL: "https://course.example.com", APP_SECRET: "bench-secret-bench-secret-bench-secret-00", MAIL_POSTAL_ADDRESS: "1 Bench Street" };
const to = { email: "reader@example.com", firstName: "Zoë <&\"'>" };
const confirmUrl = "https://course.example.com/confirm?token=eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl";

async function child(mode: string): Promise<void> {
  const start = process.cpuUsage();
  const { loadConfig } = await import("../src/config");
  const config = loadConfig(CONFIG_ENV);
  let make: () => Promise<unknown>;
  if (mode === "react") {
    const [{ createElement }, { renderEmail }, { default: Confirm }] = await Promise.all([import("react"), import("../src/course/render"), import("../emails/confirm-subscription")]);
    make = () => renderEmail(createElement(Confirm, { firstName: to.firstName, confirmUrl, brandName: config.brandName, postalAddress: config.postalAddress, appUrl: config.appUrl }));
  } else if (mode === "template") {
    const { composeConfirmation } = await import("../src/mail/compose");
    make = () => composeConfirmation(config, to, confirmUrl);
  } else if (mode === "react-lesson") {
    const [{ createElement }, { renderEmail }, { lessonComponent }, { markersFor }] = await Promise.all([
      import("react"),
      import("../src/course/render"),
      import("../emails/_build/registry"),
      import("../src/mail/fields"),
    ]);
    const Lesson = lessonComponent("clear-skin", 3);
    make = () => renderEmail(createElement(Lesson, { ...markersFor("lesson"), repliesWelcome: false }));
  } else {
    const { personalise } = await import("../src/drip/lesson-email");
    const { lessonTemplate } = await import("../src/mail/emails");
    const { COURSE } = await import("../src/course");
    const lesson = COURSE.lessons[2]!;
    make = async () =>
      personalise(lessonTemplate(lesson, config), {
        firstName: to.firstName,
        manageUrl: "https://course.example.com/manage/abcdefghijklmnopqrstuvwxyz0123456789",
        unsubscribeUrl: "https://course.example.com/unsubscribe/abcdefghijklmnopqrstuvwxyz0123456789",
        viewInBrowserUrl: "https://course.example.com/lessons/x?token=abcdefghijklmnopqrstuvwxyz0123456789",
        helpfulUrl: "https://course.example.com/feedback/abcdefghijklmnopqrstuvwxyz0123456789/helpful",
        notHelpfulUrl: "https://course.example.com/feedback/abcdefghijklmnopqrstuvwxyz0123456789/not-helpful",
      });
  }
  const loaded = cpuMs(start);
  const first = process.cpuUsage();
  await make();
  const firstMs = cpuMs(first);
  const n = mode === "lesson-fill" ? 20_000 : mode === "react-lesson" ? 200 : 2_000;
  for (let i = 0; i < n / 10; i++) await make();
  const warm = process.cpuUsage();
  for (let i = 0; i < n; i++) await make();
  console.log(JSON.stringify({ mode, loadMs: loaded, firstMs, warmUs: (cpuMs(warm) * 1000) / n }));
}

const mode = process.argv[2];
if (mode) await child(mode);
else {
  const self = fileURLToPath(import.meta.url);
  const rows = ["react", "template", "react-lesson", "lesson-fill"].map((m) => JSON.parse(execFileSync(process.execPath, ["--import", "tsx", self, m], { encoding: "utf8" })));
  console.log(`${"".padEnd(40)} ${"load ms".padStart(9)} ${"first ms".padStart(9)} ${"warm µs".padStart(9)}`);
  const label: Record<string, string> = { react: "confirmation, React Email at run time", template: "confirmation, compiled template", "react-lesson": "lesson 3 template, React at run time", "lesson-fill": "lesson 3, fill a bound template" };
  for (const r of rows) console.log(`${label[r.mode]!.padEnd(40)} ${r.loadMs.toFixed(1).padStart(9)} ${r.firstMs.toFixed(2).padStart(9)} ${r.warmUs.toFixed(1).padStart(9)}`);
  const [react, template] = rows;
  console.log(`\nconfirmation: warm ${(react.warmUs / template.warmUs).toFixed(0)}× less CPU, first email ${(react.firstMs / template.firstMs).toFixed(0)}× less (ratios from one run on this machine)`);
}
