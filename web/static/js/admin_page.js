// The operator console: server-rendered, then kept current from the event stream in place.
// It never reloads itself (an operator may be about to press a button); each control is still a
// plain form post. All user text goes in through textContent (L.el).
(function () {
  "use strict";
  const L = window.Ledtree;
  const $ = (id) => document.getElementById(id);
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";

  function who(sub) {
    const span = L.el("span", "sub-who");
    span.append(L.el("span", "sub-title", sub.title || "Untitled"), " ", L.el("span", "sub-name", `by ${sub.name || "anonymous"}`));
    return span;
  }

  function viewLink(sub) {
    const a = L.el("a", "small", "code & log");
    a.href = `/admin/submissions/${encodeURIComponent(sub.id)}`;
    return a;
  }

  function row(tag, sub) {
    const node = L.el(tag, "sub-row");
    node.dataset.id = sub.id;
    return node;
  }

  // Star forms on finished runs with a recording (the idle show); the starred ids come from
  // the server-rendered list, which a star or unstar (a form post) renders afresh.
  const recentList = $("admin-recent");
  const starred = new Set(JSON.parse((recentList && recentList.dataset.starred) || "[]"));

  function starForm(sub) {
    const on = starred.has(sub.id);
    const form = L.el("form");
    form.method = "post";
    form.action = `/admin/star/${encodeURIComponent(sub.id)}`;
    const token = L.el("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = csrf;
    const value = L.el("input");
    value.type = "hidden";
    value.name = "on";
    value.value = on ? "0" : "1";
    const button = L.el("button", "small star-button", on ? "☆ Unstar" : "★ Star");
    button.type = "submit";
    button.dataset.starred = String(on);
    form.append(token, value, button);
    return form;
  }

  function removeForm(sub) {
    const form = L.el("form");
    form.method = "post";
    form.action = `/admin/remove/${encodeURIComponent(sub.id)}`;
    const token = L.el("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = csrf;
    const button = L.el("button", "small danger", "Remove");
    button.type = "submit";
    form.append(token, button);
    return form;
  }

  function renderNow(running) {
    const box = $("admin-now");
    box.replaceChildren();
    $("admin-stop").disabled = !running || Boolean(running.stopping);
    if (!running) {
      box.append(L.el("p", "muted", "Nothing running."));
      return;
    }
    const p = row("p", running);
    const left = running.stopping ? "stopping…" : `${L.fmtDuration(running.time_left_s)} left`;
    p.append(who(running), " ", L.el("span", "sub-eta", left), " ", viewLink(running));
    box.append(p);
  }

  function renderPending(pending) {
    const list = $("admin-pending");
    list.replaceChildren();
    pending.forEach((sub) => {
      const li = row("li", sub);
      li.append(L.el("span", "sub-pos", `#${sub.position}`), who(sub));
      li.append(L.el("span", "sub-eta", `in ~${L.fmtDuration(sub.eta_seconds)}`), viewLink(sub), removeForm(sub));
      list.append(li);
    });
    if (!pending.length) list.append(L.el("li", "sub-empty", "The queue is empty."));
    $("admin-pending-count").textContent = String(pending.length);
  }

  function renderRecent(recent) {
    const list = $("admin-recent");
    list.replaceChildren();
    recent.forEach((sub) => {
      const li = row("li", sub);
      li.append(L.el("span", `badge status-${sub.status}`, sub.status), who(sub));
      li.append(L.el("span", "sub-reason", (sub.reason || "").replace(/_/g, " ")), viewLink(sub));
      if (sub.recorded_frames) li.append(starForm(sub));
      list.append(li);
    });
    if (!recent.length) list.append(L.el("li", "sub-empty", "Nothing has run yet."));
  }

  function renderPaused(paused) {
    $("admin-paused").hidden = !paused;
    $("admin-pause-form").hidden = paused;
    $("admin-resume-form").hidden = !paused;
  }

  function renderLayers(tree) {
    const box = $("admin-layers");
    box.replaceChildren();
    if (!tree.runner_online) {
      box.append(L.el("p", "muted", "The tree is offline: the runner reports its layers when it connects."));
      return;
    }
    if (!tree.layers) {
      box.append(L.el("p", "muted", "This runner does not report its sandbox layers."));
    } else {
      const table = L.el("table", "layers");
      const body = L.el("tbody");
      Object.keys(tree.layers).sort().forEach((name) => {
        const tr = L.el("tr");
        const th = L.el("th", null, name);
        th.scope = "row";
        tr.append(th, L.el("td", null, tree.layers[name]));
        body.append(tr);
      });
      table.append(body);
      box.append(table);
    }
    box.append(L.el("p", "muted small", `Backend ${tree.backend}, ${tree.led_count} LEDs.`));
  }

  L.on("queue", (q) => {
    renderNow(q.running);
    renderPending(q.pending || []);
    renderRecent(q.recent || []);
    renderPaused(Boolean(q.paused));
    document.body.dataset.queueVersion = String(Number(document.body.dataset.queueVersion || 0) + 1);
  });
  L.on("tree", renderLayers);
})();
