// The editor page: CodeMirror (static/dist/editor.js) with a draft kept in localStorage, the
// example picker, and Run -> POST /api/submissions -> follow it (static/js/follow.js).
(function () {
  "use strict";
  const L = window.Ledtree;
  const F = window.LedtreeFollow;
  const DRAFT_KEY = "ledtree.draft";
  const NAME_KEY = "ledtree.name";
  const host = document.getElementById("editor-host");
  const textarea = document.getElementById("source");
  const picker = document.getElementById("example-picker");
  const nameInput = document.getElementById("name");
  const runButton = document.getElementById("run-button");
  const examples = JSON.parse(document.getElementById("examples-data").textContent || "[]");
  const chosenByUrl = new URLSearchParams(location.search).has("example");

  function store(key, value) {
    try {
      localStorage.setItem(key, value);
    } catch (err) {
      /* private mode or full: the draft just won't survive a reload */
    }
  }

  // A picked example (?example=) wins over the stored draft; otherwise the draft comes back.
  const draft = localStorage.getItem(DRAFT_KEY);
  const initial = !chosenByUrl && draft !== null ? draft : textarea.value;
  let saveTimer = null;
  const runForm = document.getElementById("run-form");
  const editor = window.LedtreeEditor.create(
    host,
    initial,
    (text) => {
      clearTimeout(saveTimer);
      saveTimer = setTimeout(() => store(DRAFT_KEY, text), 250);
    },
    () => runForm.requestSubmit(),
  );
  textarea.remove();
  store(DRAFT_KEY, initial);
  window.ledtreeEditor = editor;

  nameInput.value = localStorage.getItem(NAME_KEY) || "";
  nameInput.addEventListener("change", () => store(NAME_KEY, nameInput.value));

  picker.addEventListener("change", () => {
    const ex = examples.find((e) => e.slug === picker.value);
    if (!ex) return;
    editor.setText(ex.source);
    store(DRAFT_KEY, ex.source);
    document.getElementById("title").value = ex.title;
    history.replaceState(null, "", `?example=${encodeURIComponent(ex.slug)}`);
  });

  function markError(error, line) {
    if (line) editor.markLine(line);
  }

  runForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const source = editor.getText();
    store(DRAFT_KEY, source);
    editor.clearMark();
    runButton.disabled = true;
    const body = { source };
    const name = nameInput.value.trim();
    const title = document.getElementById("title").value.trim();
    if (name) body.name = name;
    if (title) body.title = title;
    const res = await L.api("POST", "/api/submissions", body);
    runButton.disabled = false;
    if (res.ok) {
      const sub = res.data;
      L.addMine(sub.id);
      F.follow(sub, markError);
    } else {
      markError(null, F.rejected(res));
    }
  });
})();
