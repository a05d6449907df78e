import type { ReactNode } from "react";
import { ApiError } from "../api/client";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return <p className="state loading" role="status" aria-live="polite"><span className="spinner" aria-hidden="true" />{label}</p>;
}

/** An error with what the user can do about it. */
export function ErrorBox({ error, retry, what }: { error: Error; retry?: () => void; what?: string }) {
  let hint = "Check your connection and try again.";
  if (error instanceof ApiError) {
    if (error.status === 403) hint = "Your role does not allow this. Ask an owner or admin of this tenant.";
    else if (error.status === 404) hint = "It may have been deleted, or it belongs to another tenant.";
    else if (error.status === 409) hint = "It is not ready yet; processing may still be running.";
    else if (error.status === 429) hint = "You hit a limit of your tier. Wait a moment or ask an owner to upgrade.";
    else if (error.status < 500) hint = "Correct the input and try again.";
    else hint = "The server had a problem. Try again; if it persists, tell your operator the request id.";
  }
  return (
    <div className="state error" role="alert">
      <strong>{what ?? "Something went wrong"}:</strong> {error.message} <span className="hint">{hint}</span>
      {retry && !(error instanceof ApiError && [403, 404].includes(error.status)) && <button type="button" onClick={retry}>Try again</button>}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state empty">
      <p className="empty-title">{title}</p>
      {children && <div className="hint">{children}</div>}
    </div>
  );
}
