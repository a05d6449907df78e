import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { api, unwrap } from "../api/client";

/** "Forgot password": a link by e-mail when the server has a mail server, else ask an administrator. */
export function ForgotPassword() {
  const [email, setEmail] = useState("");
  const [delivery, setDelivery] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setDelivery(unwrap(await api.POST("/api/v1/auth/password-reset", { body: { email } })).delivery);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="signin">
      <form onSubmit={submit} aria-labelledby="forgot-title" className="card">
        <h1 id="forgot-title">Reset your password</h1>
        {delivery === "email" && <p role="status" className="state">If an account has the e-mail {email}, a reset link is on its way. It works once, for a limited time.</p>}
        {delivery === "operator" && (
          <p role="status" className="state">This server sends no e-mail. Ask an administrator for a reset link: they create one
            with <code>clipdex admin reset-link {email || "EMAIL"}</code>.</p>
        )}
        {!delivery && <>
          <label>E-mail<input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} /></label>
          {error && <p role="alert" className="state error">{error}</p>}
          <button type="submit" disabled={busy}>{busy ? "Sending…" : "Send reset link"}</button>
        </>}
        <p className="hint"><Link to="/signin">Back to sign-in</Link></p>
      </form>
    </main>
  );
}

/** The page a reset link opens: the token is in the URL fragment (never sent to the server in the URL). */
export function ResetPassword() {
  const token = new URLSearchParams(window.location.hash.replace(/^#/, "")).get("token") ?? "";
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (password !== again) return setError("The two passwords differ.");
    setBusy(true);
    setError(null);
    try {
      unwrap(await api.POST("/api/v1/auth/password-reset/confirm", { body: { token, password } }));
      setDone(true);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="signin">
      <form onSubmit={submit} aria-labelledby="reset-title" className="card">
        <h1 id="reset-title">Choose a new password</h1>
        {!token && <p role="alert" className="state error">This page needs the link from a reset e-mail or an administrator. <Link to="/forgot-password">Ask for one</Link>.</p>}
        {done ? (
          <p role="status" className="state">Your password is set, and every device that was signed in has been signed out. <Link to="/signin">Sign in</Link></p>
        ) : token && <>
          <label>New password<input type="password" autoComplete="new-password" required minLength={10} value={password} onChange={(e) => setPassword(e.target.value)} /></label>
          <label>Repeat it<input type="password" autoComplete="new-password" required minLength={10} value={again} onChange={(e) => setAgain(e.target.value)} /></label>
          {error && <p role="alert" className="state error">{error}</p>}
          <button type="submit" disabled={busy}>{busy ? "Saving…" : "Set password"}</button>
        </>}
      </form>
    </main>
  );
}
