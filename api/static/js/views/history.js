// Channel, history: a time range; viewers and chat rate on one axis with hype moments (a click moves
// the chat and the transcript to the moment); totals; the message browser (user, text search,
// moderation marks, cursor paging). Everything is in the URL, so any state is a link.
import { h, fill, field, statusLine } from "../dom.js";
import { getJson, enc } from "../api.js";
import { iso, toInput, fromInput, utc } from "../fmt.js";
import { messageRow } from "../chat.js";
import { loadTimeline, drawTimeline, drawSummary, drawTranscript } from "../timeline.js";

const PAGE = 100;
const DAY = 86_400_000;

export async function channelInfo(channel) {
  const { channels } = await getJson("/v1/channels");
  const key = channel.replace(/^#/, "").toLowerCase();
  return channels.find((c) => c.login === key || String(c.id) === key) || null;
}

/** The default range: the whole archive when it spans at most a week, else its last day. */
export function defaultRange(info) {
  const end = info.last_seen + 1;
  return [end - info.first_seen <= 7 * DAY ? info.first_seen : end - DAY, end];
}

/** One page of messages into `list` (replacing it); returns the page. Marks the first row at `at`. */
export async function loadMessages(list, channel, query, at) {
  const page = await getJson(`/v1/channels/${enc(channel)}/messages`, { ...query, limit: PAGE });
  fill(list, page.messages.map((m) => messageRow(m)));
  list.dataset.loads = String(Number(list.dataset.loads || 0) + 1); // a page was shown (tests wait on it)
  if (!page.messages.length) list.append(h("p", { class: "muted" }, "No messages."));
  if (at != null && list.firstElementChild && list.firstElementChild.classList.contains("msg")) {
    list.firstElementChild.classList.add("current");
  }
  list.scrollTop = 0;
  return page;
}

export async function render(main, { channel, params, setParams }) {
  const info = await channelInfo(channel).catch(() => null);
  if (!info) {
    main.append(h("h1", { tabindex: "-1" }, `#${channel}`), h("p", { class: "warn" }, `Channel #${channel} is not in the archive.`));
    return null;
  }
  const startIn = h("input", { type: "datetime-local", id: "range-start", step: "60" });
  const endIn = h("input", { type: "datetime-local", id: "range-end", step: "60" });
  const userIn = h("input", { type: "text", id: "filter-user", placeholder: "login or id", autocomplete: "off", size: "14" });
  const qIn = h("input", { type: "search", id: "filter-q", placeholder: "words in the text", size: "18" });
  const timelineBox = h("section", { "aria-label": "Viewers and chat rate" });
  const summaryBox = h("section", { "aria-label": "Totals" });
  const list = h("div", { class: "chat", id: "messages", role: "list", "aria-label": "Messages", tabindex: "0" });
  const transcriptBox = h("div", { id: "transcript-box" });
  const status = statusLine("messages-status");
  const next = h("button", { type: "button", id: "next-page", class: "ghost" }, "Next page");
  const first = h("button", { type: "button", id: "first-page", class: "ghost" }, "First page");
  const timelineStatus = statusLine("timeline-status");

  const state = () => Object.fromEntries(new URLSearchParams(location.hash.split("?")[1] || ""));
  const go = (changes) => setParams({ ...state(), ...changes });
  const range = (p) => {
    const [ds, de] = defaultRange(info);
    return [p.get("start") ? Date.parse(p.get("start")) : ds, p.get("end") ? Date.parse(p.get("end")) : de];
  };
  const preset = (label, ms) => h("button", { type: "button", class: "ghost", onclick: () => {
    const end = info.last_seen + 1;
    go({ start: iso(ms ? end - ms : info.first_seen), end: iso(end), cursor: null, at: null });
  } }, label);

  main.append(
    h("h1", { tabindex: "-1" }, `#${info.login} history`),
    h("form", { class: "bar", id: "range-form", onsubmit: (e) => {
      e.preventDefault();
      const s = fromInput(startIn.value), t = fromInput(endIn.value);
      if (s == null || t == null || t <= s) { timelineStatus.textContent = "Pick a start before the end."; return; }
      go({ start: iso(s), end: iso(t), cursor: null, at: null });
    } },
      field("From (UTC)", startIn), field("To (UTC)", endIn), h("button", { type: "submit" }, "Apply"),
      preset("Last hour", 3600_000), preset("Last day", DAY), preset("Last week", 7 * DAY), preset("Whole archive", 0)),
    timelineStatus, timelineBox, summaryBox,
    h("h2", {}, "Messages"),
    h("form", { class: "bar", id: "filter-form", onsubmit: (e) => {
      e.preventDefault();
      go({ user: userIn.value.trim() || null, q: qIn.value.trim() || null, cursor: null });
    } }, field("User", userIn), field("Search", qIn), h("button", { type: "submit" }, "Show")),
    h("div", { class: "split" },
      h("section", { "aria-label": "Chat" }, status, list, h("div", { class: "bar" }, first, next)),
      h("section", { "aria-label": "Transcript" }, h("h3", {}, "Transcript"), transcriptBox)));

  let shownRange = null;
  let pageCursor = null;

  async function timeline(p) {
    const [start, end] = range(p);
    startIn.value = toInput(start);
    endIn.value = toInput(end);
    timelineStatus.textContent = `Loading ${utc(start)} – ${utc(end)} UTC…`;
    try {
      const tl = await loadTimeline(info.login, start, end);
      const at = p.get("at") ? Number(p.get("at")) : null;
      drawTimeline(timelineBox, tl, {
        label: `Viewers and chat rate of #${info.login}, ${utc(start)} to ${utc(end)} UTC`,
        current: at,
        onMoment: (m) => go({ at: String(m.start), cursor: null }),
      });
      drawSummary(summaryBox, tl);
      timelineStatus.textContent = `${utc(start)} – ${utc(end)} UTC, ${tl.step} buckets`;
    } catch (err) {
      timelineStatus.textContent = `Could not load the timeline: ${err.message}`;
    }
  }

  async function messages(p) {
    const [start, end] = range(p);
    const at = p.get("at") ? Number(p.get("at")) : null;
    userIn.value = p.get("user") || "";
    qIn.value = p.get("q") || "";
    for (const b of timelineBox.querySelectorAll("button.moment")) b.setAttribute("aria-pressed", String(Number(b.dataset.start) === at));
    const query = { start: iso(at != null ? Math.max(at, start) : start), end: iso(end), user: p.get("user"), q: p.get("q"), cursor: p.get("cursor") };
    status.textContent = "Loading messages…";
    try {
      const page = await loadMessages(list, info.login, query, at);
      pageCursor = page.cursor;
      next.disabled = !page.cursor;
      first.disabled = !p.get("cursor");
      status.textContent = `${page.messages.length} messages${page.cursor ? "" : " (end)"}` +
        (page.messages.length ? `, ${utc(page.messages[0].sent_timestamp)} – ${utc(page.messages[page.messages.length - 1].sent_timestamp)} UTC` : "");
    } catch (err) {
      fill(list);
      status.textContent = `Could not load messages: ${err.message}`;
    }
    const from = at != null ? at - 30_000 : Math.floor(start / 60_000) * 60_000;
    try {
      await drawTranscript(transcriptBox, info.login, from, Math.min(end, from + 15 * 60_000), at, (ms) => go({ at: String(ms), cursor: null }));
    } catch (err) {
      fill(transcriptBox, h("p", { class: "warn" }, `Could not load the transcript: ${err.message}`));
    }
  }

  next.addEventListener("click", () => { if (pageCursor) go({ cursor: pageCursor }); });
  first.addEventListener("click", () => go({ cursor: null }));

  async function update(p) {
    const key = `${p.get("start")}|${p.get("end")}`;
    if (key !== shownRange) {
      shownRange = key;
      await Promise.all([timeline(p), messages(p)]);
    } else {
      await messages(p);
    }
    main.dataset.loaded = "true";
  }
  await update(params);
  return { update };
}
