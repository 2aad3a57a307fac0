// The REST API under /api/v1: JSON requests with the bearer token, errors in words, and the progress stream
// (Server-Sent Events read with fetch, since EventSource cannot send an Authorization header).

// Relative to the page, so that the API and its page also work behind a reverse proxy under a path prefix.
export const API = new URL("api/v1", document.baseURI).pathname;
const TOKEN_KEY = "nexus.token";

export class ApiError extends Error {
  constructor(status, body, headers) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "error";
    this.field = error.field || null;
    this.details = Array.isArray(error.details) ? error.details : [];
    this.extra = error;
    const header = headers ? Number(headers.get("Retry-After")) : NaN;
    this.retryAfter = Number.isFinite(header) && header > 0 ? header : Number(error.retry_after_s) || null;
  }

  /** The field errors as [field, message] pairs (422 details, or the one field a 403/409 names). */
  fieldErrors() {
    if (this.details.length) return this.details.map((d) => [d.field || "body", d.message || this.message]);
    return this.field ? [[this.field, this.message]] : [];
  }
}

/** What went wrong, for a person. */
export function describeError(err) {
  if (!(err instanceof ApiError)) {
    if (err && err.name === "AbortError") return "";
    return `Cannot reach the server (${err && err.message ? err.message : err}). Check the connection and try again.`;
  }
  switch (err.status) {
    case 401:
      return `You are not signed in any more (${err.message}). Sign in again.`;
    case 402: {
      const { cost, balance } = err.extra;
      if (Number.isFinite(cost) && Number.isFinite(balance)) {
        return `Not enough tokens: this video costs ${cost} tokens and your balance is ${balance}.`;
      }
      return `Not enough tokens: ${err.message}.`;
    }
    case 403:
      return err.code === "plan_limit" ? `Your plan does not allow this: ${err.message}.` : err.message;
    case 404:
      return "Not found: it may have been removed, or it belongs to someone else.";
    case 409:
      return err.message;
    case 413:
      return "The request is too large.";
    case 422:
      return `Please check the form: ${err.message}.`;
    case 429: {
      const wait = err.retryAfter ? Math.ceil(err.retryAfter) : null;
      return wait ? `Too many requests. Try again in ${wait} s.` : "Too many requests. Try again in a moment.";
    }
    default:
      return err.status >= 500
        ? `The server had a problem (${err.message}). Try again later.`
        : err.message;
  }
}

export class Client {
  constructor() {
    this.token = sessionStorage.getItem(TOKEN_KEY);
    this.onUnauthorized = () => {};
  }

  setToken(token) {
    this.token = token || null;
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  }

  headers(extra = {}) {
    const headers = { Accept: "application/json", ...extra };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    return headers;
  }

  async request(method, path, { body, headers, signal } = {}) {
    const init = { method, headers: this.headers(headers), signal, cache: "no-store" };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    const response = await fetch(path.startsWith("/") ? path : `${API}/${path}`, init);
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const err = new ApiError(response.status, data, response.headers);
      if (response.status === 401 && this.token) this.onUnauthorized(err);
      throw err;
    }
    return data;
  }

  get(path, options) {
    return this.request("GET", path, options);
  }

  post(path, body, options = {}) {
    return this.request("POST", path, { ...options, body });
  }

  /** Calls onEvent(name, data) for each event until the stream ends; resolves then, rejects on errors. */
  async stream(path, onEvent, signal) {
    const response = await fetch(`${API}/${path}`, {
      headers: this.headers({ Accept: "text/event-stream" }), signal, cache: "no-store",
    });
    if (!response.ok) {
      let data = null;
      try {
        data = await response.json();
      } catch {
        data = null;
      }
      throw new ApiError(response.status, data, response.headers);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const blocks = buffer.split(/\r?\n\r?\n/);
      buffer = blocks.pop();
      for (const block of blocks) {
        let name = "message";
        const data = [];
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const content = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") name = content;
          else if (field === "data") data.push(content);
        }
        if (!data.length) continue;
        let parsed;
        try {
          parsed = JSON.parse(data.join("\n"));
        } catch {
          continue;
        }
        onEvent(name, parsed);
      }
    }
  }
}
