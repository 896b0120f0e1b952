// Element building without HTML parsing: every string becomes a text node (chat text is untrusted,
// so nothing here ever assigns innerHTML).

/** h("div", {class: "x", onclick: fn, "aria-label": "y"}, "text", child, ...) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value" || key === "checked" || key === "hidden" || key === "disabled") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function field(label, input, cls) {
  return h("label", { class: cls }, label, input);
}

/** A status line that screen readers announce. */
export function statusLine(id) {
  return h("p", { class: "status muted", id, role: "status", "aria-live": "polite" });
}

export function card(key, value, id) {
  return h("div", { class: "card" }, h("div", { class: "k" }, key), h("div", { class: "v", id }, value));
}

export function table(columns, rows, attrs) {
  const label = (attrs && attrs["aria-label"]) || "Table";
  return h("div", { class: "scroll-x", tabindex: "0", role: "region", "aria-label": label },
    h("table", attrs || {},
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(r))))))));
}
