// The live tree: every LED drawn at its (slowly rotating) position from the frames the runner
// showed. Loads /api/tree, then follows SSE `frame` and `tree`. For tests and curious people, the
// last frame is window.ledtreeLastFrame and each LED's last drawn canvas point is in
// window.ledtreeView.points (device pixels), so colours can be read back from the canvas.
// A canvas with data-mode="replay" (the run page) takes no live frames: run_page.js plays a
// recording through window.ledtreeView.setFrame with this same renderer.
(function () {
  "use strict";
  const L = window.Ledtree;
  const canvas = document.getElementById("tree-canvas");
  if (!canvas) return;
  const ctx = canvas.getContext("2d");
  const offline = document.getElementById("tree-offline");
  const still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const TURN_SECONDS = 60; // one slow revolution a minute: alive, not dizzying

  const replay = canvas.dataset.mode === "replay";
  const view = { positions: [], frame: null, points: [], online: null, frames: 0, replay };
  window.ledtreeView = view;

  function setOnline(online) {
    if (typeof online !== "boolean") return;
    view.online = online;
    if (offline) offline.hidden = online;
    canvas.dataset.online = String(online);
  }

  function setTree(tree) {
    if (Array.isArray(tree.positions)) view.positions = tree.positions;
    if (tree.frame !== undefined) setFrame(tree.frame);
    setOnline(tree.runner_online);
  }

  function setFrame(leds) {
    if (!Array.isArray(leds)) return;
    view.frame = leds;
    view.frames += 1;
    window.ledtreeLastFrame = leds;
    canvas.dataset.frameCount = String(view.frames);
  }

  function resize() {
    const ratio = window.devicePixelRatio || 1;
    const rect = canvas.getBoundingClientRect();
    if (!rect.width) return;
    const w = Math.round(rect.width * ratio);
    const h = Math.round(rect.height * ratio);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
  }

  // How an LED is drawn (see docs/runner.md, "Live view colours"). The hardware sends each
  // channel as linear light ((c / 255) * (L / 100)) ** GAMMA (runner/leds/colour.py, default
  // TREE_WS281X_GAMMA): blue at L = 20 emits 2.9 % of its full light, yet a real LED, a bright
  // point in a dark room, still looks clearly lit. A screen cannot be that bright, so the view
  // shows the tree as a night photo would: it "exposes" the LED's linear light with the curve
  // x (1 + EXPOSURE) / (1 + EXPOSURE x) (off stays off, full stays full, order is kept), applied
  // to the brightest channel and scaled into the others so the hue stays, then encodes it for
  // the screen (sRGB, ** (1 / 2.2)). Blue at 20 % draws as rgb(0, 0, 126), not rgb(0, 0, 51).
  const GAMMA = 2.2;
  const EXPOSURE = 8;
  const SCREEN_GAMMA = 2.2;

  function colourOf(led) {
    if (!Array.isArray(led) || led.length < 4) return null;
    const k = Math.max(0, Math.min(100, led[3])) / 100;
    const light = [0, 1, 2].map((i) => ((Math.max(0, Math.min(255, led[i])) / 255) * k) ** GAMMA);
    const peak = Math.max(...light);
    if (!(peak > 0)) return [0, 0, 0];
    const scale = (1 + EXPOSURE) / (1 + EXPOSURE * peak); // exposed(peak) / peak
    return light.map((x) => Math.round(255 * Math.min(1, x * scale) ** (1 / SCREEN_GAMMA)));
  }
  window.ledtreeColour = colourOf; // the mapping itself, for tests and the curious

  function project(angle) {
    const w = canvas.width;
    const h = canvas.height;
    const cos = Math.cos(angle);
    const sin = Math.sin(angle);
    const half = Math.min(w * 0.42, h * 0.36);
    const bottom = h * 0.93;
    const height = h * 0.8;
    return view.positions.map(([x, y, z], i) => ({
      i,
      x: w / 2 + (x * cos - y * sin) * half,
      y: bottom - z * height,
      depth: x * sin + y * cos, // larger = nearer the viewer
    }));
  }

  function drawBackdrop() {
    const w = canvas.width;
    const h = canvas.height;
    const half = Math.min(w * 0.42, h * 0.36);
    ctx.fillStyle = "rgba(31, 138, 76, 0.10)";
    ctx.beginPath();
    ctx.moveTo(w / 2, h * 0.1);
    ctx.lineTo(w / 2 + half * 1.05, h * 0.93);
    ctx.lineTo(w / 2 - half * 1.05, h * 0.93);
    ctx.closePath();
    ctx.fill();
    ctx.fillStyle = "rgba(120, 72, 40, 0.5)";
    ctx.fillRect(w / 2 - half * 0.08, h * 0.93, half * 0.16, h * 0.05);
  }

  function draw(now) {
    resize();
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    drawBackdrop();
    const angle = still ? 0 : ((now / 1000) * 2 * Math.PI) / TURN_SECONDS;
    const points = project(angle).sort((a, b) => a.depth - b.depth);
    const r = Math.max(2.5, Math.min(canvas.width, canvas.height) / 110);
    const frame = view.frame || [];
    // Halos first (additive glow), then every core on top in its exact colour.
    ctx.globalCompositeOperation = "lighter";
    for (const p of points) {
      const c = colourOf(frame[p.i]);
      if (!c || c[0] + c[1] + c[2] === 0) continue;
      const g = ctx.createRadialGradient(p.x, p.y, 0, p.x, p.y, r * 4);
      g.addColorStop(0, `rgba(${c[0]},${c[1]},${c[2]},0.45)`);
      g.addColorStop(1, `rgba(${c[0]},${c[1]},${c[2]},0)`);
      ctx.fillStyle = g;
      ctx.fillRect(p.x - r * 4, p.y - r * 4, r * 8, r * 8);
    }
    ctx.globalCompositeOperation = "source-over";
    for (const p of points) {
      const c = colourOf(frame[p.i]);
      ctx.fillStyle = c && c[0] + c[1] + c[2] > 0 ? `rgb(${c[0]},${c[1]},${c[2]})` : "#26302b";
      ctx.beginPath();
      ctx.arc(p.x, p.y, r * (0.85 + 0.25 * (p.depth + 1) / 2), 0, 2 * Math.PI);
      ctx.fill();
    }
    view.points = points.slice().sort((a, b) => a.i - b.i);
    window.requestAnimationFrame(draw);
  }

  view.setFrame = setFrame;
  view.setPositions = (positions) => {
    if (Array.isArray(positions)) view.positions = positions;
  };
  if (!replay) {
    L.on("frame", (msg) => setFrame(msg.leds));
    L.on("tree", setTree);
    L.on("queue", (q) => setOnline(q.runner_online));
  }
  L.api("GET", "/api/tree").then((res) => {
    if (!res.ok) return;
    if (replay) view.setPositions(res.data.positions);
    else setTree(res.data);
  });
  window.requestAnimationFrame(draw);
})();
