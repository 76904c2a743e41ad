// Live queue widgets (now playing, pending, recent) on /, /queue and /tree, fed by SSE `queue`.
// Renders the same markup as templates/_macros.html; all user text goes in via textContent.
(function () {
  "use strict";
  const L = window.Ledtree;
  let runningLeft = null; // {deadline: ms timestamp} for the local countdown between events
  let etaLeft = []; // [{deadline, node}]: pending ETAs count down between events too

  function who(sub) {
    const span = L.el("span", "sub-who");
    span.append(L.el("span", "sub-title", sub.title || "Untitled"));
    span.append(L.el("span", "sub-name", `by ${sub.name || "anonymous"}`));
    return span;
  }

  function runLink(sub) {
    const a = L.el("a", "small run-link", "details");
    a.href = `/runs/${encodeURIComponent(sub.id)}`;
    return a;
  }

  function row(sub) {
    const li = L.el("li", "sub-row" + (L.isMine(sub) ? " mine" : ""));
    li.dataset.id = sub.id;
    return li;
  }

  function timeLeft(running) {
    return typeof running.time_left_s === "number" ? running.time_left_s : null;
  }

  function renderNowPlaying(running) {
    const box = document.getElementById("now-playing");
    if (!box) return;
    box.replaceChildren();
    runningLeft = null;
    if (!running) {
      const idle = L.el("div", "np-idle", "Nothing running — the tree shows its idle scene. ");
      const link = L.el("a", null, "Be next!");
      link.href = "/editor";
      idle.append(link);
      box.append(idle);
      return;
    }
    const title = L.el("div", "np-title");
    title.append(...who(running).childNodes);
    const meta = L.el("div", "np-meta", "time left ");
    const left = timeLeft(running);
    const strong = L.el("strong", "np-left", L.fmtDuration(left));
    meta.append(strong);
    box.append(title, meta);
    if (left !== null) runningLeft = { deadline: Date.now() + left * 1000, node: strong };
  }

  function cancelButton(sub) {
    const button = L.el("button", "small danger cancel", "Cancel");
    button.type = "button";
    button.addEventListener("click", async () => {
      button.disabled = true;
      const res = await L.api("DELETE", `/api/submissions/${encodeURIComponent(sub.id)}`);
      if (!res.ok) {
        button.disabled = false;
        button.title = L.errorText(res.data && res.data.error);
      }
      refresh();
    });
    return button;
  }

  // A holder's data-* limit (e.g. data-queue-limit="5") caps how many rows a list shows.
  function limitOf(list, attr) {
    const holder = list.closest(`[data-${attr}]`);
    return holder ? Number(holder.getAttribute(`data-${attr}`)) : Infinity;
  }

  function renderMore(total, shown) {
    const more = document.getElementById("more-waiting");
    if (!more) return;
    const extra = total - shown;
    more.textContent = extra > 0 ? `and ${extra} more waiting` : "";
    more.hidden = extra <= 0;
  }

  // held: the tree is offline or paused, so an ETA would be a false promise.
  function renderPending(pending, held) {
    const list = document.getElementById("pending-list");
    if (!list) return;
    const body = document.body;
    const withCancel = body.dataset.page === "queue_page.show" && !body.classList.contains("kiosk");
    const shown = pending.slice(0, limitOf(list, "queue-limit"));
    list.replaceChildren();
    etaLeft = [];
    shown.forEach((sub) => {
      const li = row(sub);
      li.append(L.el("span", "sub-pos", `#${sub.position}`));
      li.append(L.el("span", `badge status-${sub.status}`, sub.status), who(sub));
      const eta = held ? "waits for the tree" : `in ~${L.fmtDuration(sub.eta_seconds)}`;
      const etaNode = L.el("span", "sub-eta", eta);
      if (!held) etaLeft.push({ deadline: Date.now() + sub.eta_seconds * 1000, node: etaNode });
      li.append(etaNode, runLink(sub));
      if (withCancel && L.isMine(sub)) li.append(cancelButton(sub));
      list.append(li);
    });
    if (!pending.length) list.append(L.el("li", "sub-empty", "The queue is empty."));
    renderMore(pending.length, shown.length);
    const count = document.getElementById("pending-count");
    if (count) count.textContent = String(pending.length);
  }

  function renderRecent(recent) {
    const list = document.getElementById("recent-list");
    if (!list) return;
    list.replaceChildren();
    recent.slice(0, limitOf(list, "recent-limit")).forEach((sub) => {
      const li = row(sub);
      li.append(L.el("span", `badge status-${sub.status}`, sub.status), who(sub));
      li.append(L.el("span", "sub-reason", (sub.reason || "").replace(/_/g, " ")), runLink(sub));
      list.append(li);
    });
    if (!recent.length) list.append(L.el("li", "sub-empty", "Nothing has run yet."));
  }

  function renderNote(queue) {
    const note = document.getElementById("queue-note");
    if (!note) return;
    let text = "";
    if (!queue.runner_online) text = "Tree offline: the queue waits until it is back.";
    else if (queue.paused) text = "The queue is paused by the operator.";
    note.textContent = text;
    note.hidden = !text;
  }

  function render(queue) {
    if (!queue || typeof queue !== "object") return;
    renderNote(queue);
    renderNowPlaying(queue.running);
    renderPending(queue.pending || [], !queue.runner_online || Boolean(queue.paused));
    renderRecent(queue.recent || []);
    L.setRunnerOnline(queue.runner_online);
    document.body.dataset.queueVersion = String(Number(document.body.dataset.queueVersion || 0) + 1);
  }

  async function refresh() {
    const res = await L.api("GET", "/api/queue");
    if (res.ok) render(res.data);
  }

  setInterval(() => {
    if (runningLeft) runningLeft.node.textContent = L.fmtDuration((runningLeft.deadline - Date.now()) / 1000);
    etaLeft.forEach(({ deadline, node }) => {
      node.textContent = `in ~${L.fmtDuration(Math.max(0, (deadline - Date.now()) / 1000))}`;
    });
  }, 1000);

  L.on("queue", render);
  refresh();
})();
