// Follows one submission after it was queued (editor and upload pages): position, ETA, status,
// error and log, from SSE `submission` events with GET /api/submissions/<id> polling as a backstop.
(function () {
  "use strict";
  const L = window.Ledtree;
  const FINAL = ["completed", "failed", "cancelled"];
  const $ = (id) => document.getElementById(id);

  let current = null; // {id, timer, onResult}

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
    $("follow-frames").textContent = sub.frames === undefined || sub.frames === null ? "–" : String(sub.frames);
    showPrediction(sub);
    if (typeof sub.log === "string") $("follow-log").textContent = sub.log;
    if (sub.error) current.onError(sub.error, showError(sub.error));
    if (FINAL.includes(sub.status)) {
      stop();
      // SSE `submission` events carry no log: fetch the finished run once more for it.
      if (typeof sub.log !== "string") poll();
    }
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
    stop();
    showError(null);
    showLimit(null);
    $("follow-log").textContent = "";
    current = { id: sub.id, timer: null, onError: onError || (() => {}) };
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
    stop();
    current = null;
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
  window.LedtreeFollow = { follow, rejected, showError };
})();
