// Stream sessions: the list (/streams, newest first, cursor paging), then one session
// (/streams/{id}): its timeline with moments, title/game segments, and the transcript beside the chat,
// both moved to the same time by a moment, a segment, a transcript line or a chat line.
import { h, fill, card, statusLine, table } from "../dom.js";
import { getJson, enc } from "../api.js";
import { iso, utc, num, duration, clock } from "../fmt.js";
import { loadTimeline, drawTimeline, drawTranscript } from "../timeline.js";
import { loadMessages } from "./history.js";

function lastSegment(s) {
  const seg = s.segments[s.segments.length - 1];
  return seg ? `${seg.title}${seg.game ? ` (${seg.game})` : ""}` : "—";
}

async function renderList(main, channel) {
  const body = h("tbody");
  const status = statusLine("sessions-status");
  const more = h("button", { type: "button", id: "more-sessions", class: "ghost", hidden: true }, "More sessions");
  main.append(h("h1", { tabindex: "-1" }, `#${channel} sessions`), status,
    h("div", { class: "scroll-x", tabindex: "0", role: "region", "aria-label": "Sessions table" }, h("table", { id: "sessions" },
      h("caption", { class: "sr-only" }, "Stream sessions, newest first"),
      h("thead", {}, h("tr", {}, ["Started (UTC)", "Ended", "Duration", "Peak viewers", "Avg viewers", "Messages", "Chatters", "Title (game)"]
        .map((c, i) => h("th", { scope: "col", class: i >= 3 && i <= 6 ? "num" : null }, c)))),
      body)), more);
  let cursor = null;
  let count = 0;
  async function page() {
    status.textContent = "Loading sessions…";
    try {
      const p = await getJson(`/v1/channels/${enc(channel)}/streams`, { limit: 20, cursor });
      for (const s of p.streams) {
        body.append(h("tr", { dataset: { id: s.id } },
          h("td", {}, h("a", { href: `#/c/${enc(channel)}/sessions/${enc(s.id)}` }, utc(s.started_at))),
          h("td", {}, s.live ? h("span", { class: "pill live" }, "live") : utc(s.ended_at)),
          h("td", {}, duration(s.duration_s)),
          h("td", { class: "num" }, num(s.peak_viewers)), h("td", { class: "num" }, num(s.avg_viewers, 1)),
          h("td", { class: "num" }, num(s.messages)), h("td", { class: "num" }, num(s.unique_chatters)),
          h("td", {}, lastSegment(s))));
      }
      count += p.streams.length;
      cursor = p.cursor;
      more.hidden = !cursor;
      status.textContent = count ? `${count} session${count === 1 ? "" : "s"}${cursor ? "" : " (all)"}` : "No stream sessions recorded (they come from Helix or EventSub).";
    } catch (err) {
      status.textContent = `Could not load sessions: ${err.message}`;
    }
  }
  more.addEventListener("click", page);
  await page();
  main.dataset.loaded = "true";
  return null;
}

async function renderOne(main, channel, id, params, setParams) {
  let s;
  try {
    s = await getJson(`/v1/channels/${enc(channel)}/streams/${enc(id)}`);
  } catch (err) {
    main.append(h("h1", { tabindex: "-1" }, "Session"), h("p", { class: "warn" }, err.message));
    return null;
  }
  const start = s.started_at;
  const end = s.ended_at ?? Date.now();
  const timelineBox = h("section", { "aria-label": "Session timeline" });
  const list = h("div", { class: "chat", id: "messages", role: "list", "aria-label": "Chat", tabindex: "0" });
  const transcriptBox = h("div", { id: "transcript-box" });
  const status = statusLine("messages-status");
  const go = (at) => setParams({ at: String(at) });
  main.append(
    h("h1", { tabindex: "-1" }, `#${channel} session ${s.id}`),
    h("p", {}, h("a", { href: `#/c/${enc(channel)}/sessions` }, "All sessions")),
    h("div", { class: "cards", id: "session-cards" },
      card("Started (UTC)", utc(s.started_at), "s-started"), card("Ended", s.live ? "live" : utc(s.ended_at), "s-ended"),
      card("Duration", duration(s.duration_s), "s-duration"), card("Peak viewers", num(s.peak_viewers), "s-peak"),
      card("Avg viewers", num(s.avg_viewers, 1), "s-avg"), card("Messages", num(s.messages), "s-messages"),
      card("Chatters", num(s.unique_chatters), "s-chatters")),
    h("h2", {}, "Timeline"), timelineBox,
    h("h2", {}, "Title and game"),
    s.segments.length ? table([
      { label: "From (UTC)", cell: (g) => h("button", { type: "button", class: "ghost", onclick: () => go(Math.max(g.at, start)) }, utc(g.at)) },
      { label: "Title", cell: (g) => g.title }, { label: "Game", cell: (g) => g.game || "—" },
    ], s.segments, { id: "segments", "aria-label": "Title and game segments" }) : h("p", { class: "muted" }, "No title or game recorded."),
    h("h2", {}, "Transcript and chat"),
    h("div", { class: "split" },
      h("section", { "aria-label": "Chat" }, status, list),
      h("section", { "aria-label": "Transcript" }, h("h3", {}, "Transcript"), transcriptBox)));
  list.addEventListener("click", (e) => {
    const row = e.target.closest(".msg");
    if (row) go(Number(row.dataset.ts));
  });

  const tl = await loadTimeline(channel, start, end).catch((err) => ({ error: err }));
  let at = params.get("at") ? Number(params.get("at")) : null;
  if (tl.error) fill(timelineBox, h("p", { class: "warn" }, `Could not load the timeline: ${tl.error.message}`));
  else drawTimeline(timelineBox, tl, { label: `Viewers and chat rate of session ${s.id}`, current: at, onMoment: (m) => go(m.start) });

  async function sync(p) {
    at = p.get("at") ? Number(p.get("at")) : null;
    for (const b of timelineBox.querySelectorAll("button.moment")) b.setAttribute("aria-pressed", String(Number(b.dataset.start) === at));
    const from = at ?? start;
    status.textContent = "Loading chat…";
    try {
      const page = await loadMessages(list, channel, { start: iso(from), end: iso(end) }, at);
      status.textContent = `Chat from ${clock(from)} UTC: ${page.messages.length} messages${page.cursor ? "" : " (end)"}`;
    } catch (err) {
      status.textContent = `Could not load the chat: ${err.message}`;
    }
    try {
      const tFrom = at != null ? at - 30_000 : start;
      await drawTranscript(transcriptBox, channel, tFrom, Math.min(end, tFrom + 15 * 60_000) + 1, at, go);
    } catch (err) {
      fill(transcriptBox, h("p", { class: "warn" }, `Could not load the transcript: ${err.message}`));
    }
    main.dataset.loaded = "true";
  }
  await sync(params);
  return { update: sync };
}

export async function render(main, { channel, id, params, setParams }) {
  return id ? renderOne(main, channel, id, params, setParams) : renderList(main, channel);
}
