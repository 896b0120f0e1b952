// One rendering of a chat message and of an event, shared by every view. Text goes in as text nodes.
import { h } from "./dom.js";
import { utc } from "./fmt.js";

const FLAGS = ["deleted", "timed_out", "banned", "cleared"];

// Twitch lets users pick any colour, #FFFFFF or near-black included: a name keeps its hue but is
// darkened (light theme) or lightened (dark theme) until it reads at WCAG AA contrast, with margin for
// the highlighted row's tint.
const CONTRAST = 5.7;

function luminance([r, g, b]) {
  const lin = (c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

function contrast(a, b) {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

const cache = new Map();

export function readableColor(color) {
  const hex = /^#([0-9a-f]{6})$/i.exec(color || "");
  if (!hex) return null;
  const dark = getComputedStyle(document.documentElement).colorScheme === "dark";
  const key = `${dark}${hex[1]}`;
  if (cache.has(key)) return cache.get(key);
  const bg = dark ? [0x12 / 255, 0x12 / 255, 0x16 / 255] : [1, 1, 1];
  const toward = dark ? 1 : 0;
  let rgb = [0, 2, 4].map((i) => parseInt(hex[1].slice(i, i + 2), 16) / 255);
  for (let i = 0; i < 20 && contrast(rgb, bg) < CONTRAST; i++) rgb = rgb.map((c) => c + (toward - c) * 0.15);
  const out = `rgb(${rgb.map((c) => Math.round(c * 255)).join(", ")})`;
  cache.set(key, out);
  return out;
}

// Names are re-tinted for the other theme when it is switched.
window.addEventListener("themechange", () => {
  for (const el of document.querySelectorAll(".user[data-color]")) el.style.color = readableColor(el.dataset.color);
});

export function userName(u) {
  return (u && (u.display_name || u.login)) || "?";
}

/** A /messages item as a row: time, badges, user, text, moderation flags. */
export function messageRow(m, attrs) {
  const ts = m.sent_timestamp;
  const user = h("span", { class: "user" }, userName(m.user));
  const color = m.user && readableColor(m.user.color);
  if (color) { user.style.color = color; user.dataset.color = m.user.color; }
  const moderated = FLAGS.some((f) => m[f]);
  const body = h("span", { class: ["text", m.is_me ? "action" : "", moderated ? "modded" : ""].join(" ").trim() }, m.text);
  const row = h("div", { class: "msg", role: "listitem", dataset: { id: m.id, ts: String(ts), user: (m.user && m.user.login) || "" }, ...attrs },
    h("time", { class: "time", datetime: new Date(ts).toISOString() }, utc(ts).slice(11)),
    ((m.user && m.user.badges) || []).map((b) => h("span", { class: "badge hide-narrow" }, b.name)),
    user, m.is_me ? " " : ": ", body,
    FLAGS.filter((f) => m[f]).map((f) => h("span", { class: "flag" }, f.replace("_", " "))));
  return row;
}

/** Mark a rendered message as moderated (a live timeout/ban/delete). */
export function markRow(row, flag) {
  if (row.querySelector(`.flag[data-flag="${flag}"]`)) return;
  row.querySelector(".text")?.classList.add("modded");
  row.append(h("span", { class: "flag", dataset: { flag } }, flag.replace("_", " ")));
}

export function eventText(e) {
  const who = (e.target && e.target.login) || (e.user && (e.user.display_name || e.user.login)) || "";
  return [e.kind, who, e.duration_s ? `${e.duration_s}s` : "", e.system_message || e.text || ""].filter(Boolean).join(" · ");
}

export function eventRow(e) {
  return h("div", { class: "msg event", role: "listitem", dataset: { ts: String(e.at), kind: e.kind } },
    h("time", { class: "time", datetime: new Date(e.at).toISOString() }, utc(e.at).slice(11)),
    h("span", { class: "text" }, eventText(e)));
}
