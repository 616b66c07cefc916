/* The live dashboard: polls /metrics and /health, keeps a short history, draws the charts.
 * The arithmetic lives in metrics.js (InferstackMetrics); this file is fetching and drawing. */
(function () {
  "use strict";

  const M = window.InferstackMetrics;
  const POLL_MS = 2000;
  const WINDOW_S = 15; // rates and percentiles are over this sliding window
  const KEEP_S = 300; // chart history
  const MIN_SPAN_S = 60;
  const FETCH_TIMEOUT_MS = 1800;
  // /health probes every engine (up to the gateway's health_probe_timeout_s, 2 s): it gets
  // longer, and it never holds the metrics' poll back.
  const HEALTH_TIMEOUT_MS = 10000;

  const COLORS = {
    cyan: "#38bdf8",
    violet: "#a78bfa",
    amber: "#fbbf24",
    rose: "#fb7185",
    green: "#34d399",
    grid: "#1e2736",
    axis: "#6b768b",
  };

  // ---- formatting -------------------------------------------------------------------------

  function fmtRate(v) {
    if (v === null || !Number.isFinite(v)) return "–";
    if (v === 0) return "0";
    if (v >= 100) return Math.round(v).toLocaleString("en-US");
    return v >= 10 ? v.toFixed(1) : v.toFixed(2);
  }

  function fmtSeconds(v) {
    if (v === null || !Number.isFinite(v)) return "–";
    if (v === 0) return "0";
    if (v >= 1) return v.toFixed(v >= 10 ? 1 : 2) + " s";
    const ms = v * 1000;
    return (ms >= 10 ? Math.round(ms) : ms.toFixed(1)) + " ms";
  }

  function fmtPercent(v) {
    if (v === null || !Number.isFinite(v)) return "–";
    const pct = v * 100;
    if (pct === 0) return "0 %";
    return (pct < 1 ? pct.toFixed(2) : pct.toFixed(1)) + " %";
  }

  function fmtCount(v) {
    if (v === null || !Number.isFinite(v)) return "–";
    return Number.isInteger(v) ? String(v) : v.toFixed(1);
  }

  function fmtUptime(s) {
    if (!Number.isFinite(s)) return "";
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d > 0) return `${d}d ${h}h`;
    if (h > 0) return `${h}h ${m}m`;
    return m > 0 ? `${m}m ${Math.floor(s % 60)}s` : `${Math.floor(s)}s`;
  }

  // ---- charts -----------------------------------------------------------------------------

  const CHARTS = {
    throughput: {
      fmt: fmtRate,
      floor: 1,
      series: [
        { label: "requests/s", color: COLORS.cyan, pick: (f) => f.rps, fill: true },
        { label: "errors/s", color: COLORS.rose, pick: (f) => f.errorsPerS },
      ],
    },
    latency: {
      fmt: fmtSeconds,
      floor: 0.01,
      series: [
        { label: "P50", color: COLORS.cyan, pick: (f) => f.p50, fill: true },
        { label: "P95", color: COLORS.violet, pick: (f) => f.p95 },
        { label: "P99", color: COLORS.amber, pick: (f) => f.p99 },
      ],
    },
    ttft: {
      fmt: fmtSeconds,
      floor: 0.01,
      series: [
        { label: "P50", color: COLORS.cyan, pick: (f) => f.ttftP50, fill: true },
        { label: "P95", color: COLORS.violet, pick: (f) => f.ttftP95 },
      ],
    },
    tokens: {
      fmt: fmtRate,
      floor: 1,
      series: [{ label: "tokens/s", color: COLORS.green, pick: (f) => f.tokensPerS, fill: true }],
    },
    errors: {
      fmt: fmtPercent,
      floor: 0.01,
      series: [{ label: "non-2xx", color: COLORS.rose, pick: (f) => f.errorRatio, fill: true }],
    },
    load: {
      fmt: fmtCount,
      floor: 4,
      series: [
        { label: "in flight", color: COLORS.cyan, pick: (f) => f.inFlight, fill: true },
        { label: "engine queue", color: COLORS.amber, pick: (f) => f.queueDepth },
      ],
    },
  };

  /** Axis ticks: a "nice" step (1, 2 or 5 × 10^n) giving 3 to 5 intervals over [0, max]. */
  function niceTicks(max) {
    const raw = max / 4;
    const exp = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * exp).find((candidate) => candidate >= raw);
    const count = Math.max(1, Math.ceil(max / step - 1e-9));
    return Array.from({ length: count + 1 }, (_, i) => i * step);
  }

  function drawChart(canvas, def, points, now) {
    const dpr = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (width === 0 || height === 0) return;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const pad = { left: 58, right: 10, top: 8, bottom: 22 };
    const plotW = width - pad.left - pad.right;
    const plotH = height - pad.top - pad.bottom;
    const first = points.length > 0 ? points[0].t : now;
    const span = Math.min(KEEP_S, Math.max(MIN_SPAN_S, now - first));
    const x = (t) => pad.left + plotW * (1 - (now - t) / span);

    let max = 0;
    for (const p of points) {
      for (const v of p.values) if (v !== null && Number.isFinite(v)) max = Math.max(max, v);
    }
    const ticks = niceTicks(Math.max(max * 1.1, def.floor));
    const top = ticks[ticks.length - 1];
    const y = (v) => pad.top + plotH * (1 - v / top);

    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1;
    ctx.textBaseline = "middle";
    for (const value of ticks) {
      const gy = Math.round(y(value)) + 0.5;
      ctx.strokeStyle = COLORS.grid;
      ctx.beginPath();
      ctx.moveTo(pad.left, gy);
      ctx.lineTo(width - pad.right, gy);
      ctx.stroke();
      ctx.fillStyle = COLORS.axis;
      ctx.textAlign = "right";
      ctx.fillText(def.fmt(value), pad.left - 8, gy);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "alphabetic";
    const tick = span > 120 ? 60 : 15;
    for (let ago = 0; ago <= span; ago += tick) {
      ctx.fillStyle = COLORS.axis;
      ctx.textAlign = ago === 0 ? "right" : "center";
      const label = ago === 0 ? "now" : ago % 60 === 0 ? `-${ago / 60}m` : `-${ago}s`;
      ctx.fillText(label, x(now - ago), height - 6);
    }

    def.series.forEach((series, index) => {
      const runs = [[]]; // gaps (null) split the line
      for (const p of points) {
        const v = p.values[index];
        if (v === null || !Number.isFinite(v)) {
          if (runs[runs.length - 1].length > 0) runs.push([]);
        } else {
          runs[runs.length - 1].push([x(p.t), y(v)]);
        }
      }
      for (const run of runs) {
        if (run.length === 0) continue;
        if (series.fill && run.length > 1) {
          const gradient = ctx.createLinearGradient(0, pad.top, 0, pad.top + plotH);
          gradient.addColorStop(0, series.color + "55");
          gradient.addColorStop(1, series.color + "00");
          ctx.fillStyle = gradient;
          ctx.beginPath();
          ctx.moveTo(run[0][0], pad.top + plotH);
          for (const [px, py] of run) ctx.lineTo(px, py);
          ctx.lineTo(run[run.length - 1][0], pad.top + plotH);
          ctx.closePath();
          ctx.fill();
        }
        ctx.strokeStyle = series.color;
        ctx.lineWidth = 2;
        ctx.lineJoin = "round";
        ctx.beginPath();
        run.forEach(([px, py], i) => (i === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py)));
        ctx.stroke();
        if (run.length === 1) {
          ctx.fillStyle = series.color;
          ctx.beginPath();
          ctx.arc(run[0][0], run[0][1], 2.5, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
    });

    const finite = points.filter((p) => p.values.some((v) => v !== null && Number.isFinite(v)));
    canvas.dataset.points = String(finite.length);
    canvas.dataset.max = String(max);
  }

  function buildLegend(figure, def) {
    const legend = figure.querySelector(".legend");
    legend.replaceChildren();
    return def.series.map((series) => {
      const key = document.createElement("span");
      key.className = "key";
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = series.color;
      const now = document.createElement("span");
      now.className = "now";
      key.append(swatch, document.createTextNode(series.label), now);
      legend.append(key);
      return now;
    });
  }

  // ---- DOM updates ------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  function setTile(id, value, text, opts) {
    const el = $(id);
    const parts = /^([\d.,]+) (\S+)$/.exec(text); // "123 ms" → number and a smaller unit
    el.replaceChildren(document.createTextNode(parts ? parts[1] : text));
    if (parts) {
      const suffix = document.createElement("span");
      suffix.className = "suffix";
      suffix.textContent = parts[2];
      el.append(suffix);
    }
    el.dataset.value = value === null || value === undefined ? "" : String(value);
    el.classList.toggle("absent", Boolean(opts?.absent));
    el.classList.toggle("bad", Boolean(opts?.bad));
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function queueText(f) {
    return f.queue === "absent" ? "n/a" : fmtCount(f.queueDepth);
  }

  function cacheText(f) {
    if (f.cache === "absent") return "no cache";
    return f.cacheHitRatio === null ? "–" : fmtPercent(f.cacheHitRatio);
  }

  function renderTiles(f) {
    setTile("stat-rps", f.rps, fmtRate(f.rps));
    setTile("stat-errors", f.errorRatio, fmtPercent(f.errorRatio), { bad: f.errorRatio > 0.01 });
    setTile("stat-p95", f.p95, fmtSeconds(f.p95));
    setTile("stat-ttft", f.ttftP50, fmtSeconds(f.ttftP50));
    setTile("stat-tps", f.tokensPerS, fmtRate(f.tokensPerS));
    setTile("stat-inflight", f.inFlight, fmtCount(f.inFlight));
    setTile("stat-queue", f.queueDepth, queueText(f), { absent: f.queue === "absent" });
    setTile("stat-cache", f.cacheHitRatio, cacheText(f), { absent: f.cache === "absent" });
  }

  function renderModels(prev, cur, health) {
    const names = new Set(M.modelNames(cur.samples));
    for (const name of Object.keys(health?.models || {})) names.add(name);
    const rows = [];
    for (const name of [...names].sort((a, b) => a.localeCompare(b))) {
      const f = M.gatewayFigures(prev, cur, { model: name });
      const served = M.sumGauge(cur.samples, "inferstack_requests_total", { model: name });
      if (name === "unknown" && !served) continue; // requests not yet routed to a model
      const tr = document.createElement("tr");
      tr.dataset.model = name;
      const engines = health?.models?.[name];
      const up = engines
        ? Object.values(engines).filter((e) => e.status === "up").length
        : f.enginesUp;
      const count = engines ? Object.keys(engines).length : f.engines;
      const enginesCell = cell(count ? `${up}/${count} up` : "–");
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.dataset.status = count === 0 ? "unknown" : up === count ? "up" : up > 0 ? "degraded" : "down";
      badge.textContent = enginesCell.textContent;
      enginesCell.replaceChildren(badge);
      tr.append(
        cell(name, "model"),
        cell(fmtRate(f.rps)),
        cell(fmtPercent(f.errorRatio), f.errorRatio > 0.01 ? "bad" : ""),
        cell(fmtSeconds(f.p50)),
        cell(fmtSeconds(f.p95)),
        cell(fmtSeconds(f.p99)),
        cell(fmtSeconds(f.ttftP50)),
        cell(fmtRate(f.tokensPerS)),
        cell(fmtCount(f.inFlight)),
        cell(f.waiting === null ? "–" : fmtCount(f.waiting)),
        cell(fmtSeconds(f.waitP95)),
        cell(queueText(f)),
        cell(cacheText(f)),
        enginesCell
      );
      rows.push(tr);
    }
    const body = $("models").tBodies[0];
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      const td = cell("no models reported yet", "muted");
      td.colSpan = 14;
      tr.append(td);
      rows.push(tr);
    }
    body.replaceChildren(...rows);
  }

  function badge(label, status, latencyMs, title) {
    const el = document.createElement("span");
    el.className = "badge";
    el.dataset.status = status;
    el.append(document.createTextNode(label));
    if (latencyMs !== undefined && latencyMs !== null) {
      const latency = document.createElement("span");
      latency.className = "latency";
      latency.textContent = `${latencyMs} ms`;
      el.append(latency);
    }
    if (title) el.title = title;
    return el;
  }

  function renderHealth(health) {
    const overall = $("overall");
    if (health === null) {
      overall.dataset.status = "unknown";
      overall.textContent = "health unknown";
      return;
    }
    overall.dataset.status = health.status;
    overall.textContent = health.status.replace("_", " ");
    $("version").textContent = health.version ? `v${health.version}` : "";

    const byName = ([a], [b]) => a.localeCompare(b);
    const groups = Object.entries(health.models || {}).sort(byName).map(([model, engines]) => {
      const group = document.createElement("div");
      group.className = "engine-group";
      const name = document.createElement("span");
      name.className = "model-name";
      name.textContent = model;
      name.title = model;
      group.append(name);
      for (const [engine, info] of Object.entries(engines)) {
        // "kind@scheme://host:port" → "kind · host:port"; the full name is the tooltip
        const label = engine.replace(/@https?:\/\//, " · ");
        // A replica whose circuit breaker is not closed gets no (or probing) traffic.
        const paused = info.breaker && info.breaker !== "closed";
        const status = paused && info.status === "up" ? "degraded" : info.status;
        const shown = paused ? `${label} · breaker ${info.breaker.replace("_", "-")}` : label;
        group.append(badge(shown, status, info.latency_ms, info.detail || engine));
      }
      return group;
    });
    $("engines").replaceChildren(...(groups.length ? groups : [muted("no engines configured")]));

    const components = Object.entries(health.components || {}).map(([name, info]) =>
      badge(name.replace("_", " "), info.status, info.latency_ms, info.detail)
    );
    $("components").replaceChildren(
      ...(components.length ? components : [muted("no backing services configured")])
    );
  }

  function muted(text) {
    const el = document.createElement("span");
    el.className = "muted";
    el.textContent = text;
    return el;
  }

  // ---- polling ----------------------------------------------------------------------------

  const snapshots = []; // {t, samples, declared}
  const points = Object.fromEntries(Object.keys(CHARTS).map((name) => [name, []]));
  const legends = {};
  let lastSuccess = null;
  let polls = 0;
  let health = null; // the latest /health answer (null: none, or it failed)
  let healthAsked = false;
  let healthAnswers = 0;

  async function fetchWithTimeout(path, timeoutMs = FETCH_TIMEOUT_MS) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await fetch(path, { cache: "no-store", signal: controller.signal });
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
      return response;
    } finally {
      clearTimeout(timer);
    }
  }

  function redraw() {
    const now = snapshots.length ? snapshots[snapshots.length - 1].t : Date.now() / 1000;
    for (const figure of document.querySelectorAll("figure[data-chart]")) {
      const name = figure.dataset.chart;
      drawChart(figure.querySelector("canvas"), CHARTS[name], points[name], now);
    }
  }

  function record(figures, t) {
    for (const [name, def] of Object.entries(CHARTS)) {
      const values = def.series.map((s) => {
        const v = s.pick(figures);
        return v === undefined ? null : v;
      });
      points[name].push({ t, values });
      while (points[name].length && points[name][0].t < t - KEEP_S) points[name].shift();
      values.forEach((v, i) => {
        legends[name][i].textContent = def.series[i].label === "engine queue" && figures.queue === "absent"
          ? "n/a"
          : def.fmt(v);
      });
    }
  }

  function showReachable(health) {
    document.body.dataset.state = "live";
    $("banner").hidden = true;
    const clock = new Date().toLocaleTimeString("en-GB");
    const uptime = health && health.uptime_s !== undefined ? ` · up ${fmtUptime(health.uptime_s)}` : "";
    $("updated").textContent = `updated ${clock}${uptime}`;
  }

  function showUnreachable(error) {
    document.body.dataset.state = "unreachable";
    $("banner").hidden = false;
    const since = lastSuccess === null
      ? "no successful scrape yet"
      : `last data ${Math.round(Date.now() / 1000 - lastSuccess)} s ago`;
    $("banner-detail").textContent = `${since} · ${error.message || error}`;
    const overall = $("overall");
    overall.dataset.status = "unreachable";
    overall.textContent = "unreachable";
  }

  function askHealth() {
    if (healthAsked) return; // one at a time: a slow gateway is not asked again meanwhile
    healthAsked = true;
    fetchWithTimeout("/health", HEALTH_TIMEOUT_MS)
      .then((r) => r.json())
      .catch(() => null)
      .then((answer) => {
        health = answer;
        healthAsked = false;
        if (answer !== null && document.body.dataset.state === "live") renderHealth(answer);
        healthAnswers += 1;
        document.body.dataset.healthAnswers = String(healthAnswers);
      });
  }

  async function poll() {
    const started = Date.now();
    let scraped = null;
    askHealth();
    try {
      const metricsText = await fetchWithTimeout("/metrics").then((r) => r.text());
      scraped = { metricsText, health };
    } catch (error) {
      showUnreachable(error);
    }
    if (scraped !== null) {
      const t = Date.now() / 1000;
      const snapshot = {
        t,
        samples: M.parsePrometheus(scraped.metricsText),
        declared: M.declaredMetrics(scraped.metricsText),
      };
      snapshots.push(snapshot);
      while (snapshots.length > 2 && snapshots[1].t <= t - WINDOW_S) snapshots.shift();
      lastSuccess = t;
      const base = M.baseline(snapshots, t, WINDOW_S);
      if (base !== snapshot) {
        const figures = M.gatewayFigures(base, snapshot);
        renderTiles(figures);
        record(figures, t);
        redraw();
      }
      renderModels(base, snapshot, scraped.health);
      renderHealth(scraped.health);
      showReachable(scraped.health);
    }
    polls += 1;
    document.body.dataset.polls = String(polls);
    setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
  }

  function start() {
    for (const figure of document.querySelectorAll("figure[data-chart]")) {
      legends[figure.dataset.chart] = buildLegend(figure, CHARTS[figure.dataset.chart]);
    }
    $("window-note").textContent = `rates and percentiles over the last ${WINDOW_S} s`;
    window.addEventListener("resize", redraw);
    poll();
  }

  start();
})();
