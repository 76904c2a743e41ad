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

  function update(sub) {
    if (!current || !sub || sub.id !== current.id) return;
    showFacts();
    const status = $("follow-status");
    status.textContent = sub.status || "";
    status.className = `badge status-${sub.status}`;
    $("follow-reason").textContent = sub.reason ? sub.reason.replace(/_/g, " ") : "";
    const pending = sub.status === "pending";
    $("follow-position").textContent = pending && sub.position ? `#${sub.position}` : "–";
    $("follow-eta").textContent = pending ? `~${L.fmtDuration(sub.eta_seconds)}` : sub.status === "running" ? "now" : "–";
    $("follow-frames").textContent = sub.frames === undefined || sub.frames === null ? "–" : String(sub.frames);
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
    $("follow-log").textContent = "";
    current = { id: sub.id, timer: null, onError: onError || (() => {}) };
    document.body.dataset.following = sub.id;
    update(sub);
    if (!FINAL.includes(sub.status)) current.timer = setInterval(poll, 1500);
  }

  /** Show an API error answer (4xx) for a submission that was not queued. */
  function rejected(res) {
    stop();
    current = null;
    $("follow-facts").hidden = true;
    const error = (res.data && res.data.error) || { message: `Error ${res.status}` };
    if (res.status === 429 && res.retryAfter) {
      error.message = `${error.message || "Too many submissions."} Try again in ${L.fmtDuration(Number(res.retryAfter))}.`;
    }
    return showError(error);
  }

  // Queue changes move our position and ETA; they carry no log, so merge over what we have.
  function fromQueue(queue) {
    if (!current || !queue) return;
    const mine = (queue.pending || []).find((s) => s.id === current.id) || (queue.running && queue.running.id === current.id ? queue.running : null);
    if (mine) update(mine);
  }

  L.on("submission", update);
  L.on("queue", fromQueue);
  window.LedtreeFollow = { follow, rejected, showError };
})();
