// pvopt web: the live view. The snapshots come from /api/events (server-sent events: one
// on connect, then one per change and when a reading turns stale); EventSource reconnects
// by itself, and the page says so meanwhile. Every value is written with textContent
// (never as HTML). Ages keep counting between snapshots (redrawn every second).

import {
  formatAge,
  formatCelsius,
  formatEnergy,
  formatMoney,
  formatPercent,
  formatPower,
  makeTexts,
} from "./format.js";
import { el } from "./dom.js";

const RECOVER_MS = 5000;

const root = document.getElementById("live");
const lang = document.documentElement.lang || "fr";
const t = makeTexts(root ? JSON.parse(root.dataset.texts || "{}") : {});

let snapshot = null;
let receivedAt = 0;
let connection = "connecting"; // "live", "reconnecting"

function byId(id) {
  return document.getElementById(id);
}

/** The age of a reading now: its age in the snapshot plus the time since it arrived. */
function ageNow(ageS) {
  if (ageS === null || ageS === undefined) return null;
  return ageS + (performance.now() - receivedAt) / 1000;
}

function staleNote(item) {
  if (!item || !item.stale) return null;
  return el("p", "stale", t("stale", { age: formatAge(ageNow(item.age_s), t) }));
}

function row(label, value, className) {
  const line = el("div", `row${className ? ` ${className}` : ""}`);
  line.append(el("span", "label", label), el("span", "value", value));
  return line;
}

function fill(id, title, ...children) {
  const section = byId(id);
  if (!section) return;
  section.replaceChildren(el("h2", null, title), ...children.filter((c) => c));
}

function renderGrid(grid) {
  if (!grid) {
    fill("grid", t("grid"), el("p", "big", "—"));
    return;
  }
  const exporting = grid.power_w < 0;
  const big = el("p", `big ${exporting ? "export" : "import"}`);
  big.append(
    el("span", "label", t(exporting ? "exporting" : "importing")),
    el("span", "value", formatPower(Math.abs(grid.power_w), lang)),
  );
  fill("grid", t("grid"), big, staleNote(grid));
  byId("grid").classList.toggle("is-stale", Boolean(grid.stale));
}

function renderPv(pv) {
  if (!pv || (pv.forecast_issued === null && pv.forecast_energy_today_wh === null)) {
    fill("pv", t("pv"), el("p", "hint", t("pv_none")));
    return;
  }
  const stale = pv.forecast_stale
    ? el("p", "stale", t("stale", { age: formatAge(ageNow(pv.forecast_age_s), t) }))
    : null;
  fill(
    "pv",
    t("pv"),
    row(t("pv_now"), formatPower(pv.forecast_power_w, lang), "big-row"),
    row(t("pv_today"), formatEnergy(pv.forecast_energy_today_wh, lang)),
    row(t("pv_tomorrow"), formatEnergy(pv.forecast_energy_tomorrow_wh, lang)),
    stale,
  );
}

function tempoChip(colour) {
  const chip = el("span", `chip tempo-${colour || "none"}`);
  chip.textContent = colour ? t(`colour_${colour}`) : t("colour_none");
  return chip;
}

function renderTariff(tariff) {
  if (!tariff) {
    fill("tariff", t("tariff"), el("p", "big", "—"));
    return;
  }
  const period = [tariff.period || tariff.label || "—"];
  if (tariff.offpeak === true) period.push(t("offpeak"));
  if (tariff.offpeak === false) period.push(t("peak"));
  const parts = [row(t("period"), period.join(" · "), "big-row")];
  if (tariff.colour_today || tariff.colour_tomorrow) {
    const today = row(t("tempo_today"), "");
    today.lastChild.replaceChildren(tempoChip(tariff.colour_today));
    const tomorrow = row(t("tempo_tomorrow"), "");
    tomorrow.lastChild.replaceChildren(tempoChip(tariff.colour_tomorrow));
    parts.push(today, tomorrow);
  }
  if (tariff.ejp) {
    // what the regulation was told on regulation/ejp (an ejp contract only)
    parts.push(
      row(t("ejp_today"), ejpDay(tariff.ejp.today)),
      row(t("ejp_tomorrow"), ejpDay(tariff.ejp.tomorrow)),
    );
  }
  fill("tariff", t("tariff"), ...parts, staleNote(tariff));
}

function ejpDay(announced) {
  if (announced === true) return t("ejp_day");
  return announced === false ? t("ejp_normal") : t("ejp_unknown");
}

// The regulation says why in English (its status is an API); the server adds the French
// (reason_fr, pvopt.web.reasons), which a French page shows.
function reasonText(item) {
  return lang === "fr" && typeof item.reason_fr === "string" ? item.reason_fr : item.reason;
}

function renderRegulation(regulation, today) {
  if (!regulation) {
    fill("regulation", t("regulation"), el("p", "hint", t("no_loads")));
    return;
  }
  fill(
    "regulation",
    t("regulation"),
    row(t("diverted"), formatPower(regulation.diverted_w, lang), "big-row"),
    row(t("surplus"), formatPower(regulation.surplus_w, lang)),
    row(t("target"), formatPower(regulation.target_w, lang)),
    row(t("loads_today"), formatEnergy(regulation.loads_energy_today_wh, lang)),
    row(t("diverted_today"), formatEnergy(today ? today.diverted_today_wh : null, lang), "today-diverted"),
    row(t("saved_today"), formatMoney(today ? today.saved_today_eur : null, lang), "today-saved"),
    row(t("import_cost_today"), formatMoney(today ? today.import_cost_today_eur : null, lang)),
    regulation.reason ? el("p", "reason", reasonText(regulation)) : null,
    staleNote(regulation),
  );
}

function renderLoad(load) {
  const item = el("li", `load ${load.on ? "on" : "off"}${load.stale ? " is-stale" : ""}`);
  const head = el("div", "load-head");
  head.append(
    el("span", "name", load.name),
    el("span", "power", formatPower(load.power_w, lang)),
  );
  const state = [t(load.on ? "load_on" : "load_off"), t(`mode_${load.mode}`)];
  const percent = formatPercent(load.percent, lang);
  if (percent) state.push(percent);
  item.append(head, el("p", "load-state", state.join(" · ")));
  if (load.temperature) {
    const temp = load.temperature;
    const source = temp.source === "probe" ? ` (${t("probe")})` : "";
    item.append(row(t("tank"), `${formatCelsius(temp.temperature_c, lang)}${source}`));
    const note = staleNote(temp);
    if (note) item.append(note);
  }
  item.append(row(t("energy_today"), formatEnergy(load.energy_today_wh, lang)));
  if (load.reason) item.append(el("p", "reason", reasonText(load)));
  const note = staleNote(load);
  if (note) item.append(note);
  return item;
}

function renderLoads(loads) {
  if (!loads || loads.length === 0) {
    fill("loads", t("loads"), el("p", "hint", t("no_loads")));
    return;
  }
  const list = el("ul", "loads");
  list.append(...loads.map(renderLoad));
  fill("loads", t("loads"), list);
}

function stateRow(label, state, since, good) {
  const text = since === null ? t(`state_${state}`) : `${t(`state_${state}`)}, ${t("since", { age: formatAge(since, t) })}`;
  return row(label, text, state === good ? "ok" : "bad");
}

function renderStatus(snap) {
  const daemons = snap.daemons || {};
  const rows = ["teleinfo", "regulation"].map((name) => {
    const d = daemons[name] || { state: "unknown", age_s: null };
    return stateRow(t(`daemon_${name}`), d.state, ageNow(d.age_s), "online");
  });
  if (snap.broker) {
    rows.push(stateRow(t("broker"), snap.broker.state, ageNow(snap.broker.age_s), "connected"));
  }
  const database = snap.database || { state: "unknown", waiting_points: 0 };
  let text = t(`database_${database.state}`);
  if (database.waiting_points > 0) {
    const count = new Intl.NumberFormat(lang).format(database.waiting_points);
    text += `, ${t("points_waiting", { count })}`;
  }
  rows.push(row(t("database"), text, `database ${database.state === "up" ? "ok" : "bad"}`));
  fill("status", t("status"), ...rows);
}

function renderAlerts(alerts) {
  const list = byId("alerts");
  if (!list) return;
  list.replaceChildren(...(alerts || []).map((code) => el("li", code, t(`alert_${code}`))));
  list.hidden = list.childElementCount === 0;
}

function renderConnection() {
  const line = byId("connection");
  if (!line) return;
  line.textContent = t(connection);
  line.className = `connection ${connection}`;
  if (root) root.classList.toggle("offline", connection !== "live");
}

export function render() {
  renderConnection();
  if (!snapshot) return;
  renderAlerts(snapshot.alerts);
  renderGrid(snapshot.grid);
  renderPv(snapshot.pv);
  renderTariff(snapshot.tariff);
  renderRegulation(snapshot.regulation, snapshot.today);
  renderLoads(snapshot.loads);
  renderStatus(snapshot);
}

function setConnection(state) {
  if (state !== connection) {
    connection = state;
    renderConnection();
  }
}

async function recover() {
  // The stream was refused (the session ended, or too many streams): which one?
  try {
    const response = await fetch("/api/session", { credentials: "same-origin", cache: "no-store" });
    if (response.status === 401) {
      window.location.assign("/login");
      return;
    }
  } catch (error) {
    // the server is away: try the stream again anyway
  }
  connect();
}

function connect() {
  const source = new EventSource("/api/events");
  source.onopen = () => setConnection("live");
  source.onmessage = (event) => {
    try {
      snapshot = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    receivedAt = performance.now();
    connection = "live";
    render();
    // the other views (steer.js) follow the regulation's status from the same snapshot
    document.dispatchEvent(new CustomEvent("pvopt:snapshot", { detail: snapshot }));
  };
  source.onerror = () => {
    setConnection("reconnecting");
    if (source.readyState === EventSource.CLOSED) {
      // refused (401, 503): EventSource gives up on those; look why, then try again
      setTimeout(recover, RECOVER_MS);
    }
  };
}

if (root) {
  render();
  connect();
  setInterval(render, 1000);
}
