// Ask: a chat with the analyst (POST /v1/agent/ask/stream). Its steps stream in with the SQL they
// ran; the answer comes with its SQL and rows, drawn as a chart when they are a time series.
import { h, fill, field, table } from "../dom.js";
import { getJson, hasRoute, readEvents, errorOf } from "../api.js";
import { num, utc } from "../fmt.js";
import { timeChart, asTimeSeries } from "../chart.js";

const ROUTE = "/v1/agent/ask/stream";

function cell(v) {
  if (v == null) return "—";
  if (typeof v === "number") return num(v, 3);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function stepItem(step) {
  return h("li", { class: "step" },
    h("strong", {}, step.tool || "step"),
    step.arguments ? h("pre", { class: "args" }, typeof step.arguments === "string" ? step.arguments : JSON.stringify(step.arguments, null, 1)) : null,
    step.sql ? h("pre", { class: "sql" }, step.sql) : null,
    step.error ? h("p", { class: "warn" }, `Error: ${step.error}`) : null,
    Array.isArray(step.rows) ? h("p", { class: "muted" }, `${step.rows.length} rows`) : step.rows != null ? h("p", { class: "muted" }, `${step.rows} rows`) : null);
}

function answerBlock(a, n) {
  const series = asTimeSeries(a.columns, a.rows);
  const chartBox = series ? h("div", { class: "chart answer-chart", id: `answer-chart-${n}` }) : null;
  const block = h("div", { class: "answer-block" },
    h("p", { class: "answer" }, a.answer),
    (a.sql || []).length ? [h("h3", {}, "SQL it ran"), a.sql.map((q) => h("pre", { class: "answer-sql" }, q))] : null,
    chartBox,
    (a.columns || []).length ? [h("h3", {}, `Result (${a.rows.length} rows)`),
      table(a.columns.map((c, i) => ({ label: c, cell: (r) => cell(r[i]), num: a.rows.every((r) => r[i] == null || typeof r[i] === "number") })),
        a.rows.slice(0, 500), { class: "answer-table", "aria-label": "Result rows" })] : null);
  return { block, draw: () => series && timeChart(chartBox, {
    series: series.labels.map((l, i) => ({ label: l, scale: "l", color: ["#2563eb", "#7c3aed", "#b45309", "#166534"][i % 4] })),
    data: series.data, label: `Chart of the answer: ${series.labels.join(", ")} over time`,
  }) };
}

export async function render(main) {
  main.append(h("h1", { tabindex: "-1" }, "Ask the analyst"));
  if (!(await hasRoute(ROUTE, "post"))) {
    main.append(h("p", { class: "muted", id: "ask-missing" }, "The analyst is not available on this server (it has no /v1/agent/ask route)."));
    main.dataset.loaded = "true";
    return null;
  }
  const question = h("textarea", { id: "question", rows: "3", cols: "60", required: true, placeholder: "e.g. Which hour had the most messages?" });
  const channelIn = h("select", { id: "ask-channel" }, h("option", { value: "" }, "any channel"));
  const button = h("button", { type: "submit" }, "Ask");
  const conversation = h("div", { id: "conversation", "aria-live": "polite" });
  let controller = null;
  let n = 0;
  main.append(h("form", { class: "bar", id: "ask-form", onsubmit: ask }, field("Question", question), field("Channel", channelIn), button), conversation);
  question.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); main.querySelector("#ask-form").requestSubmit(); } });
  getJson("/v1/channels").then(({ channels }) => {
    for (const c of channels) channelIn.append(h("option", { value: c.login }, `#${c.login}`));
  }).catch(() => {});

  async function ask(e) {
    e.preventDefault();
    const text = question.value.trim();
    if (!text) return;
    n += 1;
    const steps = h("ol", { class: "steps", "aria-label": "Steps" });
    const status = h("p", { class: "status muted", role: "status" }, "Thinking…");
    const exchange = h("section", { class: "exchange", "aria-label": `Question ${n}` }, h("h2", {}, text), steps, status);
    conversation.append(exchange);
    button.disabled = true;
    controller = new AbortController();
    try {
      const res = await fetch(ROUTE, {
        method: "POST", headers: { "content-type": "application/json", accept: "text/event-stream" },
        body: JSON.stringify({ question: text, channel: channelIn.value || null }), signal: controller.signal,
      });
      if (!res.ok) {
        const err = await errorOf(res);
        status.className = "status warn";
        status.textContent = err.code === "agent_unconfigured"
          ? `No model is configured, so the analyst cannot answer. Set STREAMSCOPE_OPENAI_BASE_URL, STREAMSCOPE_OPENAI_MODEL (and STREAMSCOPE_OPENAI_API_KEY) for the server, then restart it. (${err.message})`
          : `The analyst could not answer: ${err.message}`;
        return;
      }
      await readEvents(res, (name, data) => {
        if (name === "step") { steps.append(stepItem(data)); status.textContent = `${steps.children.length} step(s)…`; }
        else if (name === "answer") {
          const { block, draw } = answerBlock(data, n);
          status.textContent = `Answered at ${utc(Date.now())} UTC after ${steps.children.length} step(s).`;
          exchange.append(block);
          draw();
        } else if (name === "error") {
          status.className = "status warn";
          status.textContent = `The analyst failed: ${(data.error && data.error.message) || "unknown error"}`;
        }
      }, controller.signal);
    } catch (err) {
      if (err.name !== "AbortError") { status.className = "status warn"; status.textContent = `The analyst could not answer: ${err.message}`; }
    } finally {
      button.disabled = false;
    }
  }
  main.dataset.loaded = "true";
  return { close: () => controller && controller.abort() };
}
