// pvopt web: the meter view. Every label of the last TIC frame, STGE field by field, the
// frame rate and the rejected groups, from GET /api/meter (JSON). An ES module imported by
// app.js; no inline script or style (strict CSP); every value is written with textContent
// (never as HTML). It asks the server only while the view is open (a <details> the
// household opens) and the page is visible; the frame's age keeps counting in between.

import { api } from "./app.js";
import { formatAge, makeTexts } from "./format.js";
import { el } from "./dom.js";

const POLL_MS = 2000;
const TICK_MS = 1000;

const root = document.getElementById("meter");
const body = document.getElementById("meter-body");
const table = root ? JSON.parse(root.dataset.texts || "{}") : {};
const t = makeTexts(table);
const units = (key) => t(`meter_${key}`);
const lang = document.documentElement.lang || "fr";

let doc = null;
let receivedAt = 0;
let failed = false;
let pollTimer = null;
let tickTimer = null;

function has(key) {
  return Object.prototype.hasOwnProperty.call(table, key);
}

function row(label, value, className) {
  const line = el("div", `row${className ? ` ${className}` : ""}`);
  line.append(el("span", "label", label), el("span", "value", value));
  return line;
}

function ageNow(ageS) {
  return ageS + (performance.now() - receivedAt) / 1000;
}

function formatValue(value) {
  if (typeof value === "number") return new Intl.NumberFormat(lang).format(value);
  return value;
}

/** An STGE field in the page's words; the server's English text for an unknown code. */
function stgeMeaning(field) {
  const key = `meter_v_${field.code}`;
  if (!has(key)) return field.text;
  return t(key, { value: field.value });
}

function stgeName(field) {
  const key = `meter_stge_${field.name}`;
  return has(key) ? t(key) : field.description;
}

/** Stale as the server said, or since then by the clock (the server may be unreachable). */
function isStale(meter) {
  return meter.stale || ageNow(meter.age_s) > meter.stale_after_s;
}

function ageText(meter) {
  const age = formatAge(ageNow(meter.age_s), units);
  return t(isStale(meter) ? "meter_stale" : "meter_ago", { age });
}

function renderHeader(meter) {
  const stale = isStale(meter);
  const modeKey = `meter_mode_${meter.mode}`;
  const rejected =
    meter.rejected_groups === null ? "—" : formatValue(meter.rejected_groups);
  const parts = [
    row(t("meter_age"), ageText(meter), stale ? "stale meter-age" : "meter-age"),
    row(t("meter_mode"), has(modeKey) ? t(modeKey) : meter.mode || "—"),
    row(t("meter_rate"), formatValue(meter.frames_per_minute), "meter-rate"),
    row(
      t("meter_rejected"),
      `${rejected} / ${formatValue(meter.rejected_groups_total)}`,
      meter.rejected_groups ? "warn meter-rejected" : "meter-rejected",
    ),
  ];
  if (meter.ignored_labels) {
    parts.push(el("p", "hint", t("meter_ignored", { count: meter.ignored_labels })));
  }
  return parts;
}

function renderDecoder(decoder) {
  const section = el("section", "meter-decoder");
  section.append(el("h3", null, t("meter_decoder")));
  if (!decoder) {
    section.append(el("p", "hint", t("meter_decoder_none")));
    return section;
  }
  const stale = decoder.stale || ageNow(decoder.age_s) > 30;
  const groups = `${formatValue(decoder.groups_rejected)} (${formatValue(
    decoder.checksum_errors,
  )} / ${formatValue(decoder.malformed_groups)})`;
  section.append(
    row(t("meter_decoded_rate"), formatValue(decoder.frames_per_minute), "decoder-rate"),
    row(
      t("meter_frames"),
      `${formatValue(decoder.frames_accepted)} / ${formatValue(decoder.frames_rejected)}`,
      decoder.frames_rejected ? "warn decoder-frames" : "decoder-frames",
    ),
    row(t("meter_groups"), groups, decoder.groups_rejected ? "warn decoder-groups" : "decoder-groups"),
  );
  if (stale) {
    const age = formatAge(ageNow(decoder.age_s), units);
    section.append(el("p", "stale", t("meter_stale", { age })));
  }
  section.classList.toggle("stale", stale);
  return section;
}

function renderLabels(meter) {
  const grid = el("table", `meter-labels${isStale(meter) ? " stale" : ""}`);
  const head = el("tr");
  for (const key of ["meter_label", "meter_value", "meter_meaning"]) {
    const cell = el("th", null, t(key));
    cell.scope = "col";
    head.append(cell);
  }
  const thead = el("thead");
  thead.append(head);
  const tbody = el("tbody");
  for (const item of meter.labels) {
    const line = el("tr");
    line.dataset.label = item.label;
    const value = el("td", "value");
    value.textContent = `${formatValue(item.value)}${item.unit ? ` ${item.unit}` : ""}`;
    if (item.horodate) value.append(el("span", "hint horodate", item.horodate));
    line.append(el("th", "label", item.label), value, el("td", "hint", item.description));
    line.firstChild.scope = "row";
    tbody.append(line);
  }
  grid.append(el("caption", null, t("meter_labels")), thead, tbody);
  return grid;
}

function renderStge(meter) {
  const section = el("section", "meter-stge");
  const stge = meter.stge;
  section.append(el("h3", null, stge ? `${t("meter_stge")} ${stge.raw}` : t("meter_stge")));
  if (!stge) {
    section.append(el("p", "hint", t("meter_no_stge")));
    return section;
  }
  const list = el("dl");
  for (const field of stge.fields) {
    const term = el("dt", null, stgeName(field));
    term.append(el("span", "hint", ` (${t("meter_bits", { bits: field.bits })})`));
    const meaning = el("dd", null, stgeMeaning(field));
    meaning.dataset.field = field.name;
    list.append(term, meaning);
  }
  section.append(list);
  return section;
}

function render() {
  if (!body) return;
  const children = [];
  if (failed) children.push(el("p", "stale", t("meter_error")));
  const meter = doc ? doc.meter : null;
  if (!doc) {
    // nothing yet: the first answer is on its way
  } else if (!meter) {
    children.push(el("p", "hint", t("meter_none")), renderDecoder(doc.decoder));
  } else {
    children.push(
      ...renderHeader(meter),
      renderDecoder(doc.decoder),
      renderStge(meter),
      renderLabels(meter),
    );
  }
  body.replaceChildren(...children);
}

function renderAge() {
  const line = body ? body.querySelector(".meter-age") : null;
  if (!line || !doc || !doc.meter) return;
  if (isStale(doc.meter) !== line.classList.contains("stale")) {
    render(); // turned stale between two answers: grey the table too
    return;
  }
  line.querySelector(".value").textContent = ageText(doc.meter);
}

async function poll() {
  try {
    const response = await api("/api/meter");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    doc = await response.json();
    receivedAt = performance.now();
    failed = false;
  } catch (error) {
    failed = true; // the last values stay shown, their age counting
  }
  render();
}

function stop() {
  clearInterval(pollTimer);
  clearInterval(tickTimer);
  pollTimer = null;
  tickTimer = null;
}

function start() {
  if (pollTimer !== null) return;
  poll();
  pollTimer = setInterval(poll, POLL_MS);
  tickTimer = setInterval(renderAge, TICK_MS);
}

function update() {
  if (root && root.open && document.visibilityState !== "hidden") start();
  else stop();
}

if (root) {
  root.addEventListener("toggle", update);
  document.addEventListener("visibilitychange", update);
  if (window.location.hash === "#meter") root.open = true;
  update();
}
