// The API as the gate page uses it: same origin, bearer token, a short timeout. An answer the door cannot use
// (no network, a timeout, a 5xx from the API or a proxy in front of it) is `Unreachable`: the page then decides
// offline. A 4xx is `Refused`, with the problem+json body.

export class Unreachable extends Error {}

export class Refused extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.code = this.problem.code || `http_${status}`;
  }
}

export async function call(method, path, { token = "", body, timeoutMs = 4000 } = {}) {
  if (navigator.onLine === false) throw new Unreachable("the device is offline");
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: abort.signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    throw new Unreachable(error.name === "AbortError" ? "the API did not answer in time" : String(error.message));
  } finally {
    clearTimeout(timer);
  }
  if (response.status >= 500) throw new Unreachable(`the API answered ${response.status}`);
  let data = null;
  try {
    data = await response.json();
  } catch {
    if (response.ok) throw new Unreachable("the API's answer was not JSON");
  }
  if (!response.ok) throw new Refused(response.status, data);
  return data;
}

export const api = {
  events: (token) => call("GET", "/v1/events", { token }),
  keys: () => call("GET", "/.well-known/boxoffice/keys.json"),
  bundle: (token, eventId) => call("GET", `/v1/events/${encodeURIComponent(eventId)}/gate-bundle`, { token, timeoutMs: 15000 }),
  scan: (token, body) => call("POST", "/v1/scans", { token, body, timeoutMs: 3500 }),
  upload: (token, body) => call("POST", "/v1/scans/batch", { token, body, timeoutMs: 20000 }),
  alive: () => call("GET", "/healthz", { timeoutMs: 2500 }),
};
