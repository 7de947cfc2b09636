// The one way the console talks to the service: the public HTTP API, the key in the X-API-Key header.
// The key lives in sessionStorage (gone when the tab closes); it is never put in a URL and never logged.

const KEY_STORAGE = "recsys.console.apiKey";

export class ApiError extends Error {
  // An error answer in the house shape {"error": {"code", "message", "details"}}.
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
}

// Query string from an object: empty values are left out, arrays repeat the parameter (exclude=a&exclude=b).
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "" || value === false) continue;
    for (const one of Array.isArray(value) ? value : [value]) search.append(name, String(one));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const error = body && body.error ? body.error : {};
  const message = error.message || `the service answered ${response.status}`;
  return new ApiError(response.status, error.code || "http_error", message, error.details);
}

// One API call. `body` (an object) is sent as JSON; `options.key` replaces the stored key (signing in),
// `options.headers` adds headers (Idempotency-Key). Resolves to the parsed answer, rejects with ApiError.
export async function api(method, path, body, options = {}) {
  const key = options.key || storedKey();
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (key) headers["X-API-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network_error", "the service could not be reached", []);
  }
  if (!response.ok) throw await errorOf(response);
  return response.status === 204 ? null : response.json();
}
