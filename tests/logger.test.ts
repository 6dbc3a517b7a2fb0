import { describe, expect, it } from "vitest";
import { lessonEmailLinks, signedSubscriberLinks } from "../src/lib/links";
import { maskPersonalData } from "../src/lib/logger";

const APP = "https://course.example.com";
const SECRET = "logger-test-secret-logger-test-secret-00";

describe("what logs may hold of a provider's message", () => {
  it("a message quoting every link of a lesson email keeps none of its token", () => {
    const links = lessonEmailLinks(APP, SECRET, { subscriberId: "0b7c1a52-6c1e-4f2e-9d3f-0a1b2c3d4e5f", course: "clear-skin", run: 1, lesson: { number: 2, slug: "three-signs" } });
    const token = links.manageUrl.split("/").pop()!;
    const message = `invalid header List-Unsubscribe <${links.unsubscribeUrl}>; body links ${Object.values(links).join(" ")}`;
    const masked = maskPersonalData(message);
    expect(masked).not.toContain(token);
    expect(masked).toContain(`${APP}/manage/[token]`);
  });

  it("older JWT links and addresses are masked too", async () => {
    const { manageUrl } = await signedSubscriberLinks(APP, SECRET, "s-1");
    const masked = maskPersonalData(`to ana@example.com: ${manageUrl}`);
    expect(masked).not.toContain("ana@example.com");
    expect(masked).not.toMatch(/eyJ/);
  });
});
