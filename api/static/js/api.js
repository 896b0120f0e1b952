// The public HTTP API, nothing else. Errors keep the API's {"error": {code, message}}.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function url(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v != null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function failure(res) {
  let code = "http_" + res.status, message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = await res.json();
    if (body && body.error) ({ code, message } = body.error);
  } catch { /* not JSON */ }
  return new ApiError(res.status, code, message);
}

export async function getJson(path, params, init) {
  const res = await fetch(url(path, params), init);
  if (!res.ok) throw await failure(res);
  return res.json();
}

export async function postJson(path, body, init) {
  const res = await fetch(path, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), ...init,
  });
  if (!res.ok) throw await failure(res);
  return res;
}

export { failure as errorOf };

let documented = null;

/** Whether the API documents `GET|POST path` (read once from /openapi.json): a view asks before it
 *  calls a route other parts of streamscope may not serve yet, so a missing route is a clear line on
 *  the page rather than a 404 in the console. */
export async function hasRoute(path, method = "get") {
  if (!documented) documented = getJson("/openapi.json").then((doc) => doc.paths || {}).catch(() => ({}));
  const paths = await documented;
  return Boolean(paths[path] && paths[path][method]);
}

export const enc = encodeURIComponent;

/** Read a text/event-stream response body, calling onEvent(name, data) per event. */
export async function readEvents(res, onEvent, signal) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    if (signal && signal.aborted) { reader.cancel(); return; }
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
      let name = "message";
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(name, JSON.parse(data.join("\n")));
    }
  }
}
