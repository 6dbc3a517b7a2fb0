import { describe, expect, it } from "vitest";
import { createElement } from "react";
import { lessonComponent } from "../../emails/_build/registry";
import { renderEmail } from "../../src/course/render";
import { skinFoodStarter } from "../../src/course/skin-food-starter";
import { lessonPreviewProps } from "../../emails/_components/lesson-props";

describe("the skin-food-starter course", () => {
  it("renders every lesson with its title and its place in the course", async () => {
    for (const lesson of skinFoodStarter.lessons) {
      const { text } = await renderEmail(createElement(lessonComponent(skinFoodStarter.slug, lesson.number), lessonPreviewProps));
      expect(text.toLowerCase()).toContain(lesson.title.toLowerCase());
      expect(text).toContain(`Lesson ${lesson.number} of ${skinFoodStarter.lessons.length}`);
    }
  });
});
