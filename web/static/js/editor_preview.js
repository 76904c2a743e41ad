// The editor's Preview (button, or Ctrl/Cmd+Shift+Enter): POST /api/preview dry-runs the code
// on the runner's virtual clock, and its frames play here on the same 3D renderer as /tree
// (tree_view.js, canvas data-mode="replay"), with play/pause, a timeline, the predicted
// duration, and the error's line marked in the editor. Nothing reaches the real tree.
(function () {
  "use strict";
  const L = window.Ledtree;
  const $ = (id) => document.getElementById(id);
  const button = $("preview-button");
  const card = $("preview");
  if (!button || !card) return;
  const canvas = $("tree-canvas");
  const play = $("preview-play");
  const range = $("preview-time");
  const clock = $("preview-clock");
  const ENDINGS = {
    ended: "finishes by itself",
    time_limit: "runs until the time limit (normal for an endless animation)",
    cpu_budget: "needs too much computing time to preview to the end",
    wall_budget: "could not be previewed to the end: the server is busy",
  };

  let rec = null; // {frames, interval}
  let index = 0;
  let playing = false;
  let startedAt = 0;

  function show(i) {
    if (!rec || !rec.frames.length) return;
    index = Math.max(0, Math.min(rec.frames.length - 1, i));
    window.ledtreeView.setFrame(rec.frames[index]);
    range.value = String(index);
    canvas.dataset.replayIndex = String(index);
    const at = (index + 1) * rec.interval;
    clock.textContent = `${at.toFixed(1)} s of ${(rec.frames.length * rec.interval).toFixed(1)} s`;
  }

  function tick(now) {
    if (!playing || !rec) return;
    const i = Math.floor((now - startedAt) / 1000 / rec.interval);
    if (i !== index) show(i);
    if (i + 1 >= rec.frames.length) return setPlaying(false);
    window.requestAnimationFrame(tick);
  }

  function setPlaying(on) {
    playing = on && Boolean(rec && rec.frames.length);
    play.textContent = playing ? "❚❚ Pause" : "▶ Play";
    canvas.dataset.playing = String(playing);
    if (!playing) return;
    if (index + 1 >= rec.frames.length) show(0);
    startedAt = performance.now() - index * rec.interval * 1000;
    window.requestAnimationFrame(tick);
  }

  function summary(data) {
    const parts = [];
    if (data.status === "failed") {
      parts.push(`It fails after ${data.duration_s.toFixed(1)} s.`);
    } else if (data.status === "incomplete") {
      parts.push(`It ${ENDINGS[data.reason] || data.reason.replace(/_/g, " ")} (got to ${data.duration_s.toFixed(1)} s).`);
    } else {
      parts.push(`It ${ENDINGS[data.reason] || data.reason.replace(/_/g, " ")}: ${data.duration_s.toFixed(1)} s on the tree.`);
    }
    parts.push(`${data.frames} ${data.frames === 1 ? "frame" : "frames"}, ${data.fps.toFixed(1)} per second.`);
    if (data.frames_returned && data.frames_returned * data.frame_interval_s < data.duration_s - 0.05) {
      parts.push(`Shown: the first ${(data.frames_returned * data.frame_interval_s).toFixed(0)} s.`);
    }
    return parts.join(" ");
  }

  async function preview() {
    const editor = window.ledtreeEditor;
    if (!editor || button.disabled) return;
    button.disabled = true;
    button.textContent = "◉ Previewing…";
    editor.clearMark();
    card.hidden = false;
    const errorBox = $("preview-error");
    errorBox.hidden = true;
    $("preview-summary").textContent = "";
    const res = await L.api("POST", "/api/preview", { source: editor.getText() });
    button.disabled = false;
    button.textContent = "◉ Preview";
    if (!res.ok) {
      const error = (res.data && res.data.error) || { message: `Error ${res.status}` };
      errorBox.textContent = L.errorText(error);
      errorBox.hidden = false;
      if (error.line) editor.markLine(error.line);
      canvas.dataset.previewStatus = "refused";
      return;
    }
    const data = res.data;
    if (!window.ledtreeView.positions.length || window.ledtreeView.positions.length !== data.led_count) {
      const tree = await L.api("GET", "/api/tree");
      if (tree.ok) window.ledtreeView.setPositions(tree.data.positions);
    }
    $("preview-summary").textContent = summary(data);
    if (data.error) {
      errorBox.textContent = L.errorText(data.error);
      errorBox.hidden = false;
      if (data.error.line) editor.markLine(data.error.line);
    }
    rec = { frames: data.frames_data || [], interval: data.frame_interval_s };
    index = 0;
    range.max = String(Math.max(0, rec.frames.length - 1));
    play.disabled = range.disabled = rec.frames.length === 0;
    canvas.dataset.replayFrames = String(rec.frames.length);
    canvas.dataset.previewStatus = data.status;
    if (!rec.frames.length) {
      clock.textContent = "nothing shown";
      return;
    }
    show(0);
    setPlaying(true);
  }

  play.addEventListener("click", () => setPlaying(!playing));
  range.addEventListener("input", () => {
    show(Number(range.value));
    if (playing) startedAt = performance.now() - index * rec.interval * 1000;
  });
  button.hidden = false;
  button.addEventListener("click", preview);
  // Captured on the window, before CodeMirror sees it (its own Mod-Enter runs the program).
  window.addEventListener(
    "keydown",
    (event) => {
      if (event.key === "Enter" && event.shiftKey && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        event.stopPropagation();
        preview();
      }
    },
    true,
  );
})();
