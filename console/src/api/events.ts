// Job progress as server-sent events. EventSource cannot send an Authorization header, so this
// reads the stream with fetch and parses the SSE framing itself; it reconnects after a drop.
import { authFetch } from "./client";
import type { Schemas } from "./client";

export type Job = Schemas["JobPublic"];
export interface SseEvent { event: string; data: string }

/** Splits an SSE text buffer into complete events and the unfinished rest. */
export function parseSse(buffer: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  const blocks = buffer.replace(/\r\n/g, "\n").split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) events.push({ event, data: data.join("\n") });
  }
  return { events, rest };
}

/** Calls onJob with every snapshot until the job ends (resolves) or the signal aborts. */
export async function followJob(jobId: string, onJob: (j: Job) => void, signal: AbortSignal): Promise<Job | null> {
  let delay = 1000;
  while (!signal.aborted) {
    try {
      const r = await authFetch(`/api/v1/jobs/${jobId}/events`, { signal, headers: { Accept: "text/event-stream" } });
      if (!r.ok || !r.body) throw new Error(`events ${r.status}`);
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const parsed = parseSse(buf + value);
        buf = parsed.rest;
        for (const ev of parsed.events) {
          const job = JSON.parse(ev.data) as Job;
          onJob(job);
          if (ev.event === "done") return job;
        }
        delay = 1000;
      }
    } catch (e) {
      if (signal.aborted) return null;
      if (e instanceof Error && /events 40[34]/.test(e.message)) return null;
    }
    await new Promise((res) => setTimeout(res, delay));
    delay = Math.min(delay * 2, 15000);
  }
  return null;
}

// Browsers allow ~6 connections per origin over HTTP/1.1: at most three streams at once, so the
// rest of the console keeps working while many videos process.
const MAX_STREAMS = 3;
let active = 0;
const waiting: (() => void)[] = [];

export async function withStreamSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (active >= MAX_STREAMS) await new Promise<void>((res) => waiting.push(res));
  active++;
  try {
    return await fn();
  } finally {
    active--;
    waiting.shift()?.();
  }
}
