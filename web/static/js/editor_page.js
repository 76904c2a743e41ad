// The editor page: CodeMirror (static/dist/editor.js) with a draft kept in localStorage, the
// example picker, and Run -> POST /api/submissions -> follow it (static/js/follow.js).
//
// A changed draft is never replaced silently: choosing an example, an ?example= link or
// "Open in editor" on /docs asks first (and Ctrl+Z brings the draft back after a replace).
// "Changed" means it differs from the text it was last loaded from, kept under BASE_KEY.
// The run being followed is remembered, so coming back to the page follows it again.
(function () {
  "use strict";
  const L = window.Ledtree;
  const F = window.LedtreeFollow;
  const DRAFT_KEY = "ledtree.draft";
  const BASE_KEY = "ledtree.draft.base";
  const OFFER_KEY = "ledtree.offer"; // a program "Open in editor" on /docs hands over
  const NAME_KEY = "ledtree.name";
  const FOLLOW_KEY = "ledtree.following";
  const RESUME_FINISHED_S = 15 * 60; // a run that ended this recently is still shown on return
  const host = document.getElementById("editor-host");
  const textarea = document.getElementById("source");
  const picker = document.getElementById("example-picker");
  const nameInput = document.getElementById("name");
  const runButton = document.getElementById("run-button");
  const examples = JSON.parse(document.getElementById("examples-data").textContent || "[]");
  const byUrl = examples.find((e) => e.slug === new URLSearchParams(location.search).get("example"));

  function store(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch (err) {
      /* private mode or full: the draft just won't survive a reload */
    }
  }

  function read(key) {
    try {
      return localStorage.getItem(key);
    } catch (err) {
      return null;
    }
  }

  // The offer from /docs is taken once: a later visit must not ask again.
  const offer = read(OFFER_KEY);
  store(OFFER_KEY, null);

  // The page was rendered with the ?example= program or the starter; a stored draft comes back.
  const served = textarea.value;
  const draft = read(DRAFT_KEY);
  const initial = draft !== null ? draft : served;
  let base = read(BASE_KEY);
  if (draft === null) base = served;
  // Drafts from before bases were kept: unchanged if they are one of the programs on offer.
  if (base === null && (initial === served || examples.some((e) => e.source === initial))) base = initial;

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
  store(BASE_KEY, base);
  window.ledtreeEditor = editor;

  function changed() {
    return base === null || editor.getText() !== base;
  }

  /** Put `text` in the editor as the new base; an undoable edit (Ctrl+Z brings the old back). */
  function load(text) {
    editor.setText(text);
    base = text;
    store(DRAFT_KEY, text);
    store(BASE_KEY, text);
  }

  /** Whether `text` (named by `what`) may replace the draft: at once if unchanged, else asked. */
  function mayReplace(text, what) {
    if (editor.getText() === text || !changed()) return true;
    return window.confirm(
      `Your program has changes that are not in ${what}. Replace it?\n\n` +
        "OK replaces it (Ctrl+Z in the editor brings yours back); Cancel keeps yours.",
    );
  }

  nameInput.value = read(NAME_KEY) || "";
  nameInput.addEventListener("change", () => store(NAME_KEY, nameInput.value));

  let pickerValue = picker.value;
  picker.addEventListener("change", () => {
    const ex = examples.find((e) => e.slug === picker.value);
    if (!ex) {
      pickerValue = picker.value;
      return;
    }
    if (!mayReplace(ex.source, `the example “${ex.title}”`)) {
      picker.value = pickerValue; // kept the draft: the picker does not claim otherwise
      return;
    }
    pickerValue = picker.value;
    load(ex.source);
    document.getElementById("title").value = ex.title;
    history.replaceState(null, "", `?example=${encodeURIComponent(ex.slug)}`);
  });

  // A program offered by the page's address or by /docs: asked about once the draft is on
  // screen. A draft grown from this very ?example= (a reload after editing) is simply kept.
  function settleIncoming() {
    const incoming = offer !== null ? offer : byUrl ? byUrl.source : null;
    const fromSameExample = offer === null && byUrl && base === byUrl.source;
    if (incoming !== null && editor.getText() !== incoming && !(changed() && fromSameExample)) {
      const what = offer !== null ? "the program from the docs" : `the example “${byUrl.title}”`;
      if (mayReplace(incoming, what)) {
        load(incoming);
      } else if (byUrl) {
        picker.value = pickerValue = ""; // the draft stays, so no example is "chosen"
        history.replaceState(null, "", location.pathname);
      }
    }
    document.body.dataset.draftSettled = "true";
  }
  // Two frames later the page (with the draft) has painted, so a question has context.
  requestAnimationFrame(() => setTimeout(settleIncoming, 0));

  // On a phone the panel sits below the editor: after Run, bring what happened into view
  // (its status, or why it was refused). Beside the editor (a wide screen) nothing moves.
  function reveal() {
    const panel = document.getElementById("follow");
    const box = panel.getBoundingClientRect();
    if (box.top < 0 || box.top > window.innerHeight - 80) {
      panel.scrollIntoView({ block: "start", behavior: "smooth" });
    }
  }

  function markError(error, line) {
    if (line) editor.markLine(line);
  }

  function remember(sub, source) {
    store(FOLLOW_KEY, JSON.stringify({ id: sub.id, source }));
  }

  // Coming back to the page: follow the remembered run again if it still waits or runs, or ended
  // recently. Its error line is marked only while the editor holds the program that was sent.
  let runPressed = false;
  async function resume() {
    let saved = null;
    try {
      saved = JSON.parse(read(FOLLOW_KEY) || "null");
    } catch (err) {
      saved = null;
    }
    if (!saved || typeof saved.id !== "string") return;
    const res = await L.api("GET", `/api/submissions/${encodeURIComponent(saved.id)}`);
    if (!res.ok) {
      if (res.status === 404 || res.status === 403) store(FOLLOW_KEY, null);
      return;
    }
    const sub = res.data;
    if (runPressed) return; // a new run is followed now
    const live = sub.status === "pending" || sub.status === "running";
    const ended = Date.parse(sub.finished_at || "");
    if (!live && !(ended && (Date.now() - ended) / 1000 < RESUME_FINISHED_S)) {
      store(FOLLOW_KEY, null);
      return;
    }
    F.follow(sub, (error, line) => {
      if (editor.getText() === saved.source) markError(error, line);
    });
  }
  resume();

  runForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    F.askToNotify(); // inside the click or key press: the only moment a browser lets us ask
    const source = editor.getText();
    store(DRAFT_KEY, source);
    // A new run starts clean: the last one's log, error box and marked line go at once.
    editor.clearMark();
    F.reset();
    runPressed = true;
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
      remember(sub, source);
      F.follow(sub, markError);
    } else {
      markError(null, F.rejected(res));
    }
    // Two frames later: after CodeMirror has scrolled to a marked line (its measure phase).
    requestAnimationFrame(() => requestAnimationFrame(reveal));
  });
})();
