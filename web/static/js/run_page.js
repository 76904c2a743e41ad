// The run page (/runs/<id>): follows a pending or running submission (SSE `submission` events,
// polling as a backstop) and reloads when it ends; a finished run's recording is fetched,
// decoded (format in web/recordings.py: zlib, "LTR1", delta-coded RGBL bytes) and played on
// the same 3D renderer as /tree (tree_view.js) with play/pause and a timeline.
(function () {
  "use strict";
  const L = window.Ledtree;
  const $ = (id) => document.getElementById(id);
  const root = $("run");
  if (!root) return;
  const id = root.dataset.id;
  const FINAL = ["completed", "failed", "cancelled"];

  // --- while it waits or runs ---------------------------------------------------------------
  function update(sub) {
    if (!sub || sub.id !== id) return;
    $("run-status").textContent = sub.status;
    $("run-status").className = `badge status-${sub.status}`;
    if (sub.frames !== undefined) $("run-frames").textContent = String(sub.frames);
    if (sub.predicted_s !== undefined && sub.predicted_s !== null) {
      $("run-predicted").textContent = `${sub.predicted_s.toFixed(1)} s`;
    }
    const warn = $("run-predicted-error");
    if (warn && sub.predicted_error && !FINAL.includes(sub.status)) {
      // Told at once when the dry run (a second or so after queueing) finds an error.
      $("run-predicted-error-text").textContent = sub.predicted_error;
      warn.hidden = false;
    }
    if (sub.status === "pending") {
      $("run-wait-label").textContent = "Position";
      $("run-wait").textContent = `#${sub.position}, starts in ~${L.fmtDuration(sub.eta_seconds)}`;
    } else if (sub.status === "running") {
      $("run-wait-label").textContent = "Time left";
      $("run-wait").textContent = sub.stopping ? "stopping…" : L.fmtDuration(sub.time_left_s);
    }
    if (FINAL.includes(sub.status) && FINAL.includes(root.dataset.status) === false) {
      root.dataset.status = sub.status;
      window.location.reload(); // the server renders the report, code, log and replay
    }
  }

  async function poll() {
    const res = await L.api("GET", `/api/submissions/${encodeURIComponent(id)}`);
    if (res.ok) update(res.data);
    return res;
  }

  // --- replay -------------------------------------------------------------------------------
  async function inflate(buffer) {
    const stream = new Blob([buffer]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  function parse(raw) {
    const magic = String.fromCharCode(raw[0], raw[1], raw[2], raw[3]);
    if (magic !== "LTR1") throw new Error("not a recording");
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const leds = dv.getUint32(4, true);
    const n = dv.getUint32(8, true);
    const times = [];
    for (let i = 0; i < n; i++) times.push(dv.getUint32(12 + 4 * i, true));
    const size = leds * 4;
    let at = 12 + 4 * n;
    const frames = [];
    let prev = new Uint8Array(size);
    for (let i = 0; i < n; i++, at += size) {
      const cur = new Uint8Array(size);
      for (let j = 0; j < size; j++) cur[j] = (prev[j] + raw[at + j]) & 0xff;
      frames.push(cur);
      prev = cur;
    }
    return { leds, times, frames };
  }

  function asLeds(bytes) {
    const out = [];
    for (let j = 0; j < bytes.length; j += 4) out.push([bytes[j], bytes[j + 1], bytes[j + 2], bytes[j + 3]]);
    return out;
  }

  // A spiral cone (like the runner's default layout) when the tree is offline and has no shape.
  function cone(n) {
    const out = [];
    for (let i = 0; i < n; i++) {
      const z = n > 1 ? i / (n - 1) : 0;
      const a = i * 0.5;
      out.push([Math.cos(a) * (1 - z), Math.sin(a) * (1 - z), z]);
    }
    return out;
  }

  function player(rec) {
    const view = window.ledtreeView;
    const canvas = $("tree-canvas");
    const button = $("replay-play");
    const range = $("replay-time");
    const clock = $("replay-clock");
    const total = rec.times.length ? rec.times[rec.times.length - 1] : 0;
    let index = 0;
    let playing = false;
    let startedAt = 0; // performance.now() at which rec.times[0] would have been shown

    function show(i) {
      index = Math.max(0, Math.min(rec.frames.length - 1, i));
      if (!view.positions.length || view.positions.length !== rec.leds) view.setPositions(cone(rec.leds));
      view.setFrame(asLeds(rec.frames[index]));
      range.value = String(index);
      canvas.dataset.replayIndex = String(index);
      clock.textContent = `${(rec.times[index] / 1000).toFixed(1)} s of ${(total / 1000).toFixed(1)} s`;
    }
    function tick(now) {
      if (!playing) return;
      const t = now - startedAt;
      let i = index;
      while (i + 1 < rec.frames.length && rec.times[i + 1] <= t) i++;
      if (i !== index) show(i);
      if (i + 1 >= rec.frames.length) return setPlaying(false);
      window.requestAnimationFrame(tick);
    }
    function setPlaying(on) {
      playing = on;
      button.textContent = on ? "❚❚ Pause" : "▶ Play";
      canvas.dataset.playing = String(on);
      if (on) {
        if (index + 1 >= rec.frames.length) show(0);
        startedAt = performance.now() - rec.times[index];
        window.requestAnimationFrame(tick);
      }
    }
    button.disabled = range.disabled = false;
    range.max = String(Math.max(0, rec.frames.length - 1));
    button.addEventListener("click", () => setPlaying(!playing));
    range.addEventListener("input", () => {
      show(Number(range.value));
      if (playing) startedAt = performance.now() - rec.times[index];
    });
    canvas.dataset.replayFrames = String(rec.frames.length);
    $("replay-note").textContent = "";
    show(0);
    setPlaying(true);
  }

  async function loadReplay(sub, tries) {
    if (!sub.recording_url) {
      if (sub.frames === 0 || tries <= 0) {
        $("replay-note").textContent = sub.frames === 0 ? "Nothing was shown on the tree during this run." : "This run has no recording.";
        return;
      }
      // The recording is written just after the run ends: ask again shortly.
      setTimeout(async () => {
        const res = await L.api("GET", `/api/submissions/${encodeURIComponent(id)}`);
        if (res.ok) loadReplay(res.data, tries - 1);
      }, 1000);
      return;
    }
    try {
      const response = await fetch(sub.recording_url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      player(parse(await inflate(await response.arrayBuffer())));
    } catch (err) {
      $("replay-note").textContent = `The recording cannot be played: ${err.message}.`;
    }
  }

  if (FINAL.includes(root.dataset.status)) {
    poll().then((res) => {
      if (res.ok) loadReplay(res.data, 15);
    });
  } else {
    L.on("submission", update);
    setInterval(poll, 1500);
  }
})();
