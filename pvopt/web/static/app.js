// pvopt web: the page shell's behaviour (an ES module; no build step, no inline script).
// Keep the session alive while the page is open, and go back to the login page as soon as
// the server says the session has ended (logout elsewhere, expiry, restart, new password).
// The live view is its own module (live.js).

import "./live.js";

import "./steer.js";

import "./meter.js";

import "./settings.js";
import "./history.js";

const REFRESH_MS = 60_000;

/** The CSRF token every state-changing request of this session must carry. */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** fetch() with the session cookie and, for a state-changing method, the CSRF header. */
export async function api(path, options = {}) {
  const method = (options.method || "GET").toUpperCase();
  const headers = new Headers(options.headers || {});
  if (method !== "GET" && method !== "HEAD") {
    headers.set("X-CSRF-Token", csrfToken());
  }
  const response = await fetch(path, {
    ...options,
    method,
    headers,
    credentials: "same-origin",
    cache: "no-store",
  });
  if (response.status === 401) {
    window.location.assign("/login");
    throw new Error("session ended");
  }
  return response;
}

async function checkSession() {
  try {
    const response = await api("/api/session");
    if (!response.ok) return;
    const session = await response.json();
    const count = document.getElementById("sessions");
    if (count && typeof session.sessions === "number") {
      count.dataset.count = String(session.sessions);
    }
  } catch (error) {
    // Offline for a moment (Wi-Fi, a restart of pvopt web): try again at the next tick.
  }
}

checkSession();
setInterval(checkSession, REFRESH_MS);
