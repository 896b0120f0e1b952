// Channel, live: GET /v1/channels/{channel}/live (server-sent events). New rows append at the bottom;
// scrolling up (or the Pause button) pauses the list, new rows wait, Resume shows them.
import { h, fill, card, statusLine } from "../dom.js";
import { enc } from "../api.js";
import { num, clock } from "../fmt.js";
import { messageRow, eventRow, markRow } from "../chat.js";

const KEEP = 500;

export function render(main, { channel }) {
  const list = h("div", { class: "chat live", id: "live-list", role: "list", "aria-label": `Live chat of #${channel}`, tabindex: "0" });
  const pause = h("button", { type: "button", id: "live-pause", class: "ghost", "aria-pressed": "false" }, "Pause");
  const status = statusLine("live-status");
  main.append(
    h("h1", { tabindex: "-1" }, `#${channel} live`),
    h("div", { class: "cards" },
      card("Viewers now", "—", "live-viewers"), card("Messages /min", "—", "live-rate"),
      card("Chatters /min", "—", "live-chatters"), card("Connection", "connecting", "live-conn")),
    h("div", { class: "bar" }, pause, status),
    list);
  const $ = (id) => main.querySelector(`#${id}`);
  let paused = false;
  let waiting = [];
  let programmatic = false;

  const atBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 24;
  const trim = () => { while (list.children.length > KEEP) list.firstElementChild.remove(); };
  const toBottom = () => { programmatic = true; list.scrollTop = list.scrollHeight; requestAnimationFrame(() => { programmatic = false; }); };
  const showStatus = () => {
    status.textContent = paused ? `Paused${waiting.length ? `: ${waiting.length} new` : ""}. Resume to see them.` : "";
  };
  const setPaused = (value) => {
    paused = value;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? `Resume${waiting.length ? ` (${waiting.length} new)` : ""}` : "Pause";
    if (!paused) {
      for (const row of waiting) place(row);
      waiting = [];
      trim();
      toBottom();
    }
    showStatus();
  };
  // Rows go in time order: the backlog's events come after its messages on the wire, and a row
  // stored a little late belongs before newer ones.
  const place = (row) => {
    const ts = Number(row.dataset.ts);
    let after = list.lastElementChild;
    while (after && Number(after.dataset.ts) > ts) after = after.previousElementSibling;
    if (after) after.after(row); else list.prepend(row);
  };
  const add = (row) => {
    if (paused) { waiting.push(row); setPaused(true); return; }
    place(row);
    trim();
    toBottom();
  };

  pause.addEventListener("click", () => setPaused(!paused));
  list.addEventListener("scroll", () => {
    if (programmatic) return;
    if (!atBottom() && !paused) setPaused(true);
    else if (atBottom() && paused) setPaused(false);
  });

  const source = new EventSource(`/v1/channels/${enc(channel)}/live?backlog=50`);
  source.addEventListener("open", () => { fill($("live-conn"), "live"); });
  source.addEventListener("error", () => {
    fill($("live-conn"), source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
  });
  source.addEventListener("message", (e) => add(messageRow(JSON.parse(e.data))));
  source.addEventListener("event", (e) => {
    const ev = JSON.parse(e.data);
    add(eventRow(ev));
    const rows = [...list.children, ...waiting];
    if (["timeout", "ban"].includes(ev.kind) && ev.target && ev.target.login) {
      for (const r of rows) if (r.dataset.user === ev.target.login && Number(r.dataset.ts) <= ev.at) markRow(r, ev.kind === "ban" ? "banned" : "timed_out");
    } else if (ev.kind === "delete" && ev.target && ev.target.message_id) {
      for (const r of rows) if (r.dataset.id === ev.target.message_id) markRow(r, "deleted");
    }
  });
  source.addEventListener("viewers", (e) => {
    const v = JSON.parse(e.data);
    fill($("live-viewers"), num(v.viewers));
    $("live-viewers").title = `sampled at ${clock(v.at)} UTC`;
  });
  source.addEventListener("stats", (e) => {
    const s = JSON.parse(e.data);
    fill($("live-rate"), num(s.messages_per_min));
    fill($("live-chatters"), num(s.chatters_per_min));
  });
  return { close: () => source.close() };
}
