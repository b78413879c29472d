// The UI talks only to the server's HTTP API (`/api/v1/...`, POST + JSON). With tokens
// configured, the token the user typed is sent as `Authorization: Bearer` — a header, never a
// cookie, so another site cannot make the browser send it (no CSRF).

const TOKEN_KEY = "mlcore.token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
  }
}

export function token(): string | null {
  return window.localStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string | null): void {
  if (value) window.localStorage.setItem(TOKEN_KEY, value);
  else window.localStorage.removeItem(TOKEN_KEY);
  window.dispatchEvent(new Event("mlcore-token"));
}

/** Fired when the server answers 401: the app asks for a token. */
export const AUTH_NEEDED = "mlcore-auth-needed";

function headers(json: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (json) out["Content-Type"] = "application/json";
  const value = token();
  if (value) out["Authorization"] = `Bearer ${value}`;
  return out;
}

async function failure(response: Response): Promise<ApiError> {
  let code = "HTTP_" + response.status;
  let message = response.statusText || "request failed";
  let field: string | null = null;
  try {
    const body = await response.json();
    code = body.error_code ?? code;
    message = body.message ?? message;
    field = body.field ?? null;
  } catch {
    /* not JSON: keep the status line */
  }
  if (response.status === 401) window.dispatchEvent(new Event(AUTH_NEEDED));
  return new ApiError(response.status, code, message, field);
}

/** POST `body` to `/api/v1/<endpoint>`; the JSON answer, or an ApiError. */
export async function call<T>(endpoint: string, body: unknown = {}): Promise<T> {
  const response = await fetch(`/api/v1/${endpoint}`, {
    method: "POST",
    headers: headers(true),
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

/** GET an artifact file's bytes (the artifact proxy), as a Response for the caller to read. */
export async function fetchFile(path: string, init: RequestInit = {}): Promise<Response> {
  const response = await fetch(`/api/v1/artifact-files/${path}`, {
    ...init,
    headers: { ...headers(false), ...(init.headers ?? {}) },
  });
  if (!response.ok) throw await failure(response);
  return response;
}
