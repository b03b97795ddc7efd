// Every request to the Backend API, and its errors in words a person understands.
//
// The console is served from the same origin as the API (the API in the embedded mode, nginx in
// production), so paths are relative. The API key lives in the tab's sessionStorage: it is gone
// when the tab closes and never leaves the browser except in the Authorization header.

import { label } from "./format.js";

const KEY = "voxbridge.apiKey";

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  signIn(key) { sessionStorage.setItem(KEY, key); },
  signOut() { sessionStorage.removeItem(KEY); },
};

export class ApiError extends Error {
  constructor(status, message, field = null) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

export async function api(path, { method = "GET", json, body, contentType, key } = {}) {
  const headers = { Accept: "application/json" };
  const token = key ?? session.key;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (contentType) {
    headers["Content-Type"] = contentType;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body });
  } catch {
    throw new ApiError(0, "The console cannot reach the VoxBridge API. Check that the API is " +
      "running and your network is up, then try again.");
  }
  const text = await response.text();
  let payload = null;
  try { payload = text ? JSON.parse(text) : null; } catch { payload = null; }
  if (response.ok) return payload;
  // An import that stopped part-way still reports the rows it stored and the rows it refused.
  if (payload && payload.errors && payload.rows !== undefined) return payload;
  throw new ApiError(response.status, explain(response, payload), payload?.field ?? null);
}

function explain(response, payload) {
  const said = payload?.message;
  const field = payload?.field;
  switch (response.status) {
    case 401:
      return "Your API key was not accepted. Sign in again with a valid key.";
    case 403:
      return "This API key is not allowed to do that.";
    case 404:
      return field ? `No such ${label(field)}: it may have been deleted.` : "Not found.";
    case 409:
      return `Not possible right now: ${said ?? "the object changed meanwhile"}.`;
    case 413:
      return "The file is too large for one import. Split it and import the parts.";
    case 415:
      return "The file must be CSV or JSON, in UTF-8.";
    case 429: {
      const wait = response.headers.get("Retry-After") ?? "a few";
      return `Too many requests. Wait ${wait} seconds and try again.`;
    }
    case 502: case 503: case 504:
      return "The API is unavailable right now (its database or cache cannot be reached). " +
        "Try again in a few seconds.";
    default:
      if (response.status >= 500) return "The API failed to answer. Try again, and tell your " +
        "administrator if it keeps happening.";
      if (field && said) return `Please check ${label(field)}: ${said}.`;
      return said ?? `The request was refused (HTTP ${response.status}).`;
  }
}
