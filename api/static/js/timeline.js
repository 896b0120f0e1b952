// Pieces shared by the history and session views: the viewers + chat rate chart with moments, the
// stats summary (top emotes, subs, bits, raids) and the transcript panel.
import { h, fill, card, table } from "./dom.js";
import { getJson, hasRoute, enc } from "./api.js";
import { iso, num, clock, utc } from "./fmt.js";
import { timeChart, align } from "./chart.js";

export const STATS = "/v1/channels/{channel}/stats";
export const MOMENTS = "/v1/channels/{channel}/moments";
export const TRANSCRIPT = "/v1/channels/{channel}/transcript";
const STEPS = [["1m", 60], ["5m", 300], ["1h", 3600], ["1d", 86400]];

/** The smallest stats step giving at most `most` buckets over [start, end). */
export function stepFor(start, end, most = 1500) {
  return (STEPS.find(([, s]) => (end - start) / 1000 / s <= most) || STEPS[STEPS.length - 1]);
}

/** Viewers, chat stats and moments of [start, end): {viewers, stats|null, moments|null, step}. */
export async function loadTimeline(channel, start, end) {
  const [step, seconds] = stepFor(start, end);
  const base = `/v1/channels/${enc(channel)}`;
  // Whole buckets: the first and last bucket of the range are counted in full.
  const ms = seconds * 1000;
  const range = { start: iso(Math.floor(start / ms) * ms), end: iso(Math.ceil(end / ms) * ms) };
  // Each part fails on its own: a chart without moments is still worth showing.
  const failed = (err) => ({ error: err });
  const [viewers, stats, moments] = await Promise.all([
    getJson(`${base}/viewers`, { ...range, step }).catch(failed),
    (await hasRoute(STATS)) ? getJson(`${base}/stats`, { ...range, step }).catch(failed) : null,
    (await hasRoute(MOMENTS)) ? allMoments(base, range).catch(failed) : null,
  ]);
  const errors = [["Viewers", viewers], ["Chat stats", stats], ["Moments", moments]]
    .filter(([, v]) => v && v.error).map(([k, v]) => `${k}: could not load (${v.error.message}).`);
  return {
    step, seconds, errors,
    viewers: viewers.error ? [] : viewers.points,
    stats: stats && !stats.error ? stats.points : null,
    topEmotes: stats && !stats.error ? stats.top_emotes || [] : [],
    moments: moments && !moments.error ? moments : null,
    missing: { stats: stats === null, moments: moments === null },
  };
}

async function allMoments(base, range) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < 10; i++) {
    const page = await getJson(`${base}/moments`, { ...range, cursor, limit: 100 });
    out.push(...page.moments);
    cursor = page.cursor;
    if (!cursor) break;
  }
  return out;
}

/** Chart + moment buttons + "not available" notes into `box`; onMoment(moment) on a pick. */
export function drawTimeline(box, tl, { onMoment, label, current }) {
  const chartBox = h("div", { class: "chart", id: "timeline-chart" });
  const notes = h("div", { class: "notes" });
  const momentsBox = h("div", { class: "moments", id: "moments", role: "group", "aria-label": "Hype moments" });
  fill(box, chartBox, notes, momentsBox);
  if (tl.missing.stats) notes.append(h("p", { class: "muted", id: "stats-missing" }, "Chat rate: not available (this server has no /stats route yet)."));
  if (tl.missing.moments) notes.append(h("p", { class: "muted", id: "moments-missing" }, "Moments: not available (this server has no /moments route yet)."));
  for (const e of tl.errors) notes.append(h("p", { class: "warn" }, e));
  const perMin = tl.seconds / 60;
  const lists = [tl.viewers.map((p) => ({ at: p.at, value: p.avg }))];
  const series = [{ label: "viewers (avg)", color: getComputedStyle(document.documentElement).getPropertyValue("--viewers").trim(), scale: "l" }];
  if (tl.stats) {
    lists.push(tl.stats.map((p) => ({ at: p.at, value: p.messages / perMin })));
    series.push({ label: "messages /min", color: getComputedStyle(document.documentElement).getPropertyValue("--chat").trim(), scale: "r" });
  }
  const data = align(lists);
  if (!data[0].length) {
    chartBox.append(h("p", { class: "muted", id: "chart-empty" }, "No viewer samples or chat stats in this range."));
  } else {
    const marks = (tl.moments || []).map((m) => ({ start: m.start, end: m.end, moment: m }));
    timeChart(chartBox, { series, data, marks, label, onPick: (mark) => onMoment(mark.moment) });
  }
  for (const m of tl.moments || []) {
    const top = (m.top_emotes || [])[0];
    momentsBox.append(h("button", {
      type: "button", class: "moment", dataset: { start: String(m.start) },
      "aria-pressed": String(current === m.start),
      onclick: () => onMoment(m),
    }, `${clock(m.start)} · ${num(m.peak_rate, 0)}/min${top ? ` · ${top.name}` : ""}`));
  }
  if (tl.moments && !tl.moments.length) momentsBox.append(h("p", { class: "muted" }, "No hype moments in this range."));
}

/** Totals over the stats points (subs, bits, raids) and the range's top emotes as /stats gives them. */
export function drawSummary(box, tl) {
  if (!tl.stats) {
    fill(box, h("p", { class: "muted", id: "summary-missing" }, tl.missing.stats
      ? "Top emotes, subs, bits and raids: not available (no /stats route yet)." : "Top emotes, subs, bits and raids: could not load the chat stats."));
    return;
  }
  const sum = (k) => tl.stats.reduce((a, p) => a + (p[k] || 0), 0);
  const top = tl.topEmotes.map((e) => [e.name, e.count]);
  fill(box,
    h("div", { class: "cards", id: "summary" },
      card("Messages", num(sum("messages")), "sum-messages"), card("Subs", num(sum("subs")), "sum-subs"),
      card("Bits", num(sum("bits")), "sum-bits"), card("Raids", num(sum("raids")), "sum-raids"),
      card("Raid viewers", num(sum("raid_viewers")), "sum-raid-viewers")),
    h("h3", {}, "Top emotes"),
    top.length ? table([{ label: "Emote", cell: (r) => r[0] }, { label: "Uses", num: true, cell: (r) => num(r[1]) }], top, { id: "top-emotes", "aria-label": "Top emotes" })
      : h("p", { class: "muted" }, "No emotes in this range."));
}

/** Transcript segments around `at` (or from `start`) into `box`; the one holding `at` is marked. */
export async function drawTranscript(box, channel, from, to, at, onPick) {
  if (!(await hasRoute(TRANSCRIPT))) {
    fill(box, h("p", { class: "muted", id: "transcript-missing" }, "Transcript: not available (this server has no /transcript route yet)."));
    return;
  }
  if (to <= from) to = from + 60_000;
  const page = await getJson(`/v1/channels/${enc(channel)}/transcript`, { start: iso(from), end: iso(to), limit: 200 });
  const list = h("div", { class: "chat", id: "transcript", role: "list", "aria-label": "Transcript" });
  fill(box, list);
  if (!page.segments.length) list.append(h("p", { class: "muted" }, "Nothing transcribed in this range."));
  let current = null;
  for (const s of page.segments) {
    const holds = at != null && s.start <= at && at < s.end;
    const item = h("div", { role: "listitem" }, h("button", {
      type: "button", class: holds ? "seg current" : "seg", dataset: { start: String(s.start) },
      title: `${utc(s.start)} – ${clock(s.end)} UTC`, onclick: () => onPick(s.start),
    }, h("span", { class: "time" }, clock(s.start)), s.text));
    if (holds || (current == null && at != null && s.start >= at)) current = item;
    list.append(item);
  }
  if (current) {
    current.querySelector(".seg").classList.add("current");
    list.scrollTop = current.offsetTop - list.offsetTop;
  }
}
