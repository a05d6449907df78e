import { describe, expect, it } from "vitest";
import { activeWord, bytes, clock, highlightParts } from "../src/lib/format";
import { parseSse } from "../src/api/events";
import { lastMonths } from "../src/pages/Usage";

describe("format", () => {
  it("clock", () => {
    expect(clock(0)).toBe("0:00");
    expect(clock(61.9)).toBe("1:01");
    expect(clock(3725)).toBe("1:02:05");
    expect(clock(null)).toBe("–");
  });
  it("bytes", () => {
    expect(bytes(512)).toBe("512 B");
    expect(bytes(1536)).toBe("1.5 KB");
    expect(bytes(10 * 1024 ** 3)).toBe("10 GB");
  });
  it("highlightParts splits on ranges, merges overlaps, ignores out-of-range", () => {
    expect(highlightParts("the quarterly budget", [[4, 13], [14, 20]])).toEqual([
      { text: "the ", mark: false }, { text: "quarterly", mark: true }, { text: " ", mark: false }, { text: "budget", mark: true },
    ]);
    expect(highlightParts("abcdef", [[2, 4], [3, 5], [9, 12]])).toEqual([
      { text: "ab", mark: false }, { text: "cd", mark: true }, { text: "e", mark: true }, { text: "f", mark: false },
    ]);
  });
  it("activeWord finds the word being spoken", () => {
    const words = [{ start: 0, end: 0.4 }, { start: 0.5, end: 0.9 }, { start: 2, end: 2.5 }];
    expect(activeWord(words, 0.6)).toBe(1);
    expect(activeWord(words, 1.2)).toBe(1); // a short pause keeps the last word
    expect(activeWord(words, 1.8)).toBe(-1);
    expect(activeWord(words, 2.1)).toBe(2);
    expect(activeWord([], 1)).toBe(-1);
  });
  it("lastMonths counts back across a year boundary", () => {
    expect(lastMonths(3, new Date(Date.UTC(2026, 0, 15)))).toEqual(["2025-11", "2025-12", "2026-01"]);
  });
});

describe("parseSse", () => {
  it("parses complete events and keeps the rest", () => {
    const { events, rest } = parseSse('event: progress\nid: 1\ndata: {"a":1}\n\nevent: done\ndata: {"a"');
    expect(events).toEqual([{ event: "progress", data: '{"a":1}' }]);
    expect(rest).toBe('event: done\ndata: {"a"');
    const more = parseSse(rest + ':2}\n\n: comment\n\n');
    expect(more.events).toEqual([{ event: "done", data: '{"a":2}' }]);
  });
  it("handles CRLF and multi-line data", () => {
    expect(parseSse("data: a\r\ndata: b\r\n\r\n").events).toEqual([{ event: "message", data: "a\nb" }]);
  });
});
