// pvopt web: how the live view writes numbers, durations and texts (pure functions, no DOM).
// A number and its unit are joined by a no-break space: a phone never puts "9" at the end
// of a line and "Wh" on the next.

/** The no-break space between a number and its unit. */
export const NBSP = "\u00a0";

/** t(key, values): the page's text `key` (from the server's i18n), `{name}` filled in. */
export function makeTexts(table) {
  return (key, values = {}) => {
    const template = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : key;
    return template.replace(/\{(\w+)\}/g, (whole, name) =>
      Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole,
    );
  };
}

/** "12 s", "3 min", "2 h", "4 d" (the largest unit that fits, rounded down). */
export function formatAge(seconds, t) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `${s}${NBSP}${t("unit_s")}`;
  if (s < 7200) return `${Math.floor(s / 60)}${NBSP}${t("unit_min")}`;
  if (s < 172800) return `${Math.floor(s / 3600)}${NBSP}${t("unit_h")}`;
  return `${Math.floor(s / 86400)}${NBSP}${t("unit_d")}`;
}

/** "1 834 W" in the page's language; "—" when unknown. */
export function formatPower(watts, lang) {
  if (watts === null || watts === undefined) return "—";
  return `${new Intl.NumberFormat(lang, { maximumFractionDigits: 0 }).format(watts)}${NBSP}W`;
}

/** "850 Wh", "3,2 kWh"; "—" when unknown. */
export function formatEnergy(wh, lang) {
  if (wh === null || wh === undefined) return "—";
  if (Math.abs(wh) < 1000) {
    return `${new Intl.NumberFormat(lang, { maximumFractionDigits: 0 }).format(wh)}${NBSP}Wh`;
  }
  const kwh = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(wh / 1000);
  return `${kwh}${NBSP}kWh`;
}

/** "52,5 °C"; "—" when unknown. */
export function formatCelsius(celsius, lang) {
  if (celsius === null || celsius === undefined) return "—";
  return `${new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(celsius)}${NBSP}°C`;
}

/** "75 %"; "" when the load has no percentage (an on/off load). */
export function formatPercent(percent, lang) {
  if (percent === null || percent === undefined) return "";
  return `${new Intl.NumberFormat(lang, { maximumFractionDigits: 0 }).format(percent)}${NBSP}%`;
}

/** "0,91 €" (two decimals); "—" when unknown. */
export function formatMoney(eur, lang) {
  if (eur === null || eur === undefined) return "—";
  const amount = new Intl.NumberFormat(lang, {
    minimumFractionDigits: 2,
    maximumFractionDigits: 2,
  }).format(eur);
  return `${amount}${NBSP}€`;
}
