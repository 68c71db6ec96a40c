"use client";
import Link from "next/link";
import { useState, type FormEvent } from "react";
import { ApiError, api } from "@/lib/client/api";
import { FieldError } from "./FieldError";

/** Only same-site paths are followed after login, never another origin ("//evil.example"). */
function safeNext(next: string | null): string {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

/**
 * The access token form: POST /api/login sets the session cookie, then back to where the user was going.
 * A studio started without STUDIO_TOKEN has nothing to sign in to, and says so instead.
 */
export function LoginForm({ next, tokenRequired }: { next: string | null; tokenRequired: boolean }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!token.trim()) {
      setError("Enter the studio's access token.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.login(token.trim());
      // A full load, so every server-rendered part is rendered again with the new session cookie.
      window.location.assign(new URL(safeNext(next), window.location.origin).href);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? "That token is not right." : (err as Error).message);
      setBusy(false);
    }
  };

  if (!tokenRequired) {
    return (
      <section className="card login" data-testid="login-open">
        <h1 className="login-title">No sign-in needed</h1>
        <p className="hint">
          This studio was started without an access token (STUDIO_TOKEN), so it only listens on this machine and every page is open.
        </p>
        <Link href={safeNext(next)} className="button button-primary button-large">
          Open the studio
        </Link>
      </section>
    );
  }

  return (
    <form className="card login" onSubmit={(e) => void submit(e)} noValidate>
      <h1 className="login-title">Sign in to Wan Studio</h1>
      <p className="hint">This studio is protected. Enter the access token it was started with (STUDIO_TOKEN).</p>
      <div className="field">
        <label className="label" htmlFor="token">
          Access token
        </label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          autoFocus
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "token-error" : undefined}
        />
        <FieldError id="token-error" message={error ?? undefined} />
      </div>
      <button type="submit" className="button button-primary button-large" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
