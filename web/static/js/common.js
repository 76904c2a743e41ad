// Shared helpers for every page: JSON API calls, one shared SSE stream, small DOM helpers.
// User-supplied text is only ever inserted with textContent (see el()), never innerHTML.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  const MINE_KEY = "ledtree.mine";
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrfToken = csrfMeta ? csrfMeta.content : "";

  /** Call the JSON API; resolves to {ok, status, data, retryAfter} and never rejects on HTTP errors. */
  async function api(method, url, body) {
    const headers = { Accept: "application/json", "X-Requested-With": "fetch" };
    if (csrfToken) headers["X-CSRFToken"] = csrfToken;
    const init = { method, headers, credentials: "same-origin" };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      return { ok: false, status: 0, data: { error: { code: "network", message: "The server cannot be reached." } } };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = { error: { code: "bad_response", message: `The server answered ${response.status}.` } };
    }
    return { ok: response.ok, status: response.status, data, retryAfter: response.headers.get("Retry-After") };
  }

  // One EventSource per page, shared by every widget; the browser reconnects it on its own.
  // The server sends the whole queue and tree state once on connect and then only on changes,
  // so a widget whose script registers after that first event (a deferred script still
  // loading) is handed the latest state at once; without this it kept the server-rendered
  // page until the next change, e.g. "stopping…" for a run that had long ended.
  const STATE_EVENTS = ["queue", "tree"];
  const handlers = {};
  const latest = {};
  let source = null;
  function on(name, fn) {
    if (!handlers[name]) {
      handlers[name] = [];
      if (source) source.addEventListener(name, dispatch);
    }
    handlers[name].push(fn);
    if (!source && window.EventSource) {
      source = new EventSource("/api/events");
      Object.keys(handlers).forEach((n) => source.addEventListener(n, dispatch));
      // Kept even when no widget of this page listens yet: one may register later.
      STATE_EVENTS.forEach((n) => handlers[n] || ((handlers[n] = []), source.addEventListener(n, dispatch)));
    }
    if (Object.prototype.hasOwnProperty.call(latest, name)) deliver(fn, latest[name]);
  }
  function deliver(fn, payload) {
    try {
      fn(payload);
    } catch (err) {
      console.error(err);
    }
  }
  function dispatch(event) {
    let payload;
    try {
      payload = JSON.parse(event.data);
    } catch (err) {
      return;
    }
    if (STATE_EVENTS.includes(event.type)) latest[event.type] = payload;
    (handlers[event.type] || []).forEach((fn) => deliver(fn, payload));
  }

  function setRunnerOnline(online) {
    const pill = document.getElementById("runner-status");
    if (!pill || typeof online !== "boolean") return;
    pill.dataset.online = String(online);
    pill.textContent = online ? "tree online" : "tree offline";
  }

  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "–";
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} s`;
    return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function mineIds() {
    try {
      const ids = JSON.parse(localStorage.getItem(MINE_KEY) || "[]");
      return Array.isArray(ids) ? ids : [];
    } catch (err) {
      return [];
    }
  }
  function addMine(id) {
    const ids = mineIds().filter((x) => x !== id);
    ids.push(id);
    try {
      localStorage.setItem(MINE_KEY, JSON.stringify(ids.slice(-50)));
    } catch (err) {
      /* storage full or disabled: highlighting is a nicety */
    }
  }
  // The server marks the caller's rows `mine` in answers to this browser; the shared SSE stream
  // cannot, so every id seen as mine is remembered here.
  function isMine(sub) {
    if (!sub) return false;
    if (sub.mine) addMine(sub.id);
    return Boolean(sub.mine || mineIds().includes(sub.id));
  }

  /** One-line text for an API error object ({code, message, line?, col?}). */
  function errorText(error) {
    if (!error) return "Something went wrong.";
    let text = error.message || error.code || "Something went wrong.";
    if (error.type && !text.startsWith(error.type)) text = `${error.type}: ${text}`;
    if (error.line) text += ` (line ${error.line}${error.col ? `, column ${error.col}` : ""})`;
    return text;
  }

  on("queue", (q) => setRunnerOnline(q.runner_online));
  on("tree", (t) => setRunnerOnline(t.runner_online));

  window.Ledtree = { api, on, el, fmtDuration, addMine, isMine, errorText, setRunnerOnline };
})();
