// Capture jobs (the "Twitch Chat Tracker" flow): POST /download by URL and format, progress from
// /status/{id}, the file from /download/{id}; and a channel export (/v1/channels/{channel}/export).
import { h, fill, field, statusLine } from "../dom.js";
import { getJson, postJson, enc, url, errorOf } from "../api.js";
import { num, bytes, duration, fromInput, iso, utc } from "../fmt.js";

const FORMATS = ["json", "jsonl", "csv", "txt"];
const EXPORT_FORMATS = ["jsonl", "json", "csv", "txt", "irc", "twitchdownloader"];
const STORE = "streamscope.jobs";
const ACTIVE = new Set(["queued", "running"]);

function remembered() {
  try { return JSON.parse(localStorage.getItem(STORE) || "[]"); } catch { return []; }
}

export async function render(main) {
  const urlIn = h("input", { type: "url", id: "job-url", required: true, placeholder: "https://www.twitch.tv/videos/…", size: "40" });
  const fmtIn = h("select", { id: "job-format" }, FORMATS.map((f) => h("option", { value: f }, f)));
  const maxIn = h("input", { type: "number", id: "job-max", min: "1", placeholder: "no limit", size: "8" });
  const timeoutIn = h("input", { type: "number", id: "job-timeout", min: "1", max: "7200", placeholder: "7200", size: "8" });
  const jobStatus = statusLine("job-status");
  const body = h("tbody");
  const jobs = new Map(); // id -> {row cells, data}
  let timer = null;

  main.append(
    h("h1", { tabindex: "-1" }, "Capture"),
    h("p", { class: "muted" }, "Capture a live channel (https://www.twitch.tv/LOGIN), a VOD or clip's chat replay, or a YouTube chat to a file."),
    h("form", { class: "bar", id: "job-form", onsubmit: submit },
      field("Twitch or YouTube URL", urlIn), field("Format", fmtIn), field("Max messages", maxIn),
      field("Timeout (s)", timeoutIn), h("button", { type: "submit" }, "Start capture")),
    jobStatus,
    h("div", { class: "scroll-x", tabindex: "0", role: "region", "aria-label": "Capture jobs table" }, h("table", { id: "jobs" },
      h("caption", { class: "sr-only" }, "Capture jobs"),
      h("thead", {}, h("tr", {}, ["URL", "Format", "Status", "Messages", "Rate /s", "Elapsed", "Size", "File"]
        .map((c, i) => h("th", { scope: "col", class: i >= 3 && i <= 6 ? "num" : null }, c)))),
      body)));

  async function submit(e) {
    e.preventDefault();
    const req = { url: urlIn.value.trim(), format: fmtIn.value };
    if (maxIn.value) req.max_messages = Number(maxIn.value);
    if (timeoutIn.value) req.timeout = Number(timeoutIn.value);
    jobStatus.textContent = "Starting…";
    try {
      const created = await (await postJson("/download", req)).json();
      localStorage.setItem(STORE, JSON.stringify([created.download_id, ...remembered().filter((i) => i !== created.download_id)].slice(0, 50)));
      jobStatus.textContent = `Job ${created.download_id} started.`;
      track(created.download_id, created);
    } catch (err) {
      jobStatus.textContent = `Could not start: ${err.message}`;
    }
  }

  function track(id, created) {
    if (jobs.has(id)) return;
    const cells = Object.fromEntries(["url", "format", "status", "messages", "rate", "elapsed", "bytes", "file"].map((k) =>
      [k, h("td", { class: ["messages", "rate", "elapsed", "bytes"].includes(k) ? "num" : null })]));
    const row = h("tr", { dataset: { id } }, Object.values(cells));
    body.prepend(row);
    jobs.set(id, { cells, created: created || { status_url: `/status/${id}`, download_url: `/download/${id}` }, status: null });
    refresh().catch(() => {});
  }

  function show(id, s) {
    const job = jobs.get(id);
    job.status = s.status;
    const c = job.cells;
    fill(c.url, s.url);
    fill(c.format, s.format);
    fill(c.status, h("span", { class: s.status === "failed" ? "warn" : null }, s.status), s.error ? ` — ${s.error}` : "",
      s.last_error && ACTIVE.has(s.status) ? ` (retrying: ${s.last_error})` : "");
    fill(c.messages, num(s.messages));
    fill(c.rate, num(s.rate, 1));
    fill(c.elapsed, duration(s.elapsed));
    fill(c.bytes, bytes(s.bytes));
    const readable = !ACTIVE.has(s.status) || ["jsonl", "txt"].includes(s.format);
    const parts = [];
    if (readable && s.status !== "queued") parts.push(h("a", { href: job.created.download_url, download: "", class: "download" }, ACTIVE.has(s.status) ? "Download so far" : "Download"));
    if (ACTIVE.has(s.status)) parts.push(" ", h("button", { type: "button", class: "ghost", onclick: () => cancel(id) }, "Cancel"));
    fill(c.file, parts.length ? parts : "—");
  }

  async function cancel(id) {
    const res = await fetch(`/download/${enc(id)}`, { method: "DELETE" });
    if (!res.ok) jobStatus.textContent = `Could not cancel: ${(await errorOf(res)).message}`;
    await refresh();
  }

  async function refresh() {
    clearTimeout(timer);
    await Promise.all([...jobs].map(async ([id, job]) => {
      if (job.status && !ACTIVE.has(job.status)) return;
      try {
        show(id, await getJson(job.created.status_url));
      } catch (err) {
        if (err.status === 404) { fill(job.cells.status, "expired"); job.status = "expired"; }
      }
    }));
    if ([...jobs.values()].some((j) => !j.status || ACTIVE.has(j.status))) timer = setTimeout(() => refresh().catch(() => {}), 1000);
  }

  // Jobs started earlier from this browser (they are kept 24 h on the server).
  for (const id of remembered().reverse()) track(id);

  // --- channel export ---
  const channelIn = h("select", { id: "export-channel" });
  const exportFmt = h("select", { id: "export-format" }, EXPORT_FORMATS.map((f) => h("option", { value: f }, f)));
  const exStart = h("input", { type: "datetime-local", id: "export-start" });
  const exEnd = h("input", { type: "datetime-local", id: "export-end" });
  const exUser = h("input", { type: "text", id: "export-user", placeholder: "login or id", size: "12" });
  const exEvents = h("input", { type: "checkbox", id: "export-events", checked: true });
  const link = h("a", { class: "button", id: "export-link", download: "" }, "Download export");
  const exportNote = h("p", { class: "muted", id: "export-url" });
  const updateLink = () => {
    const s = fromInput(exStart.value), t = fromInput(exEnd.value);
    const href = url(`/v1/channels/${enc(channelIn.value)}/export`, {
      format: exportFmt.value, start: s == null ? null : iso(s), end: t == null ? null : iso(t),
      user: exUser.value.trim() || null, events: exEvents.checked ? null : "false",
    });
    link.href = href;
    exportNote.textContent = href;
  };
  main.append(h("h2", {}, "Export a channel"),
    h("form", { class: "bar", id: "export-form", oninput: updateLink, onchange: updateLink, onsubmit: (e) => e.preventDefault() },
      field("Channel", channelIn), field("Format", exportFmt), field("From (UTC)", exStart), field("To (UTC)", exEnd),
      field("User", exUser), h("label", { class: "inline" }, exEvents, "Include events"), link),
    exportNote);
  try {
    const { channels } = await getJson("/v1/channels");
    for (const c of channels) channelIn.append(h("option", { value: c.login }, `#${c.login} (${num(c.messages)} messages, last ${utc(c.last_seen)})`));
    if (!channels.length) exportNote.textContent = "No channels in the archive yet.";
  } catch (err) {
    exportNote.textContent = `Could not load the channels: ${err.message}`;
  }
  updateLink();
  main.dataset.loaded = "true";
  return { close: () => clearTimeout(timer) };
}
