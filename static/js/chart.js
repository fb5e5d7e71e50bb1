// The portal's one chart component (server side: billspree/core/charts.py,
// {% chart %} in billspree/core/templatetags/charts.py, templates/partials/chart.html).
//
// Every <figure data-chart="ID"> holds its data in <script type="application/json" id=ID>
// (Django's json_script: never executed, so the Content-Security-Policy allows it) and a
// table of the same values for readers without JavaScript. This script draws the figure
// with uPlot (static/vendor/uplot, see static/js/VENDORED.txt): bars and lines, several
// series, comparison series muted, an axis of months, days or instants, the unit on the
// value axis, the year on the time axis, and a tooltip (period with its year, value and
// unit, notes such as "so far") on hover, on tap and on keyboard focus. No inline style
// attribute is written: positions are set through the CSSOM (element.style), which the
// policy allows. Labels and values arrive formatted from the server; nothing is
// re-formatted here except the value axis' numbers.
(function () {
  "use strict";
  if (window.billspreeCharts) return;

  const MIN_TICK_PX = 34; // narrowest spacing between two x-axis labels
  const FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

  // "#0f766e" mixed with white (share 0..1 of white); other colour forms stay as they are.
  function lighten(color, share) {
    const m = /^#([0-9a-f]{6})$/i.exec(color);
    if (!m) return color;
    const n = parseInt(m[1], 16);
    const mix = (c) => Math.round(c + (255 - c) * share);
    return `rgb(${mix(n >> 16)}, ${mix((n >> 8) & 255)}, ${mix(n & 255)})`;
  }

  function colors() {
    const css = getComputedStyle(document.documentElement);
    const get = (name, fallback) => (css.getPropertyValue(name) || "").trim() || fallback;
    return {
      brand: get("--brand", "#0f766e"),
      soft: get("--brand-soft", "#d7efec"),
      ink: get("--ink", "#1f2933"),
      muted: get("--muted", "#6b7785"),
      line: get("--line", "#e3e8ee"),
      compare: "#9aa5b1",
      estimated: lighten(get("--brand", "#0f766e"), 0.45),
      palette: ["#c2410c", "#4338ca", "#a16207", "#be185d"],
    };
  }

  function seriesColor(c, s, i) {
    if (s.compare) return c.compare;
    return i === 0 ? c.brand : c.palette[(i - 1) % c.palette.length];
  }

  // x-axis tick positions: the points the server labelled, thinned to fit the width;
  // a shown tick gets its year when the previous shown one was in another year.
  function monthDayTicks(u, data) {
    const labelled = [];
    data.ticks.forEach((t, i) => { if (t) labelled.push(i); });
    if (!labelled.length) return { splits: [], texts: {} };
    const px = (i) => u.valToPos(i, "x");
    let step = 1;
    while (step < labelled.length) {
      let ok = true;
      for (let k = step; k < labelled.length; k += step) {
        if (px(labelled[k]) - px(labelled[k - step]) < MIN_TICK_PX) { ok = false; break; }
      }
      if (ok) break;
      step += 1;
    }
    const splits = labelled.filter((_, k) => k % step === 0);
    const last = labelled[labelled.length - 1];
    if (data.so_far[last] && splits[splits.length - 1] !== last) {
      if (splits.length > 1 && px(last) - px(splits[splits.length - 1]) < MIN_TICK_PX) splits.pop();
      splits.push(last);
    }
    const texts = {};
    let year = null;
    splits.forEach((i) => {
      const y = String(data.x[i]).slice(0, 4);
      let t = data.ticks[i];
      if (y !== year && t.indexOf(y) < 0) {
        const lines = t.split("\n");
        lines.splice(1, 0, y);
        t = lines.join("\n");
      }
      year = y;
      texts[i] = t;
    });
    return { splits, texts };
  }

  // Time-axis labels in the property's zone, as the server writes them: "06:00" with
  // "1 Dec 2026" under the first tick of each day; "1 Dec" with the year where it changes.
  function timeTicks(splits, incr, zone) {
    const opts = zone ? { timeZone: zone } : {};
    const day = new Intl.DateTimeFormat("en-GB", { ...opts, day: "numeric", month: "short" });
    const year = new Intl.DateTimeFormat("en-GB", { ...opts, year: "numeric" });
    const clock = new Intl.DateTimeFormat("en-GB", { ...opts, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    let lastDay = null;
    let lastYear = null;
    return splits.map((secs) => {
      const at = new Date(secs * 1e3);
      const d = day.format(at);
      const y = year.format(at);
      let text;
      if (incr >= 86400) {
        text = y !== lastYear ? `${d}\n${y}` : d;
      } else {
        text = d !== lastDay ? `${clock.format(at)}\n${d} ${y}` : clock.format(at);
      }
      lastDay = d;
      lastYear = y;
      return text;
    });
  }

  function splitsText(cache) {
    return cache.splits.map((i) => cache.texts[i]);
  }

  function tickLines(data) {
    return data.ticks.reduce((n, t) => Math.max(n, t ? t.split("\n").length : 1), 1) + 1;
  }

  function yRange(u, min, max) {
    const lo = Math.min(0, min == null ? 0 : min);
    let hi = Math.max(0, max == null ? 1 : max);
    if (hi === lo) hi = lo + 1;
    const [, niceHi] = uPlot.rangeNum(lo, hi, 0.1, true);
    return [lo, niceHi];
  }

  function build(figure) {
    const source = document.getElementById(figure.dataset.chart);
    const plot = figure.querySelector(".chart-plot");
    if (!source || !plot || typeof window.uPlot === "undefined") return null; // empty or no JS
    const data = JSON.parse(source.textContent);
    const c = colors();
    const timeAxis = data.axis === "time";
    const n = data.x.length;
    const xs = timeAxis ? data.x : data.x.map((_, i) => i);
    const bars = data.series.filter((s) => s.kind === "bar");
    const groupWidth = 0.8;
    const barWidth = bars.length ? groupWidth / bars.length : groupWidth;
    let tickCache = null;
    let timeCache = [];

    const series = [{ label: data.x_title || "Period" }];
    data.series.forEach((s, i) => {
      const color = seriesColor(c, s, i);
      const conf = {
        label: s.name,
        stroke: color,
        width: s.kind === "bar" ? 1 : 2,
        spanGaps: false,
        value: (u, v, si, idx) => (idx == null ? "" : s.text[idx]),
      };
      if (s.compare && s.kind === "line") conf.dash = [6, 4];
      if (s.kind === "bar") {
        const slot = bars.indexOf(s);
        const fills = data.so_far.map((soFar, k) => {
          if (s.compare) return c.compare;
          if (soFar) return i === 0 ? c.soft : color;
          if ((s.marks[k] || "") === "estimated") return c.estimated;
          return color;
        });
        const strokes = data.so_far.map((soFar) => (soFar && !s.compare ? color : "rgba(0,0,0,0)"));
        conf.fill = color;
        conf.points = { show: false };
        conf.paths = uPlot.paths.bars({
          size: [groupWidth, 96],
          align: 1,
          disp: {
            x0: { unit: 1, values: () => xs.map((x) => x - groupWidth / 2 + slot * barWidth) },
            size: { unit: 1, values: () => [barWidth * (bars.length > 1 ? 0.9 : 1)] },
            fill: { unit: 3, values: () => fills },
            stroke: { unit: 3, values: () => strokes },
          },
        });
      } else {
        conf.points = { show: true, size: 5, fill: color };
      }
      series.push(conf);
    });

    const axisX = {
      stroke: c.muted,
      font: FONT,
      labelFont: FONT,
      grid: { show: false },
      ticks: { stroke: c.line, size: 4 },
      label: data.x_title || "",
      labelSize: 18,
      labelGap: 0,
    };
    if (timeAxis) {
      axisX.size = 8 + 14 * 3;
      axisX.values = (u, splits, ai, space, incr) => {
        timeCache = timeTicks(splits, incr, data.zone);
        return timeCache;
      };
    } else {
      axisX.size = 8 + 14 * tickLines(data);
      axisX.splits = (u) => { tickCache = monthDayTicks(u, data); return tickCache.splits; };
      axisX.values = (u, splits) => splits.map((i) => (tickCache && tickCache.texts[i]) || "");
    }
    const axisY = {
      stroke: c.muted,
      font: FONT,
      labelFont: FONT,
      grid: { stroke: c.line, width: 1 },
      ticks: { show: false },
      label: data.unit,
      labelSize: 18,
      values: (u, vals) => vals.map((v) => number.format(v)),
      size: (u, values) => {
        if (!values) return 40;
        const widest = values.reduce((w, v) => Math.max(w, String(v).length), 1);
        return 14 + widest * 7;
      },
    };

    const opts = {
      width: Math.max(200, plot.clientWidth),
      height: window.innerWidth < 600 ? 210 : 250,
      padding: [12, 12, 0, 0],
      legend: { show: data.series.length > 1, live: false },
      cursor: {
        drag: { x: false, y: false, setScale: false },
        points: { show: false },
        y: false,
        x: timeAxis,
      },
      scales: {
        x: timeAxis ? { time: true } : { time: false, range: () => [-0.5, n - 0.5] },
        y: { range: yRange },
      },
      axes: [axisX, axisY],
      series: series,
    };
    if (timeAxis && data.zone) opts.tzDate = (ts) => uPlot.tzDate(new Date(ts * 1e3), data.zone);

    const firstOffset = bars.length > 1 ? -groupWidth / 2 + barWidth / 2 : 0;
    if (!timeAxis) opts.hooks = { draw: [(u) => drawValueLabels(u, data, c, firstOffset)] };
    const values = [xs].concat(data.series.map((s) => s.values));
    const u = new uPlot(opts, values, plot);
    u.billspree = { data, ticks: () => (tickCache ? splitsText(tickCache) : timeCache) };
    attachTooltip(u, figure, data);
    return u;
  }

  // The value above each bar of the first bar series, when every label fits its slot
  // (a year of months on a desktop; on a phone the tooltip and the table give them).
  function drawValueLabels(u, data, c, offset) {
    const si = data.series.findIndex((s) => s.kind === "bar" && !s.compare);
    if (si < 0) return;
    const s = data.series[si];
    const ratio = window.devicePixelRatio || 1;
    const bars = data.series.filter((b) => b.kind === "bar").length;
    const slot = u.bbox.width / ratio / data.x.length / Math.max(1, bars);
    const texts = s.values.map((v) => (v == null ? "" : number.format(Math.round(v))));
    const widest = texts.reduce((w, t) => Math.max(w, t.length), 0);
    if (!widest || slot < widest * 7 + 8) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.font = `${11 * ratio}px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif`;
    ctx.fillStyle = c.muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    s.values.forEach((v, i) => {
      if (v == null) return;
      const x = u.valToPos(u.data[0][i] + offset, "x", true);
      const y = u.valToPos(Math.max(v, 0), "y", true);
      ctx.fillText(texts[i], x, y - 3 * ratio);
    });
    ctx.restore();
  }

  function tooltipText(data, idx) {
    const lines = data.series.map((s) => {
      const value = s.values[idx] == null ? "no value" : s.text[idx];
      const note = s.notes[idx] ? ` (${s.notes[idx]})` : "";
      return (data.series.length > 1 ? `${s.name}: ` : "") + value + note;
    });
    return { title: data.labels[idx], lines };
  }

  function attachTooltip(u, figure, data) {
    const tip = document.createElement("div");
    tip.className = "chart-tooltip";
    tip.setAttribute("role", "status");
    tip.hidden = true;
    const title = document.createElement("strong");
    const body = document.createElement("span");
    tip.append(title, body);
    u.over.appendChild(tip);
    let pinned = null; // the index a tap selected (touch has no hover to follow)

    function show(idx) {
      if (idx == null || idx < 0 || idx >= data.x.length) {
        tip.hidden = true;
        figure.removeAttribute("data-active");
        return;
      }
      const text = tooltipText(data, idx);
      title.textContent = text.title;
      body.replaceChildren(...text.lines.map((l) => {
        const line = document.createElement("span");
        line.textContent = l;
        return line;
      }));
      tip.hidden = false;
      figure.dataset.active = String(idx);
      const x = u.valToPos(u.data[0][idx], "x");
      const width = u.over.clientWidth;
      const tw = tip.offsetWidth;
      let left = x - tw / 2;
      left = Math.max(0, Math.min(width - tw, left));
      tip.style.left = `${Math.round(left)}px`;
      tip.style.top = "0px";
    }

    u.hooks.setCursor = u.hooks.setCursor || [];
    u.hooks.setCursor.push((self) => {
      const idx = self.cursor.idx;
      if (idx == null && pinned != null) return show(pinned);
      show(idx);
    });
    const nearest = (clientX) => {
      const rect = u.over.getBoundingClientRect();
      const val = u.posToVal(clientX - rect.left, "x");
      if (data.axis !== "time") return Math.max(0, Math.min(data.x.length - 1, Math.round(val)));
      let best = 0;
      u.data[0].forEach((x, i) => { if (Math.abs(x - val) < Math.abs(u.data[0][best] - val)) best = i; });
      return best;
    };
    // A tap (touch or pen) pins the tooltip to the bar under the finger.
    u.over.addEventListener("pointerdown", (event) => {
      if (event.pointerType === "mouse") return;
      pinned = nearest(event.clientX);
      show(pinned);
    });
    u.over.addEventListener("click", (event) => {
      pinned = nearest(event.clientX);
      show(pinned);
    });
    document.addEventListener("pointerdown", (event) => {
      if (!figure.contains(event.target)) { pinned = null; show(null); }
    });
    u.over.addEventListener("mouseleave", () => { if (pinned == null) show(null); else show(pinned); });
    // Keyboard: the plot is focusable; arrows move between points.
    u.over.tabIndex = 0;
    u.over.setAttribute("aria-label", `${data.title}: use the arrow keys to read the values`);
    u.over.addEventListener("keydown", (event) => {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      event.preventDefault();
      const last = data.x.length - 1;
      const cur = pinned == null ? last : pinned;
      pinned = Math.max(0, Math.min(last, cur + (event.key === "ArrowRight" ? 1 : -1)));
      show(pinned);
    });
    u.over.addEventListener("focus", () => { if (pinned == null) { pinned = data.x.length - 1; show(pinned); } });
  }

  const drawn = new Map();

  function drawAll(root) {
    (root || document).querySelectorAll("figure[data-chart]").forEach((figure) => {
      if (drawn.has(figure)) return;
      const u = build(figure);
      if (!u) return;
      drawn.set(figure, u);
      figure.classList.add("chart-drawn");
      if (observer) observer.observe(figure.querySelector(".chart-plot"));
    });
  }

  // Follow the plot's width (window resizes, a sidebar opening, a phone turned).
  let resizeTimer = null;
  function resizeAll() {
    drawn.forEach((u, figure) => {
      if (!document.body.contains(figure)) { drawn.delete(figure); return; }
      const plot = figure.querySelector(".chart-plot");
      const width = Math.max(200, plot.clientWidth);
      const height = window.innerWidth < 600 ? 210 : 250;
      if (width !== u.width || height !== u.height) u.setSize({ width, height });
    });
  }
  function scheduleResize() {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(resizeAll, 60);
  }
  const observer = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(scheduleResize);
  window.addEventListener("resize", scheduleResize);

  // For tests and for charts built on this one: the uPlot instance of a figure, the x-axis
  // labels as drawn, and where on the page point ``i`` of the x axis is.
  function instance(figure) { return drawn.get(figure); }
  function ticks(figure) { const u = drawn.get(figure); return u ? u.billspree.ticks() : []; }
  function pointAt(figure, i) {
    const u = drawn.get(figure);
    const rect = u.over.getBoundingClientRect();
    return { x: rect.left + u.valToPos(u.data[0][i], "x"), y: rect.top + rect.height * 0.75 };
  }
  window.billspreeCharts = { drawAll, charts: drawn, instance, ticks, pointAt };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => drawAll());
  else drawAll();
  document.addEventListener("htmx:afterSettle", (event) => drawAll(event.target));
})();
