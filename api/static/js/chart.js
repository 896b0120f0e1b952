// Time series with uPlot (vendored, /static/vendor/uplot): x in epoch ms, shown in UTC, up to two
// y scales (left: viewers, right: chat), optional marked spans (hype moments).
import { h } from "./dom.js";

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

/** Merge series given as [{at, value}] lists onto one sorted x axis; missing points are null. */
export function align(lists) {
  const xs = [...new Set(lists.flatMap((l) => l.map((p) => p.at)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  return [xs, ...lists.map((l) => {
    const ys = new Array(xs.length).fill(null);
    for (const p of l) ys[index.get(p.at)] = p.value;
    return ys;
  })];
}

/**
 * Draw a chart into `box` (a block element); returns the uPlot instance, also kept as `box.uplot`
 * (the tests read the points from it). series: [{label, color, scale: "l"|"r"}], data: [xs, ...ys].
 * marks: [{start, end, label}] drawn as shaded spans; onPick(mark) when one is clicked.
 */
export function timeChart(box, { series, data, marks = [], onPick, label }) {
  if (box.uplot) box.uplot.destroy();
  box.replaceChildren();
  box.setAttribute("role", "figure");
  box.setAttribute("aria-label", label);
  if (!window.uPlot) {
    box.append(h("p", { class: "warn" }, "The chart library did not load."));
    return null;
  }
  const axis = { stroke: cssVar("--muted"), grid: { stroke: cssVar("--line"), width: 1 }, ticks: { stroke: cssVar("--line") } };
  const hasRight = series.some((s) => s.scale === "r");
  const opts = {
    width: Math.max(280, box.clientWidth || 600),
    height: 260,
    ms: 1,
    tzDate: (ts) => window.uPlot.tzDate(new Date(ts), "Etc/UTC"),
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true } },
    legend: { live: true },
    axes: [
      // UTC, 24 h: seconds within two hours, times of day within two days, dates beyond.
      { ...axis, values: (u, splits) => splits.map((v) => {
        if (v == null) return "";
        const text = new Date(v).toISOString();
        const span = data[0].length ? data[0][data[0].length - 1] - data[0][0] : 0;
        return span > 2 * 86_400_000 ? text.slice(0, 10) : span > 7_200_000 ? text.slice(11, 16) : text.slice(11, 19);
      }) },
      { ...axis, scale: "l", label: series.find((s) => s.scale !== "r")?.label || "" },
      ...(hasRight ? [{ ...axis, scale: "r", side: 1, grid: { show: false }, label: series.find((s) => s.scale === "r").label }] : []),
    ],
    series: [
      { label: "time (UTC)", value: (u, v) => (v == null ? "—" : new Date(v).toISOString().replace("T", " ").slice(0, 19)) },
      ...series.map((s) => ({ label: s.label, scale: s.scale || "l", stroke: s.color, width: 2, spanGaps: false, points: { show: data[0].length < 80 } })),
    ],
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.fillStyle = cssVar("--mark") + "33";
        ctx.strokeStyle = cssVar("--mark");
        for (const m of marks) {
          const x0 = u.valToPos(m.start, "x", true), x1 = Math.max(x0 + 2, u.valToPos(m.end, "x", true));
          ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
          ctx.beginPath(); ctx.moveTo(x0, u.bbox.top); ctx.lineTo(x0, u.bbox.top + u.bbox.height); ctx.stroke();
        }
        ctx.restore();
      }],
    },
  };
  const u = new window.uPlot(opts, data, box);
  if (onPick && marks.length) {
    u.over.addEventListener("click", () => {
      const at = u.posToVal(u.cursor.left, "x");
      const hit = marks.find((m) => at >= m.start - (m.end - m.start) && at <= m.end + (m.end - m.start));
      if (hit) onPick(hit);
    });
  }
  const observer = new ResizeObserver(() => {
    if (box.clientWidth && Math.abs(box.clientWidth - u.width) > 4) u.setSize({ width: box.clientWidth, height: 260 });
  });
  observer.observe(box);
  box.uplot = u;
  return u;
}

/** Whether rows look like a time series: the first column times (epoch ms/s or ISO), the rest numbers. */
export function asTimeSeries(columns, rows) {
  if (!columns || columns.length < 2 || !rows || rows.length < 2) return null;
  const toMs = (v) => {
    if (typeof v === "number") return v > 1e11 ? v : v > 1e8 ? v * 1000 : null;
    if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(v)) {
      const s = v.includes("T") || v.includes(" ") ? v.replace(" ", "T") : `${v}T00:00:00`;
      const ms = Date.parse(/Z|[+-]\d{2}:?\d{2}$/.test(s) ? s : `${s}Z`);
      return Number.isNaN(ms) ? null : ms;
    }
    return null;
  };
  const xs = rows.map((r) => toMs(r[0]));
  if (xs.some((x) => x == null)) return null;
  const numeric = columns.slice(1).map((_, i) => rows.every((r) => r[i + 1] == null || typeof r[i + 1] === "number" || (typeof r[i + 1] === "string" && r[i + 1] !== "" && !Number.isNaN(Number(r[i + 1])))));
  const keep = numeric.map((ok, i) => (ok ? i + 1 : -1)).filter((i) => i > 0);
  if (!keep.length) return null;
  const order = xs.map((x, i) => i).sort((a, b) => xs[a] - xs[b]);
  return {
    labels: keep.map((i) => columns[i]),
    data: [order.map((i) => xs[i]), ...keep.map((c) => order.map((i) => (rows[i][c] == null ? null : Number(rows[i][c]))))],
  };
}
