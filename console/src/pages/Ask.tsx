import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { ApiError } from "../api/client";
import { ask, type Answer, type Citation } from "../api/contract";
import { Empty, ErrorBox, Loading } from "../components/State";
import { clock } from "../lib/format";

const citeLink = (c: Citation) => `/videos/${c.video_id}?t=${c.start.toFixed(2)}`;

export function AskPage() {
  const [question, setQuestion] = useState("");
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setAnswer(null);
    try {
      setAnswer(await ask(question.trim()));
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  }

  const unavailable = error instanceof ApiError && (error.status === 404 || error.status === 405);
  const byN = new Map(answer?.citations.map((c) => [c.n, c]) ?? []);
  // Only verified sentences are shown: what a model wrote that the videos do not say (an injected
  // instruction it obeyed, say) is left out, not greyed out, and only counted.
  const verified = answer?.sentences?.filter((s) => s.supported) ?? [];
  const leftOut = (answer?.sentences?.length ?? 0) - verified.length;
  return (
    <>
      <h1>Ask</h1>
      <form className="ask" onSubmit={submit}>
        <label htmlFor="question">Ask a question about your videos</label>
        <textarea id="question" rows={3} value={question} onChange={(e) => setQuestion(e.target.value)}
                  placeholder="When does the budget review start?" />
        <button type="submit" disabled={busy || !question.trim()}>{busy ? "Thinking…" : "Ask"}</button>
      </form>
      {busy && <Loading label="Finding the answer in your library…" />}
      {unavailable && <Empty title="Answers are not available on this server yet.">Ask your operator to upgrade clipdex.</Empty>}
      {error && !unavailable && <ErrorBox error={error} what="No answer" />}
      {!answer && !busy && !error && <Empty title="Answers come with their sources.">Every sentence cites the moments it is based on; a citation opens the player there.</Empty>}
      {answer && (
        <section className="answer card" aria-label="Answer">
          {!answer.supported && <p className="hint">Your library does not seem to contain the answer.</p>}
          <p data-testid="answer">
            {(verified.length ? verified : [{ text: answer.answer, citations: [], supported: answer.supported }]).map((s, i) => (
              <span key={i}>
                {s.text}
                {s.citations.map((n) => byN.get(n) && (
                  <sup key={n}><Link to={citeLink(byN.get(n)!)} aria-label={`Source ${n}`}>[{n}]</Link></sup>
                ))}{" "}
              </span>
            ))}
          </p>
          {leftOut > 0 && <p className="hint">{leftOut === 1 ? "One sentence" : `${leftOut} sentences`} of the answer left out: your videos do not say {leftOut === 1 ? "it" : "them"}.</p>}
          {answer.citations.length > 0 && (
            <>
              <h2>Sources</h2>
              <ol className="citations">
                {answer.citations.map((c) => (
                  <li key={c.n} value={c.n}>
                    <Link to={citeLink(c)}>{c.video_title || "Video"} at {clock(c.start)}</Link>
                    <blockquote>{c.text}</blockquote>
                  </li>
                ))}
              </ol>
            </>
          )}
          <p className="hint">Answered by the {answer.backend} backend.</p>
        </section>
      )}
    </>
  );
}
