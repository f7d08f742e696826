import { describe, expect, it } from "vitest";
import { formatEta } from "./types";

describe("formatEta", () => {
  it("says nothing until the worker can tell", () => {
    expect(formatEta(null)).toBe("");
    expect(formatEta(undefined)).toBe("");
    expect(formatEta(-3)).toBe("");
  });
  it("counts seconds under a minute, minutes above", () => {
    expect(formatEta(0.2)).toBe("about 1 s left");
    expect(formatEta(42)).toBe("about 42 s left");
    expect(formatEta(60)).toBe("about 1 min left");
    expect(formatEta(125)).toBe("about 2 min left");
    expect(formatEta(600)).toBe("about 10 min left");
  });
});
