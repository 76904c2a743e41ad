// The operator console is server-rendered; reload it when the queue changes so it stays current
// (but never while the operator is pressing a button).
(function () {
  "use strict";
  let last = null;
  let timer = null;
  window.Ledtree.on("queue", (q) => {
    const key = JSON.stringify([q.running && q.running.id, (q.pending || []).map((s) => s.id), q.paused]);
    if (last !== null && key !== last) {
      clearTimeout(timer);
      timer = setTimeout(() => location.reload(), 400);
    }
    last = key;
  });
})();
