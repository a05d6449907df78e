import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { TranscriptPanel, type TranscriptDoc } from "../src/components/Transcript";

// Whisper's sub-word tokens as the API returns them: each word with `space` (written after a space or not).
const doc: TranscriptDoc = {
  segments: [
    { start: 0, end: 3, text: "The quarter-lit hall cost 400,000 dollars.", words: [
      { word: "The", space: true, start: 0, end: 0.2 }, { word: "quarter", space: true, start: 0.3, end: 0.6 },
      { word: "-lit", space: false, start: 0.6, end: 0.8 }, { word: "hall", space: true, start: 0.9, end: 1.1 },
      { word: "cost", space: true, start: 1.2, end: 1.4 }, { word: "400", space: true, start: 1.5, end: 1.9 },
      { word: ",000", space: false, start: 1.9, end: 2.3 }, { word: "dollars.", space: true, start: 2.4, end: 3 }] },
  ],
};

describe("TranscriptPanel word joins", () => {
  it("writes sub-word tokens without a space, as the plain-text transcript does", () => {
    render(<TranscriptPanel videoId="v" doc={doc} time={0} onSeek={() => {}} editable={false} onChange={() => {}} />);
    const text = document.querySelector(".words")?.textContent ?? "";
    expect(text).toContain("The quarter-lit hall cost 400,000 dollars.");
    expect(text).not.toContain("quarter -lit");
    expect(text).not.toContain("400 ,000");
    expect(document.querySelectorAll(".word")).toHaveLength(8); // each token still seeks on its own
    expect([...document.querySelectorAll(".word.glued")].map((e) => e.textContent)).toEqual(["-lit", ",000"]);
  });
});
