// The dashboard's behaviour: poll GET /stats every two seconds with the token kept in this
// tab, fill the tables, and draw the last polls as line charts on canvases.  Everything
// read from the server is written with textContent, never parsed as HTML.
"use strict";

(function () {
  var POLL_MS = 2000;          // how often /stats is read
  var TIMEOUT_MS = 5000;       // a poll that takes longer counts as the server being away
  var KEEP = 150;              // polls kept for the charts: five minutes
  var MAX_SERIES = 8;          // the busiest procedures drawn; the table has them all
  var TOKEN_KEY = "provost.token";
  var COLOURS = ["#2f5d9a", "#c0632b", "#2f8a5b", "#8a3f8f", "#b0912a", "#3a8ea8", "#a33b4f", "#5f6b7a"];

  var history = [];            // [{t: ms, v: {key: {rate, p50, p99}}}], oldest first
  var colourOf = {};           // series key -> colour, stable while the page lives
  var coloursUsed = 0;
  var lastCalls = null;        // {key: {calls, t}} to derive a rate the server did not give
  var lastOk = 0;

  function $(id) { return document.getElementById(id); }
  function num(x) { return typeof x === "number" && isFinite(x) ? x : 0; }
  function str(x) { return typeof x === "string" ? x : (x === undefined || x === null ? "" : String(x)); }
  function arr(x) { return Array.isArray(x) ? x : []; }
  function obj(x) { return x && typeof x === "object" && !Array.isArray(x) ? x : {}; }

  function getToken() {
    try { return window.sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  }
  function setToken(t) {
    try {
      if (t) window.sessionStorage.setItem(TOKEN_KEY, t); else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage refused: the token lives until the page closes */ }
    memoryToken = t;
  }
  var memoryToken = getToken();

  function fmt(x, digits) {
    x = num(x);
    if (x === 0) return "0";
    if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString("en");
    if (Math.abs(x) >= 100) return x.toFixed(0);
    if (Math.abs(x) >= 10) return x.toFixed(digits === undefined ? 1 : Math.min(1, digits));
    return x.toFixed(digits === undefined ? 2 : digits);
  }
  function int(x) { return Math.round(num(x)).toLocaleString("en"); }
  function clock(ms) {
    var d = new Date(ms);
    return isNaN(d.getTime()) ? "" : d.toLocaleTimeString("en-GB");
  }
  // Times the server sends are milliseconds since the epoch; seconds are accepted too.
  function toMs(x) { x = num(x); return x > 0 && x < 1e11 ? x * 1000 : x; }
  function ago(ms, now) {
    var s = Math.max(0, Math.round((now - ms) / 1000));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }

  // Replaces a table's body with one row per item; cells are [text, className] or text.
  function fillTable(id, items, rowOf, emptyText) {
    var table = $(id), old = table.tBodies[0], body = document.createElement("tbody");
    var cols = table.tHead.rows[0].cells.length;
    if (items.length === 0) {
      var tr = body.insertRow(), td = tr.insertCell();
      tr.className = "empty"; td.colSpan = cols; td.textContent = emptyText;
    }
    items.forEach(function (item) {
      var tr = body.insertRow();
      rowOf(item).forEach(function (cell, i) {
        var td = i === 0 ? document.createElement("th") : document.createElement("td");
        if (i === 0) td.scope = "row";
        if (Array.isArray(cell)) { td.textContent = cell[0]; if (cell[1]) td.className = cell[1]; }
        else td.textContent = cell;
        tr.appendChild(td);
      });
    });
    table.replaceChild(body, old);
  }

  function setStatus(state, text) {
    var el = $("status");
    el.dataset.state = state;
    el.textContent = text;
  }

  function showAuth(show, message) {
    $("auth").hidden = !show;
    $("token-show").setAttribute("aria-expanded", show ? "true" : "false");
    if (message) $("auth-message").textContent = message;
  }

  function keyOf(p) { return str(p.namespace) + "/" + str(p.procedure); }

  function record(stats) {
    var t = toMs(stats.time_ms) || Date.now(), v = {}, calls = {};
    arr(stats.procedures).forEach(function (p) {
      var key = keyOf(p), rate = p.rate;
      if (typeof rate !== "number" || !isFinite(rate)) {
        var before = lastCalls && lastCalls[key];
        rate = before && t > before.t ? (num(p.calls) - before.calls) * 1000 / (t - before.t) : 0;
      }
      calls[key] = { calls: num(p.calls), t: t };
      v[key] = { rate: Math.max(0, rate), p50: num(p.p50_ms), p99: num(p.p99_ms), calls: num(p.calls) };
    });
    lastCalls = calls;
    history.push({ t: t, v: v });
    if (history.length > KEEP) history.splice(0, history.length - KEEP);
  }

  // The series drawn: the procedures with the most calls in the last poll.
  function seriesKeys() {
    var last = history.length ? history[history.length - 1].v : {};
    var keys = Object.keys(last).sort(function (a, b) { return last[b].calls - last[a].calls || (a < b ? -1 : 1); });
    keys = keys.slice(0, MAX_SERIES);
    keys.forEach(function (k) {
      if (!colourOf[k]) colourOf[k] = COLOURS[coloursUsed++ % COLOURS.length];
    });
    return keys.sort();
  }

  function niceMax(x) {
    if (x <= 0) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(x))), m = x / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }

  function drawChart(id, field, keys, what, unit) {
    var canvas = $(id), ratio = window.devicePixelRatio || 1;
    var w = canvas.clientWidth, h = canvas.clientHeight;
    if (w <= 0 || h <= 0) return;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio);
    }
    var g = canvas.getContext("2d");
    if (!g) return;
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    var left = 44, right = 8, top = 8, bottom = 20, pw = w - left - right, ph = h - top - bottom;
    var max = 0, points = 0;
    history.forEach(function (s) { keys.forEach(function (k) { if (s.v[k]) max = Math.max(max, s.v[k][field]); }); });
    max = niceMax(max);
    g.font = "11px system-ui, sans-serif";
    g.fillStyle = "#5b6575"; g.strokeStyle = "#e6e9ee"; g.lineWidth = 1;
    g.textAlign = "right"; g.textBaseline = "middle";
    var ticks = Math.round(max / Math.pow(10, Math.floor(Math.log10(max)))) === 2 ? 4 : 5;
    for (var i = 0; i <= ticks; i++) {
      var y = top + ph - ph * i / ticks;
      g.beginPath(); g.moveTo(left, Math.round(y) + 0.5); g.lineTo(left + pw, Math.round(y) + 0.5); g.stroke();
      g.fillText(fmt(max * i / ticks), left - 6, y);
    }
    // The time axis spans what the page has seen, from one minute up to all it keeps.
    var t1 = history.length ? history[history.length - 1].t : 0;
    var span = Math.min(KEEP * POLL_MS, Math.max(60000, history.length ? t1 - history[0].t : 0));
    g.textBaseline = "alphabetic"; g.textAlign = "left";
    g.fillText(span < 120000 ? "−" + Math.round(span / 1000) + " s" : "−" + Math.round(span / 60000) + " min", left, h - 4);
    g.textAlign = "right"; g.fillText("now", left + pw, h - 4);
    function xOf(t) { return left + pw - pw * (t1 - t) / span; }
    function yOf(v) { return top + ph - ph * Math.min(v, max) / max; }
    g.lineWidth = 1.75; g.lineJoin = "round";
    var summary = [];
    keys.forEach(function (k) {
      var started = false, lastV = null, lastX = 0, lastY = 0;
      g.strokeStyle = g.fillStyle = colourOf[k]; g.beginPath();
      history.forEach(function (s) {
        var v = s.v[k];
        if (!v || s.t < t1 - span) { started = false; return; }
        var x = xOf(s.t), y = yOf(v[field]);
        if (started) g.lineTo(x, y); else { g.moveTo(x, y); started = true; }
        lastV = v[field]; lastX = x; lastY = y; points++;
      });
      g.stroke();
      if (lastV === null) return;
      g.beginPath(); g.arc(lastX, lastY, 2.5, 0, 2 * Math.PI); g.fill(); // the latest value
      summary.push(k + " " + fmt(lastV) + " " + unit);
    });
    canvas.dataset.points = String(points);
    canvas.dataset.series = keys.join(" ");
    canvas.setAttribute("aria-label", what + ": " + (summary.length ? summary.join(", ") : "no data yet"));
  }

  function drawCharts() {
    var keys = seriesKeys();
    drawChart("chart-rate", "rate", keys, "Request rate per procedure", "calls/s");
    drawChart("chart-p50", "p50", keys, "Median latency per procedure", "ms");
    drawChart("chart-p99", "p99", keys, "99th percentile latency per procedure", "ms");
    var legend = $("legend"), items = document.createDocumentFragment();
    keys.forEach(function (k) {
      var li = document.createElement("li");
      li.textContent = k;
      li.style.setProperty("--swatch", colourOf[k]);
      items.appendChild(li);
    });
    legend.replaceChildren(items);
  }

  function render(stats) {
    var now = toMs(stats.time_ms) || Date.now();
    var w = obj(stats.writer), state = str(w.state) || "none";
    $("writer-state").textContent = state;
    $("writer-state").dataset.state = state;
    $("writer-detail").textContent = w.pid ? "pid " + int(w.pid) + (w.started ? ", started " + ago(toMs(w.started), now) : "") : "";

    var procs = arr(stats.procedures).slice().sort(function (a, b) {
      return keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0;
    });
    fillTable("procedures", procs, function (p) {
      return [str(p.namespace), str(p.procedure), [int(p.calls), "num"],
              [int(p.failed), num(p.failed) ? "num bad" : "num"],
              [int(p.in_doubt), num(p.in_doubt) ? "num bad" : "num"], [int(p.executing), "num"],
              [fmt(p.rate), "num"], [fmt(p.p50_ms), "num"], [fmt(p.p99_ms), "num"]];
    }, "No procedure has been called yet.");

    fillTable("failures", arr(stats.failures), function (f) {
      return [str(f.code), [int(f.count), "num"]];
    }, "None.");

    var queue = obj(stats.queue), states = Object.keys(queue);
    fillTable("queue", states, function (s) { return [s, [int(queue[s]), "num"]]; }, "No queue.");

    var stuck = obj(stats.stuck), count = num(stuck.count);
    $("stuck-count").textContent = int(count);
    if (count) $("stuck-count").dataset.nonzero = ""; else delete $("stuck-count").dataset.nonzero;
    fillTable("stuck", arr(stuck.recent), function (s) {
      return [str(s.id), str(s.namespace) + "/" + str(s.procedure), s.since ? ago(toMs(s.since), now) : ""];
    }, "None.");

    fillTable("audit", arr(stats.audit_failures), function (a) {
      return [clock(toMs(a.time_ms)), str(a.principal), str(a.namespace) + "/" + str(a.procedure),
              [str(a.code), "bad"], [str(a.message), "msg"]];
    }, "None.");

    var engine = obj(stats.engine);
    fillTable("engine", Object.keys(engine).sort(), function (k) { return [k, [int(engine[k]), "num"]]; }, "None yet.");

    record(stats);
    drawCharts();
  }

  var timer = null, rendering = false;
  function schedule(ms) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  function poll() {
    timer = null;
    var headers = { "Accept": "application/json" };
    if (memoryToken) headers["Authorization"] = "Bearer " + memoryToken;
    var abort = typeof AbortController === "function" ? new AbortController() : null;
    var guard = abort ? setTimeout(function () { abort.abort(); }, TIMEOUT_MS) : null;
    fetch("/stats", { headers: headers, cache: "no-store", credentials: "same-origin",
                      signal: abort ? abort.signal : undefined })
      .then(function (r) {
        if (r.status === 401) {
          setStatus("auth", memoryToken ? "Token refused" : "Token needed");
          showAuth(true, memoryToken ? "The service refused this token: it may be revoked or expired. Enter another."
                                     : "The service needs a token (provost token create). It is kept in this tab only.");
          return null;
        }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (stats) {
        if (stats === null) return;
        if (!stats || typeof stats !== "object") throw new Error("not a stats document");
        rendering = true;
        render(stats);
        rendering = false;
        lastOk = Date.now();
        showAuth(false);
        setStatus("ok", "Updated " + clock(lastOk));
      })
      .catch(function (err) {
        if (rendering) {
          // A fault of the page, not of the service: polling goes on, and the error is
          // left uncaught so that it reaches the console.
          rendering = false;
          setStatus("error", "The page could not show the last answer");
          schedule(POLL_MS);
          throw err;
        }
        var why = err && err.name === "AbortError" ? "gave no answer" :
                  err instanceof SyntaxError ? "answered something other than JSON" :
                  err && /^HTTP /.test(err.message) ? "answered " + err.message : "unreachable";
        setStatus("error", "Service " + why + (lastOk ? "; last update " + clock(lastOk) : ""));
      })
      .then(function () {
        if (guard) clearTimeout(guard);
        schedule(POLL_MS);
      });
  }

  function start() {
    $("auth-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var t = $("token").value.trim();
      $("token").value = "";
      setToken(t);
      setStatus("waiting", "Connecting…");
      schedule(0);
    });
    $("token-forget").addEventListener("click", function () {
      setToken("");
      $("token").value = "";
      setStatus("waiting", "Token forgotten");
      schedule(0);
    });
    $("token-show").addEventListener("click", function () {
      showAuth($("auth").hidden);
      if (!$("auth").hidden) $("token").focus();
    });
    var pending = false;
    window.addEventListener("resize", function () {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () { pending = false; drawCharts(); });
    });
    showAuth(false);
    drawCharts();
    poll();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
