// pvopt web: the history view. Today's or yesterday's curves (grid, PV surplus, each load's
// power, the tank temperature) and the last 30 days' energy and € per day, from
// GET /api/history/day and /api/history/days (JSON, read from InfluxDB by the server).
// An ES module imported by app.js; no inline script or style (strict CSP): the charts are
// SVG built here, coloured by classes of style.css; every text is set with textContent.
// A gap in the data is a gap in a line and a "—" in the table, never a zero. It asks the
// server only while the view is open (a <details>) and the page is visible.

import { api } from "./app.js";
import { formatEnergy, makeTexts } from "./format.js";
import { el } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const REFRESH_MS = 300_000; // the server's buckets are 5 minutes
const HEIGHT = 200;
const MARGIN = { left: 52, right: 8, top: 14, bottom: 22 };
const DAYS = 30;
const MIN_LABEL_GAP = 44; // px between two labels of the time axis

const root = document.getElementById("history");
const body = document.getElementById("history-body");
const t = makeTexts(root ? JSON.parse(root.dataset.texts || "{}") : {});
const lang = document.documentElement.lang || "fr";

let view = "today"; // or "yesterday"
let today = null; // the house's date, from the server's first answer
const docs = { day: null, days: null };
const problems = { day: null, days: null };
let loading = false;
let timer = null;
let drawnWidth = 0;

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function number(value, digits = 0) {
  return new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(value);
}

function euros(value) {
  if (value === null || value === undefined) return "—";
  return new Intl.NumberFormat(lang, { style: "currency", currency: "EUR" }).format(value);
}

function dayLabel(iso, long) {
  const [y, m, d] = iso.split("-").map(Number);
  const options = long
    ? { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" }
    : { day: "numeric", month: "numeric", timeZone: "UTC" };
  return new Intl.DateTimeFormat(lang, options).format(new Date(Date.UTC(y, m - 1, d)));
}

function previousDay(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
}

/** Round steps (1, 2, 5 × 10^k) from min to max, 0 included. */
function niceTicks(min, max, count = 4) {
  let low = Math.min(min, 0);
  let high = Math.max(max, 0);
  if (high - low < 1e-9) high = low + 1;
  const raw = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw);
  low = Math.floor(low / step) * step;
  high = Math.ceil(high / step) * step;
  const ticks = [];
  for (let v = low; v <= high + step / 2; v += step) ticks.push(Math.round(v / step) * step);
  return { low, high, ticks, step };
}

function chartWidth() {
  return Math.max(300, Math.floor((body && body.clientWidth) || 320));
}

/** The frame of a chart: its y axis with ticks and unit, the x axis labels from `xticks`. */
function frame(width, yScale, unit, digits, xticks) {
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${HEIGHT}`,
    width: "100%",
    class: "history-chart",
    role: "img",
  });
  const plotRight = width - MARGIN.right;
  for (const value of yScale.ticks) {
    const y = yScale.y(value);
    chart.append(
      svg("line", {
        x1: MARGIN.left,
        x2: plotRight,
        y1: y,
        y2: y,
        class: value === 0 ? "axis zero" : "grid-line",
      }),
      svg("text", { x: MARGIN.left - 4, y: y + 4, class: "tick y" }, number(value, digits)),
    );
  }
  chart.append(svg("text", { x: 2, y: 10, class: "unit" }, unit));
  let labelled = -Infinity; // a label only where it does not run into the previous one
  for (const tick of xticks) {
    chart.append(
      svg("line", {
        x1: tick.x,
        x2: tick.x,
        y1: MARGIN.top,
        y2: HEIGHT - MARGIN.bottom,
        class: "grid-line",
      }),
    );
    if (tick.x - labelled >= MIN_LABEL_GAP) {
      chart.append(svg("text", { x: tick.x, y: HEIGHT - 6, class: "tick x" }, tick.label));
      labelled = tick.x;
    }
  }
  return chart;
}

function yScaleOf(values, digits) {
  const known = values.filter((v) => v !== null && v !== undefined);
  const scale = niceTicks(Math.min(...known, 0), Math.max(...known, 0));
  const span = HEIGHT - MARGIN.top - MARGIN.bottom;
  scale.y = (v) => MARGIN.top + ((scale.high - v) / (scale.high - scale.low)) * span;
  scale.digits = digits;
  return scale;
}

/** One path per line: a step per 5-minute bucket (its mean), broken where no value. */
function stepPath(values, x, y) {
  let d = "";
  let open = false;
  values.forEach((value, i) => {
    if (value === null || value === undefined) {
      open = false;
      return;
    }
    const yv = y(value).toFixed(1);
    d += open ? `V${yv}H${x(i + 1).toFixed(1)}` : `M${x(i).toFixed(1)} ${yv}H${x(i + 1).toFixed(1)}`;
    open = true;
  });
  return d;
}

function legend(items) {
  const list = el("ul", "history-legend");
  for (const item of items) {
    const entry = el("li", item.cls);
    entry.append(el("span", "swatch"), el("span", null, item.label));
    list.append(entry);
  }
  return list;
}

/** A load keeps its colour in both charts: its place among the day's loads. */
function seriesClass(line, loads) {
  if (line.kind === "grid") return "h-grid";
  if (line.kind === "pv") return "h-pv";
  return `h-${line.kind === "temperature" ? "temp" : "load"}-${loads.indexOf(line.name) % 6}`;
}

function lineLabel(line) {
  if (line.kind === "grid") return t("history_grid");
  if (line.kind === "pv") return t("history_pv");
  return line.name;
}

function lineChart(doc, lines, unit, digits, title) {
  const width = chartWidth();
  const plot = width - MARGIN.left - MARGIN.right;
  const x = (i) => MARGIN.left + (i / doc.buckets) * plot;
  const scale = yScaleOf(lines.flatMap((l) => l.values), digits);
  const xticks = doc.ticks.map((tick) => ({
    x: x((tick.at_s - doc.start_s) / doc.step_s),
    label: tick.label,
  }));
  const chart = frame(width, scale, unit, digits, xticks);
  chart.setAttribute("aria-label", title);
  chart.append(svg("title", {}, title));
  const items = [];
  const loads = [...new Set(doc.lines.filter((l) => l.name !== null).map((l) => l.name))];
  lines.forEach((line) => {
    const cls = seriesClass(line, loads);
    chart.append(svg("path", { d: stepPath(line.values, x, scale.y), class: `line ${cls}`, "data-key": line.key }));
    items.push({ cls, label: lineLabel(line) });
  });
  const figure = el("figure", "history-figure");
  figure.append(el("figcaption", null, title), chart, legend(items));
  return figure;
}

/** Bars per day (oldest left), side by side for each group; no bar where null. */
function barChart(days, groups, unit, digits, title, scaleValue) {
  const width = chartWidth();
  const plot = width - MARGIN.left - MARGIN.right;
  const slot = plot / days.length;
  const bar = Math.max(1, (slot * 0.8) / groups.length);
  const values = groups.flatMap((g) => days.map((d) => scaleValue(g.value(d))));
  const scale = yScaleOf(values, digits);
  const every = days.length > 10 ? 5 : 1;
  const xticks = [];
  days.forEach((day, i) => {
    if ((days.length - 1 - i) % every === 0) {
      xticks.push({ x: MARGIN.left + (i + 0.5) * slot, label: dayLabel(day.date, false) });
    }
  });
  const chart = frame(width, scale, unit, digits, xticks);
  chart.setAttribute("aria-label", title);
  chart.append(svg("title", {}, title));
  days.forEach((day, i) => {
    groups.forEach((group, g) => {
      const value = scaleValue(group.value(day));
      if (value === null) return;
      const top = scale.y(Math.max(value, 0));
      const height = Math.abs(scale.y(value) - scale.y(0));
      const rect = svg("rect", {
        x: (MARGIN.left + i * slot + slot * 0.1 + g * bar).toFixed(1),
        y: top.toFixed(1),
        width: bar.toFixed(1),
        height: Math.max(height, 0.5).toFixed(1),
        class: `bar ${group.cls}`,
        "data-date": day.date,
      });
      rect.append(svg("title", {}, `${dayLabel(day.date, true)} · ${group.label}: ${group.text(day)}`));
      chart.append(rect);
    });
  });
  const figure = el("figure", "history-figure");
  figure.append(el("figcaption", null, title), chart, legend(groups));
  return figure;
}

function problemLine(problem) {
  // The server's reason says "History unavailable: …" (in English): the page says it in
  // its own language, followed by the cause.
  const reason = problem.reason ? problem.reason.replace(/^History unavailable: /, "") : "";
  const text = problem.network ? t("history_network") : t("history_error", { reason });
  return el("p", "history-error", text);
}

function renderDay() {
  const section = el("section", "history-day");
  const nav = el("div", "history-nav");
  for (const name of ["today", "yesterday"]) {
    const button = el("button", view === name ? "selected" : null, t(`history_${name}`));
    button.type = "button";
    button.dataset.view = name;
    button.setAttribute("aria-pressed", String(view === name));
    button.addEventListener("click", () => choose(name));
    nav.append(button);
  }
  section.append(nav);
  const doc = docs.day;
  if (problems.day) {
    section.append(problemLine(problems.day));
    return section;
  }
  if (!doc) {
    section.append(el("p", "hint", t("history_loading")));
    return section;
  }
  section.append(el("h3", null, dayLabel(doc.date, true)));
  const power = doc.lines.filter((l) => l.unit === "W");
  const temperature = doc.lines.filter((l) => l.unit === "°C");
  if (!power.length && !temperature.length) {
    section.append(el("p", "hint", t("history_none")));
    return section;
  }
  if (power.length) section.append(lineChart(doc, power, "W", 0, t("history_power")));
  if (temperature.length) {
    section.append(lineChart(doc, temperature, "°C", 0, t("history_temperature")));
  }
  section.append(el("p", "hint", t("history_pv_note")), el("p", "hint", t("history_gaps")));
  return section;
}

function energyText(wh, source) {
  if (wh === null || wh === undefined) return "—";
  return `${source === "power" ? "≈ " : ""}${formatEnergy(wh, lang)}`;
}

function renderDays() {
  const section = el("section", "history-days");
  section.append(el("h3", null, t("history_days", { count: DAYS })));
  if (problems.days) {
    section.append(problemLine(problems.days));
    return section;
  }
  const doc = docs.days;
  if (!doc) {
    section.append(el("p", "hint", t("history_loading")));
    return section;
  }
  const kwh = (wh) => (wh === null || wh === undefined ? null : wh / 1000);
  const same = (v) => (v === null || v === undefined ? null : v);
  const energy = [
    { cls: "h-import", label: t("history_imported"), value: (d) => d.import_wh, text: (d) => energyText(d.import_wh, d.import_source) },
    { cls: "h-export", label: t("history_exported"), value: (d) => d.export_wh, text: (d) => energyText(d.export_wh, d.export_source) },
    { cls: "h-diverted", label: t("history_diverted"), value: (d) => d.diverted_wh, text: (d) => energyText(d.diverted_wh) },
  ];
  const money = [
    { cls: "h-cost", label: t("history_cost"), value: (d) => d.import_cost_eur, text: (d) => euros(d.import_cost_eur) },
    { cls: "h-saved", label: t("history_saved"), value: (d) => d.saved_eur, text: (d) => euros(d.saved_eur) },
  ];
  section.append(
    barChart(doc.days, energy, "kWh", 1, t("history_energy"), kwh),
    barChart(doc.days, money, "€", 2, t("history_money"), same),
    daysTable(doc.days, [...energy, ...money]),
    el("p", "hint", t("history_estimated")),
    el("p", "hint", t("history_unknown")),
  );
  return section;
}

function daysTable(days, columns) {
  const table = el("table", "history-table");
  const head = el("tr");
  for (const label of [t("history_day"), ...columns.map((c) => c.label)]) {
    const cell = el("th", null, label);
    cell.scope = "col";
    head.append(cell);
  }
  const thead = el("thead");
  thead.append(head);
  const tbody = el("tbody");
  for (const day of [...days].reverse()) {
    const row = el("tr");
    row.dataset.date = day.date;
    const first = el("th", null, dayLabel(day.date, true));
    first.scope = "row";
    row.append(first);
    for (const column of columns) row.append(el("td", column.cls, column.text(day)));
    tbody.append(row);
  }
  table.append(thead, tbody);
  const wrap = el("div", "history-table-wrap");
  wrap.append(table);
  return wrap;
}

function render() {
  if (!body) return;
  drawnWidth = chartWidth();
  body.replaceChildren(renderDay(), renderDays());
}

async function fetchJson(path) {
  try {
    const response = await api(path);
    let doc = null;
    try {
      doc = await response.json();
    } catch (error) {
      doc = null;
    }
    if (!response.ok) {
      const reason = doc && typeof doc.error === "string" ? doc.error : `HTTP ${response.status}`;
      return { problem: { reason } };
    }
    return { doc };
  } catch (error) {
    return { problem: { network: true } };
  }
}

function dayPath(which) {
  if (which === "yesterday" && today) return `/api/history/day?date=${previousDay(today)}`;
  return "/api/history/day";
}

async function loadDay() {
  const asked = view;
  if (asked === "yesterday" && !today) {
    const first = await fetchJson("/api/history/day");
    if (first.doc) today = first.doc.date;
  }
  const answer = await fetchJson(dayPath(asked));
  if (view !== asked) return; // another day was chosen meanwhile: its answer will do
  docs.day = answer.doc || null;
  problems.day = answer.problem || null;
  if (answer.doc && asked === "today") today = answer.doc.date;
}

async function loadDays() {
  const answer = await fetchJson(`/api/history/days?n=${DAYS}`);
  docs.days = answer.doc || null;
  problems.days = answer.problem || null;
}

async function refresh() {
  if (loading) return;
  loading = true;
  try {
    await Promise.all([loadDay(), loadDays()]);
  } finally {
    loading = false;
  }
  render();
}

async function choose(name) {
  if (view === name) return;
  view = name;
  docs.day = null;
  problems.day = null;
  render();
  await loadDay();
  render();
}

function stop() {
  clearInterval(timer);
  timer = null;
}

function start() {
  if (timer !== null) return;
  render();
  refresh();
  timer = setInterval(refresh, REFRESH_MS);
}

function update() {
  if (root && root.open && document.visibilityState !== "hidden") start();
  else stop();
}

if (root) {
  root.addEventListener("toggle", update);
  document.addEventListener("visibilitychange", update);
  window.addEventListener("resize", () => {
    if (root.open && Math.abs(chartWidth() - drawnWidth) > 20) render();
  });
  if (window.location.hash === "#history") root.open = true;
  update();
}
