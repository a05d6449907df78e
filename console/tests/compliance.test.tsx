import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { FindingsLane, Verdict, type Finding } from "../src/pages/Compliance";

const findings: Finding[] = [
  { id: 0, check: "loudness", severity: "violation", start_s: 0, end_s: 10, message: "Integrated loudness -23.0 LUFS", suggestion: "", evidence: {} },
  { id: 1, check: "flashes", severity: "violation", start_s: 1, end_s: 2.9, message: "Flashing: 11 transitions", suggestion: "", evidence: {} },
  { id: 2, check: "black", severity: "warning", start_s: 5, end_s: 8, message: "Black picture for 3.0 s", suggestion: "", evidence: {} },
];

describe("FindingsLane", () => {
  it("puts each check on its own row at its time, and a click hands the finding to the player", async () => {
    const onSeek = vi.fn();
    render(<FindingsLane findings={findings} duration={10} selected={2} onSeek={onSeek} />);
    const flash = screen.getByRole("button", { name: "Finding: Flashing: 11 transitions at 0:01" });
    expect(flash.style.left).toBe("10%");
    expect(flash.style.top).toBe("1.6rem"); // second check, second row
    expect(screen.getByRole("button", { name: /Black picture/ }).className).toContain("selected");
    await userEvent.click(flash);
    expect(onSeek).toHaveBeenCalledWith(findings[1]);
  });

  it("names verdicts in words", () => {
    render(<Verdict value="not_measured" />);
    expect(screen.getByText("not measured")).toBeTruthy();
  });
});
