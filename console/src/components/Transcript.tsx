import { useEffect, useMemo, useRef, useState } from "react";
import { authJson, type Schemas } from "../api/client";
import { activeWord, clock } from "../lib/format";

// The parts of the generated transcript types (GET /transcript, PATCH .../segments/{i}) the panel reads.
export type Word = Pick<Schemas["TranscriptWord"], "word" | "start" | "end"> & { space?: boolean };
export type Segment = Pick<Schemas["TranscriptSegment"], "start" | "end" | "text" | "speaker"> & { words: Word[] };
export type TranscriptDoc = Pick<Schemas["TranscriptDocument"], "language" | "speaker_names"> & { segments: Segment[] };

interface Props {
  videoId: string;
  doc: TranscriptDoc;
  time: number;
  onSeek: (t: number) => void;
  editable: boolean;
  onChange: (index: number, seg: Segment) => void;
}

/** The transcript beside the player: follows playback, click a word to seek, edit a segment in place. */
export function TranscriptPanel({ videoId, doc, time, onSeek, editable, onChange }: Props) {
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  const flat = useMemo(() => doc.segments.flatMap((s, si) => s.words.map((w, wi) => ({ ...w, si, wi }))), [doc]);
  const at = activeWord(flat, time);
  const activeSeg = at >= 0 ? flat[at].si : doc.segments.findIndex((s) => s.start <= time && time < s.end);

  useEffect(() => {
    const el = box.current?.querySelector<HTMLElement>(`[data-seg="${activeSeg}"]`);
    if (!follow || !el || !box.current) return;
    const top = el.offsetTop - box.current.offsetTop;
    if (top < box.current.scrollTop || top > box.current.scrollTop + box.current.clientHeight - el.clientHeight) {
      box.current.scrollTo({ top: Math.max(0, top - 40), behavior: "smooth" });
    }
  }, [activeSeg, follow]);

  if (doc.segments.length === 0) return <p className="hint">No speech was found in this video.</p>;
  const names = doc.speaker_names ?? {};
  return (
    <section className="transcript" aria-label="Transcript">
      <div className="panel-head">
        <h2>Transcript</h2>
        <label className="inline"><input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow playback</label>
      </div>
      <div className="transcript-body" ref={box}>
        {doc.segments.map((seg, si) => (
          <SegmentRow key={si} index={si} seg={seg} active={si === activeSeg} activeWord={si === activeSeg && at >= 0 ? flat[at].wi : -1}
                      speaker={seg.speaker ? names[seg.speaker] ?? seg.speaker : null} onSeek={onSeek} editable={editable}
                      videoId={videoId} onSaved={(s) => onChange(si, s)} />
        ))}
      </div>
    </section>
  );
}

function SegmentRow({ index, seg, active, activeWord: aw, speaker, onSeek, editable, videoId, onSaved }: {
  index: number; seg: Segment; active: boolean; activeWord: number; speaker: string | null; onSeek: (t: number) => void;
  editable: boolean; videoId: string; onSaved: (s: Segment) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(seg.text);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function save() {
    setBusy(true);
    setError(null);
    try {
      const updated = await authJson<Schemas["TranscriptSegment"]>(`/api/v1/videos/${videoId}/transcript/segments/${index}`,
        { method: "PATCH", body: JSON.stringify({ text, speaker: seg.speaker ?? null }) });
      onSaved(updated);
      setEditing(false);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className={`segment${active ? " active" : ""}`} data-seg={index}>
      <button type="button" className="time link" onClick={() => onSeek(seg.start)} aria-label={`Play from ${clock(seg.start)}`}>{clock(seg.start)}</button>
      {speaker && <span className="speaker">{speaker}</span>}
      {editing ? (
        <div className="edit">
          <label className="sr-only" htmlFor={`seg-${index}`}>Text of segment at {clock(seg.start)}</label>
          <textarea id={`seg-${index}`} value={text} onChange={(e) => setText(e.target.value)} rows={3} />
          {error && <p role="alert" className="reject">{error}</p>}
          <button type="button" onClick={save} disabled={busy || !text.trim()}>Save</button>
          <button type="button" className="secondary" onClick={() => { setEditing(false); setText(seg.text); }}>Cancel</button>
        </div>
      ) : (
        <p className="words">
          {seg.words.length ? seg.words.map((w, wi) => (
            <span key={wi} className={`word${wi === aw ? " current" : ""}${wi && w.space === false ? " glued" : ""}`} onClick={() => onSeek(w.start)} data-start={w.start}>{w.word.trim()}</span>
          )).flatMap((el, i) => (i && seg.words[i].space !== false ? [" ", el] : [el])) : seg.text}
          {" "}{editable && <button type="button" className="link edit-btn" onClick={() => setEditing(true)} aria-label={`Edit segment at ${clock(seg.start)}`}>Edit</button>}
        </p>
      )}
    </div>
  );
}
