/* Prometheus arithmetic for the dashboard: pure functions, no DOM.
 *
 * Loaded by the page as a classic script (it defines `InferstackMetrics`) and by the unit
 * tests through Node's `module.exports`. A sample is {name, labels, value}; a snapshot is the
 * list of samples of one `/metrics` scrape.
 */
(function (root) {
  "use strict";

  const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?\s*$/;
  const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g;

  function parseValue(text) {
    if (text === "+Inf" || text === "Inf") return Infinity;
    if (text === "-Inf") return -Infinity;
    return Number(text); // "NaN" and malformed text both give NaN
  }

  function unescapeLabel(text) {
    return text.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
  }

  /** Prometheus text exposition → [{name, labels, value}]; comments and bad lines skipped. */
  function parsePrometheus(text) {
    const samples = [];
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) continue;
      const match = LINE.exec(line);
      if (match === null) continue;
      const labels = {};
      for (const pair of (match[2] || "").matchAll(LABEL)) {
        labels[pair[1]] = unescapeLabel(pair[2]);
      }
      samples.push({ name: match[1], labels, value: parseValue(match[3]) });
    }
    return samples;
  }

  /** Names declared by `# TYPE` lines: a labelled metric with no series yet exports only
   * these, which tells "nothing observed yet" apart from "not exported by this gateway". */
  function declaredMetrics(text) {
    const names = new Set();
    for (const match of text.matchAll(/^#\s*TYPE\s+(\S+)\s+\S+/gm)) names.add(match[1]);
    return names;
  }

  function seriesKey(name, labels) {
    const keys = Object.keys(labels).sort();
    return name + "{" + keys.map((k) => k + "=" + JSON.stringify(labels[k])).join(",") + "}";
  }

  function matches(labels, filter) {
    if (!filter) return true;
    return Object.keys(filter).every((k) =>
      typeof filter[k] === "function" ? filter[k](labels[k]) : labels[k] === filter[k]
    );
  }

  /** Samples of `name` whose labels match `filter` ({label: value or predicate}). */
  function select(samples, name, filter) {
    return samples.filter((s) => s.name === name && matches(s.labels, filter));
  }

  /** Sum of a gauge's matching series, or null when the metric is absent. */
  function sumGauge(samples, name, filter) {
    const found = select(samples, name, filter);
    return found.length === 0 ? null : found.reduce((acc, s) => acc + s.value, 0);
  }

  /** True when any series of `name` exists (a metric not exported yet is absent). */
  function hasMetric(samples, name) {
    return samples.some((s) => s.name === name);
  }

  /** How much one counter series grew; a drop means the process restarted from zero. */
  function counterIncrease(before, after) {
    if (before === undefined) return after; // labelled series appear on their first increment
    return after >= before ? after - before : after;
  }

  /** Per-series increases of the matching series of counter `name`, keyed by series. */
  function increases(prev, cur, name, filter) {
    const before = new Map(select(prev, name, filter).map((s) => [seriesKey(s.name, s.labels), s.value]));
    return select(cur, name, filter).map((s) => ({
      labels: s.labels,
      value: counterIncrease(before.get(seriesKey(s.name, s.labels)), s.value),
    }));
  }

  /** Total increase of counter `name` over the matching series. */
  function increase(prev, cur, name, filter) {
    return increases(prev, cur, name, filter).reduce((acc, s) => acc + s.value, 0);
  }

  /** Per-second rate of counter `name` between two snapshots `seconds` apart. */
  function rate(prev, cur, seconds, name, filter) {
    return seconds > 0 ? increase(prev, cur, name, filter) / seconds : 0;
  }

  /** Increase of each `le` bucket of histogram `name` summed over the matching series:
   * [{le, count}] sorted by le, cumulative — what histogram_quantile expects. */
  function bucketIncreases(prev, cur, name, filter) {
    const byLe = new Map();
    for (const s of increases(prev, cur, name + "_bucket", filter)) {
      const le = parseValue(s.labels.le);
      byLe.set(le, (byLe.get(le) || 0) + s.value);
    }
    return [...byLe.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  }

  /** PromQL histogram_quantile: linear interpolation inside the bucket holding the rank.
   * null when there were no observations. */
  function histogramQuantile(q, buckets) {
    if (buckets.length === 0 || buckets[buckets.length - 1].le !== Infinity) return null;
    const total = buckets[buckets.length - 1].count;
    if (!(total > 0)) return null;
    const rank = q * total;
    let index = buckets.findIndex((b) => b.count >= rank);
    if (index === buckets.length - 1) {
      // In the +Inf bucket: the best bound known is the highest finite one.
      return buckets.length > 1 ? buckets[buckets.length - 2].le : null;
    }
    if (index < 0) index = buckets.length - 1;
    const upper = buckets[index].le;
    const lower = index === 0 ? 0 : buckets[index - 1].le;
    const below = index === 0 ? 0 : buckets[index - 1].count;
    const inBucket = buckets[index].count - below;
    if (inBucket <= 0) return upper;
    return lower + (upper - lower) * ((rank - below) / inBucket);
  }

  /** Distinct values of `label` across the samples of the given metric names. */
  function labelValues(samples, names, label) {
    const wanted = new Set(names);
    const seen = new Set();
    for (const s of samples) {
      if (wanted.has(s.name) && s.labels[label] !== undefined) seen.add(s.labels[label]);
    }
    return [...seen].sort();
  }

  /** The snapshot to compare against: the newest one at least `window` seconds older than
   * `now`, else the oldest kept (the dashboard has just started). */
  function baseline(history, now, window) {
    let chosen = history[0];
    for (const entry of history) {
      if (entry.t <= now - window) chosen = entry;
    }
    return chosen;
  }

  const REQUESTS = "inferstack_requests_total";
  const LATENCY = "inferstack_request_latency_seconds";
  const TTFT = "inferstack_time_to_first_token_seconds";
  const OUTPUT_TOKENS = "inferstack_completion_tokens_total";
  const IN_FLIGHT = "inferstack_requests_in_flight";
  const QUEUE = "inferstack_engine_queue_depth";
  const WAITING = "inferstack_queue_depth"; // the gateway's admission queue, per class
  const QUEUE_WAIT = "inferstack_queue_wait_seconds";
  const CACHE = "inferstack_cache_requests_total";
  const ENGINE_UP = "inferstack_engine_up";
  const isError = (status) => !/^2/.test(status || "");

  /** The dashboard's figures between two scrapes {t (s), samples, declared} for the series
   * matching `filter` (e.g. {model: "x"}). Absent → null: no traffic in the window for
   * ratios and quantiles; metric not exported for queue depth and cache (`queue`/`cache`
   * say which: "absent" when not declared, "idle" when declared without series). */
  function gatewayFigures(prev, cur, filter) {
    const seconds = cur.t - prev.t;
    const a = prev.samples;
    const b = cur.samples;
    const requests = increase(a, b, REQUESTS, filter);
    const errors = increase(a, b, REQUESTS, Object.assign({ status: isError }, filter));
    const latency = bucketIncreases(a, b, LATENCY, filter);
    const ttft = bucketIncreases(a, b, TTFT, filter);
    const lookups = increase(a, b, CACHE, filter);
    const hits = increase(a, b, CACHE, Object.assign({ outcome: "hit" }, filter));
    const state = (name) =>
      hasMetric(b, name) ? "present" : cur.declared && cur.declared.has(name) ? "idle" : "absent";
    const up = select(b, ENGINE_UP, filter);
    return {
      seconds,
      rps: rate(a, b, seconds, REQUESTS, filter),
      errorsPerS: seconds > 0 ? errors / seconds : 0,
      errorRatio: requests > 0 ? errors / requests : null,
      p50: histogramQuantile(0.5, latency),
      p95: histogramQuantile(0.95, latency),
      p99: histogramQuantile(0.99, latency),
      ttftP50: histogramQuantile(0.5, ttft),
      ttftP95: histogramQuantile(0.95, ttft),
      tokensPerS: rate(a, b, seconds, OUTPUT_TOKENS, filter),
      inFlight: sumGauge(b, IN_FLIGHT, filter) || 0,
      queue: state(QUEUE),
      // Declared without series: no engine reports a queue yet, so nothing is queued.
      queueDepth: sumGauge(b, QUEUE, filter) ?? (state(QUEUE) === "idle" ? 0 : null),
      // The gateway's admission queue: null for a model without one.
      waiting: sumGauge(b, WAITING, filter),
      waitP95: histogramQuantile(0.95, bucketIncreases(a, b, QUEUE_WAIT, filter)),
      cache: state(CACHE),
      cacheHitRatio: lookups > 0 ? hits / lookups : null,
      enginesUp: up.filter((s) => s.value >= 1).length,
      engines: up.length,
    };
  }

  /** Models named by any of the gateway's per-model series. */
  function modelNames(samples) {
    return labelValues(samples, [REQUESTS, IN_FLIGHT, ENGINE_UP, QUEUE, CACHE], "model");
  }

  const api = {
    parsePrometheus,
    declaredMetrics,
    gatewayFigures,
    modelNames,
    seriesKey,
    select,
    sumGauge,
    hasMetric,
    counterIncrease,
    increase,
    rate,
    bucketIncreases,
    histogramQuantile,
    labelValues,
    baseline,
  };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.InferstackMetrics = api;
})(this);
