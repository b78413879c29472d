// Small pieces every page uses: links, status badges, errors, loading, not found.
import type { ComponentChildren } from "preact";
import { onLinkClick } from "./router";
import { ApiError } from "./api";

export function Link(props: { href: string; class?: string; children: ComponentChildren; title?: string }) {
  return (
    <a href={props.href} class={props.class} title={props.title} onClick={onLinkClick}>
      {props.children}
    </a>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status.toLowerCase()}`}>{status}</span>;
}

export function Loading() {
  return <p class="muted" role="status">Loading…</p>;
}

/** An error as the user should read it: its message, never a stack trace. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (error instanceof ApiError && error.status === 404) return <NotFound message={error.message} />;
  const message = error instanceof ApiError ? error.message : error instanceof Error ? error.message : String(error);
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

export function NotFound({ message }: { message?: string }) {
  return (
    <section class="not-found">
      <h1>Not found</h1>
      <p>{message ?? "Nothing lives at this address."}</p>
      <Link href="/">Back to experiments</Link>
    </section>
  );
}
