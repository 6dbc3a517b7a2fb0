import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClaimedSet } from "../../src/drip/claimed-set";

describe("the set of subscribers a pass has claimed", () => {
  it("knows every id added to it and none that was not, as a Set of the same ids does", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ maxLength: 40 }), { maxLength: 300 }), fc.array(fc.string({ maxLength: 40 }), { maxLength: 50 }), (added, others) => {
        const set = new ClaimedSet();
        for (const id of added) set.add(id);
        expect(set.size).toBe(added.length);
        for (const id of added) expect(set.has(id)).toBe(true);
        const reference = new Set(added);
        for (const id of others) expect(set.has(id)).toBe(reference.has(id));
      }),
    );
  });

  it("counts an id added twice once", () => {
    const set = new ClaimedSet();
    set.add("00000001-0000-4000-8000-000000000001").add("00000001-0000-4000-8000-000000000001");
    expect(set.size).toBe(1);
  });

  it("keeps 300,000 subscriber ids apart as it grows, with no id mistaken for another", () => {
    const set = new ClaimedSet();
    const id = (i: number) => `${String(i).padStart(8, "0")}-0000-4000-8000-${String(i).padStart(12, "0")}`;
    for (let i = 0; i < 300_000; i += 2) set.add(id(i));
    expect(set.size).toBe(150_000);
    let found = 0;
    for (let i = 0; i < 300_000; i++) if (set.has(id(i)) !== (i % 2 === 0)) found++;
    expect(found).toBe(0);
  });
});
