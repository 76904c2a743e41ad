// Follows one submission after it was queued (editor and upload pages): position, ETA, status,
// error and log, from SSE `submission` events with GET /api/submissions/<id> polling as a backstop.
// While it runs, the frame count moves with the live view's `frame` events, the log keeps its
// newest line in sight, and the page title (plus a notification, if allowed) says it is on.
(function () {
  "use strict";
  const L = window.Ledtree;
  const FINAL = ["completed", "failed", "cancelled"];
  const NOTIFY_ASKED_KEY = "ledtree.notify.asked";
  const NOTIFIED_KEY = "ledtree.notified";
  const ON_TREE_TITLE = "▶ Your program is on the tree · ledtree";
  const pageTitle = document.title;
  const $ = (id) => document.getElementById(id);

  let current = null; // {id, timer, onError, status, liveFrames, predictionMarked}

  function showFacts() {
    $("follow-empty").hidden = true;
    $("follow-facts").hidden = false;
  }

  /** Show a rejected submission or a failed run's error; returns the error's line, if any. */
  function showError(error) {
    const box = $("follow-error");
    if (!error) {
      box.hidden = true;
      box.textContent = "";
      return null;
    }
    $("follow-empty").hidden = true;
    box.hidden = false;
    box.textContent = L.errorText(error);
    return error.line || null;
  }

  // Its dry run (a second or so after it was queued): the predicted duration, and a failure
  // told at once, with its line marked, while the program still waits (SPEC §3).
  function showPrediction(sub) {
    const predicted = $("follow-predicted");
    if (predicted && sub.predicted_s !== undefined) {
      predicted.textContent = sub.predicted_s === null ? "–" : `${sub.predicted_s.toFixed(1)} s`;
    }
    const box = $("follow-predicted-error");
    if (!box) return;
    const live = sub.status === "pending" || sub.status === "running";
    box.hidden = !(live && sub.predicted_error);
    if (box.hidden) return;
    box.textContent = `Its dry run ${sub.predicted_error}. It keeps its place: you may cancel it, fix it and send it again.`;
    if (!current.predictionMarked && sub.predicted_error_line) {
      current.predictionMarked = true;
      current.onError(null, sub.predicted_error_line);
    }
  }

  // Its author can cancel it while it waits and stop it while it runs (DELETE, SPEC §4).
  function showStop(sub) {
    const button = $("follow-stop");
    if (!button) return;
    const live = sub.status === "pending" || sub.status === "running";
    button.hidden = !live;
    if (!live) return;
    const stopping = sub.status === "running" && sub.stopping;
    button.disabled = Boolean(stopping);
    button.textContent = stopping ? "Stopping…" : sub.status === "running" ? "■ Stop" : "Cancel";
  }

  async function stopCurrent() {
    if (!current) return;
    const button = $("follow-stop");
    button.disabled = true;
    button.textContent = "Stopping…";
    const res = await L.api("DELETE", `/api/submissions/${encodeURIComponent(current.id)}`);
    if (res.ok) {
      update(res.data);
    } else {
      showError(res.data && res.data.error);
      button.disabled = false;
    }
  }

  function update(sub) {
    if (!current || !sub || sub.id !== current.id) return;
    showFacts();
    showStop(sub);
    const status = $("follow-status");
    status.textContent = sub.status || "";
    status.className = `badge status-${sub.status}`;
    $("follow-reason").textContent = sub.reason ? sub.reason.replace(/_/g, " ") : "";
    const pending = sub.status === "pending";
    $("follow-position").textContent = pending && sub.position ? `#${sub.position}` : "–";
    $("follow-eta").textContent = pending ? `~${L.fmtDuration(sub.eta_seconds)}` : sub.status === "running" ? "now" : "–";
    current.status = sub.status;
    showFrames(sub);
    showPrediction(sub);
    if (typeof sub.log === "string") showLog(sub.log);
    if (sub.error) current.onError(sub.error, showError(sub.error));
    announce(sub);
    if (FINAL.includes(sub.status)) {
      stop();
      // SSE `submission` events carry no log: fetch the finished run once more for it.
      if (typeof sub.log !== "string") poll();
    }
  }

  // A submission's `frames` is only known when it ends (0 until then), so while it runs the
  // count comes from the live view's `frame` events for it: their `index` (frames shown so
  // far) when the server passes it on, else one per event seen (a lower bound: the live view
  // sends at most its own rate).
  function showFrames(sub) {
    const cell = $("follow-frames");
    if (sub.status === "running") {
      const frames = Math.max(sub.frames || 0, current.liveFrames);
      cell.textContent = frames ? String(frames) : "0";
    } else if (sub.status === "pending" || sub.frames === undefined || sub.frames === null) {
      cell.textContent = "–";
    } else {
      cell.textContent = String(sub.frames);
    }
  }

  function onFrame(frame) {
    if (!current || !frame || frame.submission_id !== current.id || FINAL.includes(current.status)) return;
    current.liveFrames = typeof frame.index === "number" ? Math.max(current.liveFrames, frame.index) : current.liveFrames + 1;
    $("follow-frames").textContent = String(current.liveFrames);
    $("follow-frames").dataset.live = "true";
  }

  // Keeps the newest line in sight, unless its reader scrolled up to read something older.
  function showLog(text) {
    const log = $("follow-log");
    if (log.textContent === text) return;
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
    log.textContent = text;
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  // The page title says so while the followed program is on the tree (a background tab shows
  // it), and its turn raises one notification if the browser allows them (askToNotify).
  function announce(sub) {
    const running = sub.status === "running";
    document.title = running ? ON_TREE_TITLE : pageTitle;
    document.body.dataset.onTree = String(running);
    if (!running || !("Notification" in window) || Notification.permission !== "granted") return;
    let notified = null;
    try {
      notified = localStorage.getItem(NOTIFIED_KEY);
      localStorage.setItem(NOTIFIED_KEY, sub.id);
    } catch (err) {
      /* no storage: at worst a second notification after a reload */
    }
    if (notified === sub.id) return;
    try {
      const title = sub.title ? `“${sub.title}” is on the tree` : "Your program is on the tree";
      new Notification(title, { body: "Look at the tree now!", tag: `ledtree-${sub.id}` });
    } catch (err) {
      /* some browsers only notify from a service worker: the title still says it */
    }
  }

  /** Ask once, ever, to notify when a run's turn comes; call it from a click (a user gesture). */
  function askToNotify() {
    if (!("Notification" in window) || Notification.permission !== "default") return;
    try {
      if (localStorage.getItem(NOTIFY_ASKED_KEY)) return;
      localStorage.setItem(NOTIFY_ASKED_KEY, "1");
    } catch (err) {
      return; // cannot remember having asked: better never than every time
    }
    try {
      const asked = Notification.requestPermission();
      if (asked && asked.catch) asked.catch(() => {});
    } catch (err) {
      /* an old callback-only API: the title still announces the turn */
    }
  }

  /** Clear what the previous run left: log, errors, facts (a new run is about to start). */
  function reset() {
    stop();
    current = null;
    showError(null);
    showLimit(null);
    $("follow-facts").hidden = true;
    $("follow-status").textContent = "";
    $("follow-log").textContent = "";
    $("follow-log").scrollTop = 0;
    $("follow-frames").textContent = "–";
    delete $("follow-frames").dataset.live;
    const predicted = $("follow-predicted");
    if (predicted) predicted.textContent = "–";
    const warning = $("follow-predicted-error");
    if (warning) {
      warning.hidden = true;
      warning.textContent = "";
    }
    document.title = pageTitle;
    delete document.body.dataset.onTree;
  }

  async function poll() {
    if (!current) return;
    const id = current.id;
    const res = await L.api("GET", `/api/submissions/${encodeURIComponent(id)}`);
    if (res.ok && current && current.id === id) update(res.data);
  }

  function stop() {
    if (current && current.timer) clearInterval(current.timer);
    if (current) current.timer = null;
  }

  /** Start following `sub` (the 201 body); onError(error, line) runs when its run fails. */
  function follow(sub, onError) {
    reset();
    current = { id: sub.id, timer: null, onError: onError || (() => {}), status: null, liveFrames: 0 };
    document.body.dataset.following = sub.id;
    const page = $("follow-page");
    if (page) {
      page.href = `/runs/${encodeURIComponent(sub.id)}`;
      page.textContent = "This run's page: report, log and replay →";
    }
    update(sub);
    if (!FINAL.includes(sub.status)) current.timer = setInterval(poll, 1500);
  }

  let countdownTimer = null;

  /** Count a 429's wait down to "now", and offer to cancel the programs that block this one. */
  function showLimit(error) {
    const box = $("follow-limit");
    clearInterval(countdownTimer);
    if (!box) return;
    box.hidden = !error;
    if (!error) return;
    const until = Date.now() + Number(error.retry_after || 0) * 1000;
    const line = $("follow-countdown");
    const tick = () => {
      const left = Math.round((until - Date.now()) / 1000);
      line.textContent = left > 0 ? `You can try again in ${L.fmtDuration(left)}.` : "You can send it now.";
      if (left <= 0) clearInterval(countdownTimer);
    };
    tick();
    countdownTimer = setInterval(tick, 1000);
    const list = $("follow-cancellable");
    list.replaceChildren();
    (error.cancellable || []).forEach((sub) => {
      const li = L.el("li");
      const button = L.el("button", "small danger", `Cancel “${sub.title || "Untitled"}” (#${sub.position})`);
      button.type = "button";
      button.addEventListener("click", async () => {
        button.disabled = true;
        const res = await L.api("DELETE", `/api/submissions/${encodeURIComponent(sub.id)}`);
        li.replaceChildren(L.el("span", "muted", res.ok ? "Cancelled: you can send your program now." : L.errorText(res.data && res.data.error)));
      });
      li.append(button);
      list.append(li);
    });
  }

  /** Show an API error answer (4xx) for a submission that was not queued. */
  function rejected(res) {
    reset();
    $("follow-facts").hidden = true;
    if ($("follow-stop")) $("follow-stop").hidden = true;
    const error = (res.data && res.data.error) || { message: `Error ${res.status}` };
    showLimit(res.status === 429 ? error : null);
    return showError(error);
  }

  // Queue changes move our position and ETA; they carry no log, so merge over what we have.
  function fromQueue(queue) {
    if (!current || !queue) return;
    const mine = (queue.pending || []).find((s) => s.id === current.id) || (queue.running && queue.running.id === current.id ? queue.running : null);
    if (mine) update(mine);
  }

  if ($("follow-stop")) $("follow-stop").addEventListener("click", stopCurrent);
  L.on("submission", update);
  L.on("queue", fromQueue);
  L.on("frame", onFrame);
  window.LedtreeFollow = { follow, rejected, showError, reset, askToNotify };
})();
