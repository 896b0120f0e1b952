// Formatting. Times are shown in UTC (the archive's clock), as "YYYY-MM-DD HH:MM:SS".

export function utc(ms, withMs = false) {
  if (ms == null) return "—";
  const d = new Date(ms);
  if (isNaN(d)) return String(ms);
  return d.toISOString().replace("T", " ").slice(0, withMs ? 23 : 19);
}

export function clock(ms) {
  return utc(ms).slice(11, 19);
}

export function num(value, digits = 0) {
  if (value == null || Number.isNaN(value)) return "—";
  return Number(value).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function duration(seconds) {
  if (seconds == null) return "—";
  const s = Math.round(seconds);
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  return hh ? `${hh}h ${String(mm).padStart(2, "0")}m` : mm ? `${mm}m ${String(ss).padStart(2, "0")}s` : `${ss}s`;
}

export function bytes(n) {
  if (n == null) return "—";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0, v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${num(v, i ? 1 : 0)} ${units[i]}`;
}

/** ms -> the value of an <input type="datetime-local"> read as UTC. */
export function toInput(ms) {
  return ms == null ? "" : new Date(ms).toISOString().slice(0, 16);
}

/** <input type="datetime-local"> value (UTC) -> ms, or null. */
export function fromInput(value) {
  if (!value) return null;
  const ms = Date.parse(value.length === 16 ? `${value}:00Z` : `${value}Z`);
  return Number.isNaN(ms) ? null : ms;
}

/** ms -> the ISO 8601 string the API takes. */
export function iso(ms) {
  return new Date(ms).toISOString();
}
