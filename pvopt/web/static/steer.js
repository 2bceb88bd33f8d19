// pvopt web: steering each load (AUTO / ON / OFF, "boost N min at P W").
// An ES module imported by app.js; no inline script or style (strict CSP), every text
// from the server (GET /api/loads, in the page's language), every value put in the page
// as text, never as HTML. A press sends one control message through pvopt web; the
// answer says "sent", never "done": what the regulation did shows in its own status
// (the live view). The mode buttons show the mode that status reports (aria-pressed and
// the class "current"; none while it is stale or the load is boosted), and the list is
// fetched again when the loads in that status change (the regulation reloaded its
// configuration).

import { api } from "./app.js";
import { element as el } from "./dom.js";

const MODES = [
  ["AUTO", "steer_auto"],
  ["ON", "steer_on"],
  ["OFF", "steer_off"],
];

let texts = {};
let section = null;
/** The loads of the regulation's last status (live.js's snapshots), and their set. */
let statusLoads = [];
let statusKey = null;
let building = null;

function t(key, fallback) {
  return Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : fallback;
}

/** The message of a refusal: the page's own words for a known code, else the server's. */
function refusalText(body, status) {
  if (body && typeof body.code === "string") {
    const known = t(`steer_err_${body.code}`, "");
    if (known) return known;
  }
  if (body && typeof body.error === "string") return body.error;
  return `HTTP ${status}`;
}

async function send(load, action, payload, line, buttons) {
  line.className = "steer-result";
  line.textContent = "…";
  for (const button of buttons) button.disabled = true;
  try {
    const response = await api(`/api/loads/${encodeURIComponent(load.id)}/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (response.ok && body && body.status === "sent") {
      line.textContent = t("steer_sent", "Sent.");
    } else {
      line.className = "steer-result error";
      line.textContent = refusalText(body, response.status);
    }
  } catch (error) {
    line.className = "steer-result error";
    line.textContent = t("steer_err_network", "No answer.");
  } finally {
    for (const button of buttons) button.disabled = false;
  }
}

function loadCard(load, bounds) {
  const line = el("p", { class: "steer-result", role: "status", "aria-live": "polite" });
  const buttons = [];
  const modes = el("div", { class: "steer-modes" });
  for (const [mode, key] of MODES) {
    const button = el("button", {
      type: "button",
      "data-mode": mode,
      "aria-pressed": "false",
      text: t(key, mode),
    });
    button.addEventListener("click", () => send(load, "mode", { mode }, line, buttons));
    buttons.push(button);
    modes.append(button);
  }
  const minutes = el("input", {
    type: "number",
    name: "minutes",
    min: String(bounds.min),
    max: String(bounds.max),
    step: "1",
    value: "30",
    required: "",
    inputmode: "numeric",
    "aria-label": t("steer_minutes", "min"),
  });
  const power = el("input", {
    type: "number",
    name: "power_w",
    min: String(Math.ceil(load.min_boost_w) || 1),
    max: String(load.max_power_w),
    step: "1",
    value: String(Math.round(load.max_power_w)),
    required: "",
    inputmode: "numeric",
    "aria-label": t("steer_watts", "W"),
  });
  const boost = el("button", { type: "submit", text: t("steer_boost", "Boost") });
  buttons.push(boost);
  const form = el("form", { class: "steer-boost", novalidate: "" }, [
    boost,
    minutes,
    el("span", { text: t("steer_minutes", "min") }),
    el("span", { text: t("steer_at", "at") }),
    power,
    el("span", { text: t("steer_watts", "W") }),
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    // The server validates everything; numbers are sent as typed (NaN → null → refused).
    const payload = { minutes: Number(minutes.value), power_w: Number(power.value) };
    send(load, "boost", payload, line, buttons);
  });
  const max = t("steer_max", "max {watts} W").replace("{watts}", String(load.max_power_w));
  return el("div", { class: "steer-load", "data-load": load.id }, [
    el("h3", { text: load.name }),
    el("p", { class: "hint", text: max }),
    modes,
    form,
    line,
  ]);
}

/** Each mode button pressed when it is the mode the regulation reports for its load. */
function showModes() {
  if (!section) return;
  for (const card of section.querySelectorAll(".steer-load")) {
    const load = statusLoads.find((item) => item.id === card.dataset.load);
    const mode = load && !load.stale ? load.mode : null;
    for (const button of card.querySelectorAll("button[data-mode]")) {
      const pressed = mode === button.dataset.mode.toLowerCase();
      button.setAttribute("aria-pressed", pressed ? "true" : "false");
      button.classList.toggle("current", pressed);
    }
    card.classList.toggle("forced", mode === "forced");
  }
}

function loadsKey(loads) {
  return loads
    .map((load) => `${load.id}\u0000${load.name}`)
    .sort()
    .join("\u0001");
}

function onSnapshot(snapshot) {
  const loads = snapshot && Array.isArray(snapshot.loads) ? snapshot.loads : [];
  statusLoads = loads;
  if (loads.length > 0) {
    const key = loadsKey(loads);
    const changed = statusKey !== null && key !== statusKey;
    statusKey = key;
    if (changed) {
      build(); // a reload of the regulation's configuration: the list again
      return;
    }
  }
  showModes();
}

async function build() {
  if (building) await building; // one fetch at a time, the newest list wins
  building = fill();
  try {
    await building;
  } finally {
    building = null;
  }
  showModes();
}

async function fill() {
  let body = null;
  let status = 0;
  try {
    const response = await api("/api/loads");
    status = response.status;
    body = await response.json();
  } catch (error) {
    body = null;
  }
  if (!body || !Array.isArray(body.loads)) {
    const reason = body && typeof body.error === "string" ? body.error : `HTTP ${status}`;
    section.replaceChildren(el("p", { class: "error", role: "alert", text: reason }));
    return;
  }
  texts = body.texts && typeof body.texts === "object" ? body.texts : {};
  section.replaceChildren(
    el("h2", { text: t("steer_heading", "Controls") }),
    ...body.loads.map((load) => loadCard(load, body.boost_minutes)),
  );
}

function start() {
  const main = document.querySelector("main");
  if (!main) return;
  section = el("section", { id: "steer", class: "card" });
  main.append(section);
  document.addEventListener("pvopt:snapshot", (event) => onSnapshot(event.detail));
  build();
}

start();
