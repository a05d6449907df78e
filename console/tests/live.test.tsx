import { act, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LiveStatus } from "../src/components/JobStatus";
import { UploadZone } from "../src/components/UploadZone";
import { saveSession } from "../src/api/session";

const signedIn = () => saveSession({ access: "tok", expiresAt: Date.now() + 600_000, tenant: null, role: "owner" });
afterEach(() => vi.unstubAllGlobals());

const job = (status: string, progress: number, running?: string) => ({
  id: "j1", video_id: "v1", status, progress, created_at: "2026-01-01T00:00:00Z",
  stages: running ? [{ name: running, version: "1", status: "running", attempt: 1, progress: 0.5 }] : [],
});

describe("LiveStatus", () => {
  it("follows the job's event stream (with the bearer header) and reports the end", async () => {
    signedIn();
    let push!: (s: string) => void;
    let close!: () => void;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        const enc = new TextEncoder();
        push = (s) => c.enqueue(enc.encode(s));
        close = () => c.close();
      },
    });
    const seen: string[] = [];
    vi.stubGlobal("fetch", vi.fn(async (input: Request | string, init?: RequestInit) => {
      const url = typeof input === "string" ? input : input.url;
      const headers = new Headers(typeof input === "string" ? init?.headers : input.headers);
      seen.push(`${url.replace(window.location.origin, "")} ${headers.get("Authorization")}`);
      if (url.includes("/api/v1/jobs?")) return new Response(JSON.stringify({ items: [job("running", 0.1)], next_cursor: null }), { status: 200, headers: { "Content-Type": "application/json" } });
      return new Response(stream, { status: 200, headers: { "Content-Type": "text/event-stream" } });
    }));
    const onDone = vi.fn();
    render(<LiveStatus videoId="v1" status="processing" onDone={onDone} />);
    await act(async () => push(`event: progress\ndata: ${JSON.stringify(job("running", 0.4, "transcribe"))}\n\n`));
    expect(await screen.findByText(/transcribe… 40%/)).toBeInTheDocument();
    expect(screen.getByRole("progressbar", { name: "Processing 40%" })).toBeInTheDocument();
    await act(async () => {
      push(`event: progress\ndata: ${JSON.stringify(job("succeeded", 1))}\n\nevent: done\ndata: ${JSON.stringify(job("succeeded", 1))}\n\n`);
      close();
    });
    await waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(seen).toContain("/api/v1/jobs/j1/events Bearer tok");
  });

  it("shows a plain badge for finished videos and opens no stream", () => {
    const fetchMock = vi.fn();
    vi.stubGlobal("fetch", fetchMock);
    render(<LiveStatus videoId="v1" status="ready" />);
    expect(screen.getByText("ready")).toBeInTheDocument();
    expect(fetchMock).not.toHaveBeenCalled();
  });
});

class FakeXhr {
  static sent: FakeXhr[] = [];
  upload: { onprogress: ((e: { lengthComputable: boolean; loaded: number; total: number }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  status = 0;
  responseText = "";
  headers: Record<string, string> = {};
  body: FormData | null = null;
  open() {}
  setRequestHeader(k: string, v: string) { this.headers[k] = v; }
  send(body: FormData) { this.body = body; FakeXhr.sent.push(this); }
  abort() { this.onabort?.(); }
  answer(status: number, body: unknown) { this.status = status; this.responseText = JSON.stringify(body); this.onload?.(); }
}

describe("UploadZone", () => {
  it("uploads several files with a progress bar each and shows the server's reason for a rejected one", async () => {
    signedIn();
    FakeXhr.sent = [];
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const onUploaded = vi.fn();
    render(<UploadZone onUploaded={onUploaded} />);
    const files = [new File(["x".repeat(100)], "talk.mp4", { type: "video/mp4" }), new File(["junk"], "notes.mp4", { type: "video/mp4" })];
    await act(async () => {
      const input = screen.getByTestId("file-input") as HTMLInputElement;
      Object.defineProperty(input, "files", { value: files, configurable: true });
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await waitFor(() => expect(FakeXhr.sent).toHaveLength(2));
    const [good, bad] = FakeXhr.sent;
    expect(good.headers.Authorization).toBe("Bearer tok");
    expect((good.body!.get("file") as File).name).toBe("talk.mp4");
    await act(async () => good.upload.onprogress!({ lengthComputable: true, loaded: 40, total: 100 }));
    expect(screen.getByRole("progressbar", { name: "Uploading talk.mp4" })).toHaveAttribute("value", "40");
    expect(screen.getByRole("progressbar", { name: "Uploading notes.mp4" })).toHaveAttribute("value", "0");
    await act(async () => {
      good.answer(201, { id: "v1", title: "talk" });
      bad.answer(422, { type: "about:blank", title: "Rejected", status: 422, code: "media.unsupported", detail: "The file is not a recognised audio or video format." });
    });
    expect(onUploaded).toHaveBeenCalledWith({ id: "v1", title: "talk" });
    expect(screen.getByRole("alert")).toHaveTextContent("Rejected: The file is not a recognised audio or video format.");
    expect(screen.getByText(/Uploaded; processing starts shortly/)).toBeInTheDocument();
  });
});
