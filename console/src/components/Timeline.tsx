import { useEffect, useState } from "react";
import { api, authJson, unwrap, type Schemas } from "../api/client";
import { chapters as loadChapters } from "../api/contract";
import { clock } from "../lib/format";
import { Thumb } from "./Thumb";

interface Mark { start: number; end: number; label: string }
type Shot = Schemas["Shot"];
interface Track { name: string; marks: Mark[] | null; note?: string }

const pick = (o: Record<string, unknown>, ...keys: string[]) => keys.map((k) => o[k]).find((v) => v != null);
const num = (o: Record<string, unknown>, ...keys: string[]) => Number(pick(o, ...keys) ?? 0);

function marks(items: unknown[] | undefined, label: (o: Record<string, unknown>) => string): Mark[] {
  return (items ?? []).map((x) => {
    const o = x as Record<string, unknown>;
    return { start: num(o, "start_s", "start"), end: num(o, "end_s", "end"), label: label(o) };
  });
}

async function optional<T>(p: Promise<T>): Promise<T | null> {
  try { return await p; } catch { return null; }
}

/** Everything the analyzers found, on one time axis; every item seeks the player. */
export function Timeline({ videoId, duration, onSeek }: { videoId: string; duration: number; onSeek: (t: number) => void }) {
  const [shots, setShots] = useState<Shot[] | null>(null);
  const [tracks, setTracks] = useState<Track[]>([]);
  const base = `/api/v1/videos/${videoId}`;

  useEffect(() => {
    let live = true;
    (async () => {
      const [sh, sc, ch, pe, tg, so, tx, co] = await Promise.all([
        optional(api.GET("/api/v1/videos/{video_id}/shots", { params: { path: { video_id: videoId } } }).then(unwrap)),
        optional(api.GET("/api/v1/videos/{video_id}/scenes", { params: { path: { video_id: videoId } } }).then(unwrap)),
        optional(loadChapters(videoId)),
        optional(api.GET("/api/v1/videos/{video_id}/people", { params: { path: { video_id: videoId } } }).then((r) => r.data ?? null)),
        optional(authJson<{ tags: unknown[] }>(`${base}/tags`)),
        optional(authJson<{ events: unknown[] }>(`${base}/sound-events`)),
        optional(authJson<{ spans: unknown[] }>(`${base}/text`)),
        optional(authJson<{ findings: unknown[] }>(`${base}/compliance`)),
      ]);
      if (!live) return;
      setShots(sh?.shots ?? []);
      const people: Mark[] = (pe ?? []).flatMap((p) => p.appearances.map((a) => ({ start: a.start_s, end: a.end_s, label: p.name ?? "Unnamed person" })));
      setTracks([
        { name: "Scenes", marks: sc ? sc.scenes.map((x) => ({ start: x.start_s, end: x.end_s, label: `Scene ${x.index + 1}` })) : null },
        { name: "Chapters", marks: ch ? marks(ch.items, (o) => String(o.title ?? "Chapter")) : null, note: "Chapters appear once the summary is computed." },
        { name: "People", marks: pe ? people : null },
        { name: "Tags", marks: tg ? marks(tg.tags, (o) => String(pick(o, "tag", "label") ?? "tag")) : null },
        { name: "Sounds", marks: so ? marks(so.events, (o) => String(o.tag ?? "sound")) : null },
        { name: "On-screen text", marks: tx ? marks(tx.spans, (o) => String(o.text ?? "")) : null },
        { name: "Compliance", marks: co ? marks(co.findings, (o) => `${String(o.check)}: ${String(o.message ?? "")}`) : null,
          note: "No compliance report (the stage has not run)." },
      ]);
    })();
    return () => { live = false; };
  }, [videoId, base]);

  const d = Math.max(duration, 0.001);
  return (
    <section className="timeline" aria-label="Timeline">
      <h2>Timeline</h2>
      <ul className="storyboard" aria-label="Shots">
        {shots === null && <li className="hint">Loading shots…</li>}
        {shots?.length === 0 && <li className="hint">Shots are not available (visual analysis off or still running).</li>}
        {shots?.slice(0, 60).map((s) => (
          <li key={s.index}><button type="button" className="shot" onClick={() => onSeek(s.start_s)}
                  aria-label={`Shot ${s.index + 1} at ${clock(s.start_s)}`} title={`Shot ${s.index + 1} · ${clock(s.start_s)}`}>
            {s.keyframe ? <Thumb videoId={videoId} stage="visual" name={s.keyframe.replace(".jpg", "-160.jpg")} alt="" className="kf" />
              : <span className="kf placeholder" />}
            <span className="t">{clock(s.start_s)}</span>
          </button></li>
        ))}
      </ul>
      <dl className="tracks">
        {tracks.map((t) => (
          <div key={t.name} className="track">
            <dt>{t.name}</dt>
            <dd>
              {t.marks === null && <span className="hint">{t.note ?? "Not available for this video."}</span>}
              {t.marks?.length === 0 && <span className="hint">None found.</span>}
              {t.marks && t.marks.length > 0 && (
                <div className="lane">
                  {t.marks.slice(0, 200).map((m, i) => (
                    <button key={i} type="button" className="mark" onClick={() => onSeek(m.start)}
                            style={{ left: `${(m.start / d) * 100}%`, width: `max(0.6rem, ${((m.end - m.start) / d) * 100}%)` }}
                            aria-label={`${m.label} at ${clock(m.start)}`} title={`${m.label} · ${clock(m.start)}`}>
                      <span aria-hidden="true">{m.label}</span>
                    </button>
                  ))}
                </div>
              )}
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
