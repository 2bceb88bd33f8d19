// pvopt web: the settings view, equipment_config.yml shown and edited.
// An ES module imported by app.js; no inline script or style (strict CSP), every text
// from the server (GET /api/settings, in the page's language), every value put in the
// page as text, never as HTML. A save sends the text and the version it was shown; the
// server checks it exactly as `pvopt check-config` does and answers each problem with its
// line, marked in the gutter and listed under the editor. Whether the regulation took
// the new file shows from its own retained regulation/config (polled), never assumed.

import { api } from "./app.js";
import { element as el } from "./dom.js";

const POLL_MS = 1000;
const POLL_TRIES = 30;

let texts = {};

function t(key, fallback, values = {}) {
  let text = Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : fallback;
  for (const [name, value] of Object.entries(values)) {
    text = text.split(`{${name}}`).join(String(value));
  }
  return text;
}

function clock(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return String(iso);
  return when.toLocaleTimeString(document.documentElement.lang || undefined, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  });
}

/** A problem's message in the page's language: the French page shows ``message_fr``
 * (pvopt.web.config_messages) when the server gave it, else the check's English. */
function messageOf(error) {
  const french = document.documentElement.lang === "fr" && typeof error.message_fr === "string";
  return String(french ? error.message_fr : error.message);
}

const view = {
  version: "",
  editor: null,
  gutter: null,
  errors: null,
  result: null,
  regulation: null,
  backups: null,
  save: null,
  marks: new Map(), // line → messages
  waitingFor: "", // the version saved, until the regulation reports on it
  polls: 0,
};

/** One gutter row per line of the text, the lines with an error marked. */
function drawGutter() {
  const count = view.editor.value.split("\n").length;
  const rows = [];
  for (let line = 1; line <= count; line += 1) {
    const row = el("div", { "data-line": String(line), text: String(line) });
    const messages = view.marks.get(line);
    if (messages) {
      row.className = "bad";
      row.title = messages.join("\n");
    }
    rows.push(row);
  }
  view.gutter.replaceChildren(...rows);
  view.gutter.scrollTop = view.editor.scrollTop;
}

/** Put the caret at the start of ``line`` and bring it into view. */
function goToLine(line) {
  const lines = view.editor.value.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i += 1) offset += lines[i].length + 1;
  view.editor.focus();
  view.editor.setSelectionRange(offset, offset);
  const height = view.editor.scrollHeight / Math.max(lines.length, 1);
  view.editor.scrollTop = Math.max(0, (line - 3) * height);
}

function showErrors(errors) {
  view.marks = new Map();
  const items = [];
  for (const error of errors) {
    const line = Number.isInteger(error.line) ? error.line : null;
    if (line !== null) {
      if (!view.marks.has(line)) view.marks.set(line, []);
      view.marks.get(line).push(messageOf(error));
    }
    const where = line !== null ? t("settings_line", "line {line}", { line }) : "";
    const path = error.path ? `${error.path}: ` : "";
    const item = el("li", { class: "settings-error" }, [
      el("span", { class: "where", text: where }),
      el("span", { class: "message", text: `${path}${messageOf(error)}` }),
    ]);
    if (line !== null) {
      item.dataset.line = String(line);
      item.addEventListener("click", () => goToLine(line));
    }
    items.push(item);
  }
  view.errors.replaceChildren(...items);
  view.errors.hidden = items.length === 0;
  drawGutter();
}

function say(text, kind = "") {
  view.result.className = `settings-result ${kind}`.trim();
  view.result.textContent = text;
}

/** The regulation's own word on what it runs (its retained regulation/config). */
function showRegulation(doc) {
  const line = view.regulation;
  line.className = "settings-regulation";
  if (!doc || typeof doc !== "object" || !doc.last_reload) {
    line.textContent = t("settings_regulation_none", "No word from the regulation yet.");
    return false;
  }
  const last = doc.last_reload;
  const loads = Array.isArray(doc.loads) ? doc.loads.length : 0;
  if (view.waitingFor && last.version !== view.waitingFor) {
    line.textContent = t("settings_regulation_waiting", "Waiting for the regulation…");
    return false;
  }
  if (last.result === "refused") {
    line.className = "settings-regulation error";
    const refused = t("settings_regulation_refused", "Reload refused at {time}.", {
      time: clock(last.at),
      loaded: clock(doc.loaded_at),
    });
    const reasons = Array.isArray(last.errors) ? last.errors.map(messageOf) : [];
    line.textContent = [refused, ...reasons].join(" ");
    return true;
  }
  const key = last.result === "started" ? "settings_regulation_started" : "settings_regulation_loaded";
  line.className = "settings-regulation ok";
  line.textContent = t(key, "Regulation: reloaded at {time}, {loads} load(s).", {
    time: clock(doc.loaded_at),
    loads,
  });
  if (doc.version !== view.version && !view.waitingFor) {
    line.textContent += ` ${t("settings_regulation_other", "It runs another version.")}`;
  }
  return true;
}

async function poll() {
  try {
    const response = await api("/api/settings/regulation");
    const body = await response.json();
    if (showRegulation(body.regulation)) {
      view.waitingFor = "";
      return;
    }
  } catch (error) {
    // pvopt web restarting: try again
  }
  view.polls += 1;
  if (view.polls < POLL_TRIES) {
    setTimeout(poll, POLL_MS);
    return;
  }
  view.regulation.className = "settings-regulation error";
  view.regulation.textContent = t(
    "settings_regulation_silent",
    "No confirmation from the regulation.",
  );
}

function showBackups(names) {
  const items = (Array.isArray(names) ? names : []).map((name) => el("li", { text: name }));
  view.backups.replaceChildren(...items);
  view.backups.parentElement.hidden = items.length === 0;
}

async function load() {
  say("");
  let body = null;
  let status = 0;
  try {
    const response = await api("/api/settings");
    status = response.status;
    body = await response.json();
  } catch (error) {
    body = null;
  }
  if (!body || typeof body.text !== "string") {
    const reason = body && typeof body.error === "string" ? body.error : `HTTP ${status}`;
    say(reason, "error");
    return false;
  }
  texts = body.texts && typeof body.texts === "object" ? body.texts : texts;
  view.editor.value = body.text;
  view.version = body.version;
  view.path.textContent = body.path;
  showErrors([]);
  showBackups(body.backups);
  showRegulation(body.regulation);
  return true;
}

async function save() {
  view.save.disabled = true;
  say("…");
  try {
    const response = await api("/api/settings", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: view.editor.value, version: view.version }),
    });
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (response.ok && body && body.status === "saved") {
      view.version = body.version;
      showErrors([]);
      if (body.reload === "sent") {
        say(t("settings_saved", "Saved ({loads} loads).", { loads: body.loads }), "ok");
        view.waitingFor = body.version;
        view.regulation.className = "settings-regulation";
        view.regulation.textContent = t("settings_regulation_waiting", "Waiting…");
        view.polls = 0;
        setTimeout(poll, POLL_MS / 2);
      } else {
        say(t("settings_saved_not_sent", "Saved; the regulation was not told."), "error");
      }
      const fresh = await api("/api/settings");
      if (fresh.ok) showBackups((await fresh.json()).backups);
    } else if (response.status === 422 && body && Array.isArray(body.errors)) {
      showErrors(body.errors);
      say(t("settings_invalid", "{count} error(s).", { count: body.errors.length }), "error");
    } else if (response.status === 409) {
      say(t("settings_changed", "The file changed meanwhile: nothing was written."), "error");
    } else {
      const reason = body && typeof body.error === "string" ? body.error : `HTTP ${response.status}`;
      say(reason, "error");
    }
  } catch (error) {
    say(t("settings_network", "pvopt web does not answer."), "error");
  } finally {
    view.save.disabled = false;
  }
}

async function start() {
  const main = document.querySelector("main");
  if (!main) return;
  const section = el("section", { id: "settings", class: "card" });
  main.append(section);
  view.editor = el("textarea", {
    id: "settings-text",
    spellcheck: "false",
    autocapitalize: "off",
    autocomplete: "off",
    wrap: "off",
    rows: "18",
  });
  view.gutter = el("div", { class: "settings-gutter", "aria-hidden": "true" });
  view.errors = el("ol", { class: "settings-errors", role: "alert" });
  view.errors.hidden = true;
  view.result = el("p", { class: "settings-result", role: "status", "aria-live": "polite" });
  view.regulation = el("p", { class: "settings-regulation", "aria-live": "polite" });
  view.path = el("code", { class: "settings-path" });
  view.backups = el("ul", { class: "settings-backups" });
  view.save = el("button", { type: "button", class: "settings-save" });
  const again = el("button", { type: "button", class: "settings-load secondary" });
  const heading = el("h2");
  const hint = el("p", { class: "hint" });
  const backupsTitle = el("summary");
  section.append(
    heading,
    hint,
    el("p", {}, [view.path]),
    el("div", { class: "settings-editor" }, [view.gutter, view.editor]),
    view.errors,
    el("div", { class: "settings-actions" }, [view.save, again]),
    view.result,
    view.regulation,
    el("details", { class: "settings-backup-list" }, [backupsTitle, view.backups]),
  );
  view.editor.addEventListener("input", drawGutter);
  view.editor.addEventListener("scroll", () => {
    view.gutter.scrollTop = view.editor.scrollTop;
  });
  view.save.addEventListener("click", save);
  again.addEventListener("click", load);
  const loaded = await load();
  heading.textContent = t("settings_heading", "Settings");
  hint.textContent = t("settings_hint", "");
  view.save.textContent = t("settings_save", "Save");
  again.textContent = t("settings_reload", "Reload the file");
  backupsTitle.textContent = t("settings_backups", "Backups");
  view.save.disabled = !loaded;
}

start();
