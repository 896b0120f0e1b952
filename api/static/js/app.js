// The web app: hash routes -> views. Every view is a module with render(main, ctx) that may return
// {update(params), close()}: update when only the route's query changed, close when leaving it.
import { h, fill } from "./dom.js";
import { enc } from "./api.js";
import * as channels from "./views/channels.js";
import * as live from "./views/live.js";
import * as history from "./views/history.js";
import * as sessions from "./views/sessions.js";
import * as capture from "./views/capture.js";
import * as ask from "./views/ask.js";

const ROUTES = [
  [/^\/?$/, channels, "channels"],
  [/^\/c\/([^/]+)\/live$/, live, "live"],
  [/^\/c\/([^/]+)\/history$/, history, "history"],
  [/^\/c\/([^/]+)\/sessions(?:\/([^/]+))?$/, sessions, "sessions"],
  [/^\/capture$/, capture, "capture"],
  [/^\/ask$/, ask, "ask"],
];

const main = document.getElementById("main");
const channelNav = document.getElementById("channel-nav");
let current = null; // {path, name, instance}
let navigated = false;

export function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query] = raw.split("?");
  return { path, params: new URLSearchParams(query || "") };
}

/** Change the hash's query without a full re-render (the view's update() runs). */
export function setParams(params, { replace = false } = {}) {
  const { path } = parseHash();
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== "") q.set(k, String(v));
  const s = q.toString();
  const hash = `#${path}${s ? `?${s}` : ""}`;
  if (replace) { window.history.replaceState(null, "", hash); route().catch(reportError); }
  else location.hash = hash;
}

function showChannelNav(name, channel) {
  if (!channel) { channelNav.hidden = true; channelNav.replaceChildren(); return; }
  channelNav.hidden = false;
  const link = (to, label, key) => h("a", { href: `#/c/${enc(channel)}/${to}`, "aria-current": name === key ? "page" : null }, label);
  fill(channelNav, h("h2", {}, `#${channel}`),
    h("ul", {}, h("li", {}, link("live", "Live", "live")), h("li", {}, link("history", "History", "history")),
      h("li", {}, link("sessions", "Sessions", "sessions"))));
}

function markNav(name) {
  for (const a of document.querySelectorAll("header nav a[data-nav]")) {
    const on = a.dataset.nav === name || (a.dataset.nav === "channels" && ["live", "history", "sessions"].includes(name));
    if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
}

async function route() {
  const { path, params } = parseHash();
  const found = ROUTES.map(([re, view, name]) => [path.match(re), view, name]).find(([m]) => m);
  if (current && found && current.path === path && current.instance && current.instance.update) {
    current.instance.update(params);
    return;
  }
  if (current && current.instance && current.instance.close) current.instance.close();
  current = null;
  if (!found) {
    fill(main, h("h1", { tabindex: "-1" }, "Not found"), h("p", {}, "No such page. ", h("a", { href: "#/" }, "See the channels.")));
    return;
  }
  const [match, view, name] = found;
  const channel = match[1] ? decodeURIComponent(match[1]) : null;
  markNav(name);
  showChannelNav(name, channel);
  main.replaceChildren();
  const token = {};
  current = { path, name, instance: null, token };
  const instance = await view.render(main, { channel, id: match[2] ? decodeURIComponent(match[2]) : null, params, setParams });
  if (current && current.token === token) current.instance = instance || null;
  else if (instance && instance.close) instance.close();
  // After a navigation (not on the first load, where the skip link comes first) the new view's
  // heading takes the focus, so keyboard and screen reader users start at the content.
  const heading = main.querySelector("h1");
  if (navigated && heading && (document.activeElement === document.body || !main.contains(document.activeElement))) {
    heading.focus({ preventScroll: true });
  }
  navigated = true;
}

function setupTheme() {
  const button = document.getElementById("theme");
  const apply = (theme) => {
    if (theme) document.documentElement.dataset.theme = theme; else delete document.documentElement.dataset.theme;
    const dark = theme ? theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    button.setAttribute("aria-pressed", String(dark));
    button.textContent = dark ? "Light theme" : "Dark theme";
  };
  apply(localStorage.getItem("streamscope.theme"));
  button.addEventListener("click", () => {
    const dark = button.getAttribute("aria-pressed") === "true";
    const next = dark ? "light" : "dark";
    localStorage.setItem("streamscope.theme", next);
    apply(next);
    window.dispatchEvent(new CustomEvent("themechange"));
  });
}

setupTheme();
// The skip link must not change the hash (that is the route): it moves the focus itself.
document.querySelector(".skip").addEventListener("click", (e) => { e.preventDefault(); main.focus(); });
window.addEventListener("hashchange", () => route().catch(reportError));
// "/" jumps to the page's search field, as on most sites.
document.addEventListener("keydown", (e) => {
  if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
  if (["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement?.tagName)) return;
  const search = main.querySelector("input[type=search]");
  if (search) { e.preventDefault(); search.focus(); }
});
route().catch(reportError);
