import { useRef, useState, type DragEvent } from "react";
import { uploadVideo, type Video } from "../api/upload";
import { bytes } from "../lib/format";

interface Item { id: number; name: string; size: number; progress: number; state: "uploading" | "done" | "rejected"; reason?: string; abort?: () => void }

let seq = 0;

/** Drop or pick several files; each uploads on its own with a progress bar and the server's verdict. */
export function UploadZone({ onUploaded }: { onUploaded: (v: Video) => void }) {
  const [items, setItems] = useState<Item[]>([]);
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const patch = (id: number, p: Partial<Item>) => setItems((xs) => xs.map((x) => (x.id === id ? { ...x, ...p } : x)));

  function start(files: FileList | File[]) {
    for (const file of Array.from(files)) {
      const id = ++seq;
      const h = uploadVideo(file, (f) => patch(id, { progress: f }));
      setItems((xs) => [{ id, name: file.name, size: file.size, progress: 0, state: "uploading", abort: h.abort }, ...xs]);
      h.promise.then(
        (v) => { patch(id, { state: "done", progress: 1 }); onUploaded(v); },
        (e: Error) => patch(id, { state: "rejected", reason: e.message }),
      );
    }
  }

  function drop(e: DragEvent) {
    e.preventDefault();
    setOver(false);
    if (e.dataTransfer.files.length) start(e.dataTransfer.files);
  }

  return (
    <section aria-label="Upload videos" className="upload">
      <div className={`dropzone${over ? " over" : ""}`} onDragOver={(e) => { e.preventDefault(); setOver(true); }}
           onDragLeave={() => setOver(false)} onDrop={drop}>
        <p>Drop video files here, or</p>
        <button type="button" onClick={() => input.current?.click()}>Choose files…</button>
        <input ref={input} type="file" multiple accept="video/*,audio/*" hidden aria-label="Video files"
               data-testid="file-input" onChange={(e) => { if (e.target.files) start(e.target.files); e.target.value = ""; }} />
      </div>
      {items.length > 0 && (
        <ul className="uploads" aria-label="Uploads">
          {items.map((it) => (
            <li key={it.id} className={`upload-item ${it.state}`}>
              <span className="name">{it.name}</span> <span className="hint">{bytes(it.size)}</span>
              {it.state === "uploading" && (
                <>
                  <progress max={100} value={Math.round(it.progress * 100)} aria-label={`Uploading ${it.name}`} />
                  <button type="button" className="link" onClick={it.abort}>Cancel</button>
                </>
              )}
              {it.state === "done" && <span className="ok">Uploaded; processing starts shortly.</span>}
              {it.state === "rejected" && <span role="alert" className="reject">Rejected: {it.reason}</span>}
              {it.state !== "uploading" && (
                <button type="button" className="link" aria-label={`Dismiss ${it.name}`}
                        onClick={() => setItems((xs) => xs.filter((x) => x.id !== it.id))}>Dismiss</button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
