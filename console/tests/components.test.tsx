import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router-dom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TranscriptPanel, type TranscriptDoc } from "../src/components/Transcript";
import { ErrorBox, Empty } from "../src/components/State";
import { ApiError } from "../src/api/client";
import { SearchPage } from "../src/pages/Search";
import { MinutesChart } from "../src/pages/Usage";
import { saveSession } from "../src/api/session";

const doc: TranscriptDoc = {
  segments: [
    { start: 0, end: 1.5, text: "Hello and welcome.", speaker: "S1", words: [
      { word: " Hello", start: 0, end: 0.4 }, { word: " and", start: 0.5, end: 0.7 }, { word: " welcome.", start: 0.8, end: 1.5 }] },
    { start: 2, end: 4, text: "The budget review starts on Monday.", words: [
      { word: " The", start: 2, end: 2.2 }, { word: " budget", start: 2.3, end: 2.7 }, { word: " review", start: 2.8, end: 3.1 },
      { word: " starts", start: 3.2, end: 3.4 }, { word: " on", start: 3.5, end: 3.6 }, { word: " Monday.", start: 3.7, end: 4 }] },
  ],
  speaker_names: { S1: "Alice" },
};

afterEach(() => vi.unstubAllGlobals());

describe("TranscriptPanel", () => {
  it("highlights the word at the current time and seeks on click", async () => {
    const onSeek = vi.fn();
    render(<TranscriptPanel videoId="v" doc={doc} time={2.5} onSeek={onSeek} editable={false} onChange={() => {}} />);
    expect(document.querySelector(".word.current")?.textContent).toBe("budget");
    expect(document.querySelector(".segment.active")?.getAttribute("data-seg")).toBe("1");
    expect(screen.getByText("Alice")).toBeInTheDocument(); // speaker label resolved to its name
    fireEvent.click(screen.getByText("Monday."));
    expect(onSeek).toHaveBeenCalledWith(3.7);
    fireEvent.click(screen.getByRole("button", { name: "Play from 0:00" }));
    expect(onSeek).toHaveBeenLastCalledWith(0);
    expect(screen.queryByRole("button", { name: /Edit segment/ })).toBeNull(); // viewers cannot edit
  });

  it("edits a segment in place through the API", async () => {
    saveSession({ access: "tok", expiresAt: Date.now() + 600_000, tenant: null, role: "owner" });
    const fetchMock = vi.fn(async (_url: string, init: RequestInit) => new Response(JSON.stringify({ ...doc.segments[1], text: JSON.parse(String(init.body)).text }), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    const onChange = vi.fn();
    render(<TranscriptPanel videoId="vid" doc={doc} time={0} onSeek={() => {}} editable onChange={onChange} />);
    await userEvent.click(screen.getByRole("button", { name: "Edit segment at 0:02" }));
    const box = screen.getByLabelText("Text of segment at 0:02");
    await userEvent.clear(box);
    await userEvent.type(box, "The budget review starts on Tuesday.");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(onChange).toHaveBeenCalled());
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe("/api/v1/videos/vid/transcript/segments/1");
    expect(init.method).toBe("PATCH");
    expect(new Headers(init.headers).get("Authorization")).toBe("Bearer tok");
    expect(onChange.mock.calls[0][1].text).toBe("The budget review starts on Tuesday.");
  });

  it("says so when there is no speech", () => {
    render(<TranscriptPanel videoId="v" doc={{ segments: [] }} time={0} onSeek={() => {}} editable onChange={() => {}} />);
    expect(screen.getByText(/No speech was found/)).toBeInTheDocument();
  });
});

describe("states", () => {
  it("error messages tell the user what to do", () => {
    render(<ErrorBox error={new ApiError(403, "auth.forbidden", "Not allowed.")} what="Could not save" />);
    expect(screen.getByRole("alert")).toHaveTextContent("Could not save: Not allowed.");
    expect(screen.getByRole("alert")).toHaveTextContent(/Ask an owner or admin/);
  });
  it("empty state", () => {
    render(<Empty title="Nothing here.">Upload something.</Empty>);
    expect(screen.getByText("Upload something.")).toBeInTheDocument();
  });
});

describe("SearchPage", () => {
  it("shows moments with highlighted snippets and links that open the player at the moment", async () => {
    saveSession({ access: "tok", expiresAt: Date.now() + 600_000, tenant: null, role: "owner" });
    const body = { items: [{ video_id: "v1", video_title: "Board meeting", start: 12.5, end: 16, snippet: "the quarterly budget review",
      highlights: [[4, 13], [14, 20]], thumbnail_url: null, modalities: ["transcript", "ocr"], score: 0.9, speaker: null }], next_cursor: null };
    const fetchMock = vi.fn(async (req: Request) => {
      expect(req.url).toContain("/api/v1/search?q=budget");
      return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
    });
    vi.stubGlobal("fetch", fetchMock);
    render(<MemoryRouter initialEntries={["/search?q=budget"]}><SearchPage /></MemoryRouter>);
    const marks = await screen.findAllByText(/quarterly|budget/, { selector: "mark" });
    expect(marks.map((m) => m.textContent)).toEqual(["quarterly", "budget"]);
    expect(screen.getByRole("link", { name: "Board meeting" })).toHaveAttribute("href", "/videos/v1?t=12.50");
    expect(screen.getByText("ocr", { selector: ".badge" })).toBeInTheDocument(); // matched modalities
  });

  it("says what to try when nothing matches", async () => {
    saveSession({ access: "tok", expiresAt: Date.now() + 600_000, tenant: null, role: "owner" });
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({ items: [], next_cursor: null }), { status: 200, headers: { "Content-Type": "application/json" } })));
    render(<MemoryRouter initialEntries={["/search?q=zebra"]}><SearchPage /></MemoryRouter>);
    expect(await screen.findByText("No moments match “zebra”.")).toBeInTheDocument();
  });
});

describe("MinutesChart", () => {
  it("draws one bar per month and the quota line", () => {
    const data = ["2026-09", "2026-10", "2026-11"].map((month, i) => ({ month, processing_minutes: i * 10, api_calls: 0, storage_bytes: 0, tier: "free", limits: {} }));
    const { container } = render(<MinutesChart data={data} quota={120} />);
    expect(container.querySelectorAll("rect.bar")).toHaveLength(3);
    expect(container.querySelector("line.quota")).not.toBeNull();
    expect(screen.getByText(/2026-11: 20.0 minutes/)).toBeInTheDocument();
  });
});
