// Channels: every archived channel with live status, viewers now, chat rate now, last seen and
// messages stored (/v1/channels, then per channel /streams, /viewers and /messages of the last minute).
import { h, fill, statusLine } from "../dom.js";
import { getJson, enc } from "../api.js";
import { utc, num, iso } from "../fmt.js";

const RATE_LIMIT = 1000;

async function now(channel) {
  const t = Date.now();
  const base = `/v1/channels/${enc(channel.login)}`;
  const [streams, viewers, recent] = await Promise.all([
    getJson(`${base}/streams`, { limit: 1 }),
    getJson(`${base}/viewers`, { start: iso(t - 15 * 60_000), step: "1m" }),
    getJson(`${base}/messages`, { start: iso(t - 60_000), limit: RATE_LIMIT }),
  ]);
  const last = viewers.points[viewers.points.length - 1];
  return {
    live: Boolean(streams.streams[0] && streams.streams[0].live),
    viewers: last ? Math.round(last.avg) : null,
    rate: recent.messages.length,
    ratePlus: Boolean(recent.cursor),
  };
}

export async function render(main) {
  const body = h("tbody");
  const status = statusLine("channels-status");
  main.append(h("h1", { tabindex: "-1" }, "Channels"), status,
    h("div", { class: "scroll-x", tabindex: "0", role: "region", "aria-label": "Channels table" }, h("table", { id: "channels" },
      h("caption", { class: "sr-only" }, "Archived channels"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Channel"), h("th", { scope: "col" }, "Status"),
        h("th", { scope: "col", class: "num" }, "Viewers now"), h("th", { scope: "col", class: "num" }, "Chat /min now"),
        h("th", { scope: "col" }, "Last seen (UTC)"), h("th", { scope: "col", class: "num" }, "Messages stored"),
        h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Views")))),
      body)));
  status.textContent = "Loading channels…";
  let list;
  try {
    list = (await getJson("/v1/channels")).channels;
  } catch (err) {
    status.textContent = `Could not load the channels: ${err.message}`;
    return;
  }
  if (!list.length) {
    status.textContent = "No channels yet: capture one with streamscope up --channel NAME, or replay a log.";
    return;
  }
  const rows = list.map((c) => {
    const cells = { status: h("td", {}, "…"), viewers: h("td", { class: "num" }, "…"), rate: h("td", { class: "num" }, "…") };
    const link = (to, label) => h("a", { href: `#/c/${enc(c.login)}/${to}`, "aria-label": `${label} of #${c.login}` }, label);
    body.append(h("tr", { dataset: { channel: c.login } },
      h("th", { scope: "row" }, h("a", { href: `#/c/${enc(c.login)}/live` }, `#${c.login}`)),
      cells.status, cells.viewers, cells.rate,
      h("td", { class: "last-seen" }, utc(c.last_seen)),
      h("td", { class: "num messages" }, num(c.messages)),
      h("td", {}, link("history", "History"), " · ", link("sessions", "Sessions"))));
    return [c, cells];
  });
  status.textContent = `${list.length} channel${list.length === 1 ? "" : "s"}`;
  await Promise.all(rows.map(async ([c, cells]) => {
    try {
      const n = await now(c);
      fill(cells.status, h("span", { class: n.live ? "pill live" : "pill" }, n.live ? "live" : "offline"));
      fill(cells.viewers, n.viewers == null ? "—" : num(n.viewers));
      fill(cells.rate, `${num(n.rate)}${n.ratePlus ? "+" : ""}`);
    } catch (err) {
      fill(cells.status, h("span", { class: "warn" }, err.message));
    }
  }));
  main.dataset.loaded = "true";
}
