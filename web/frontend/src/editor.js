// The editor widget: CodeMirror 6 with Python highlighting and an error-line decoration.
// Exposed as window.LedtreeEditor so the page script (static/js/editor_page.js) stays plain JS.
import { EditorView, basicSetup } from "codemirror";
import { python } from "@codemirror/lang-python";
import { oneDark } from "@codemirror/theme-one-dark";
import { Prec, StateEffect, StateField } from "@codemirror/state";
import { Decoration, keymap } from "@codemirror/view";
import { indentWithTab, isolateHistory } from "@codemirror/commands";
import { indentUnit, syntaxHighlighting } from "@codemirror/language";
import { classHighlighter } from "@lezer/highlight";

const setErrorLine = StateEffect.define();

const errorLineDeco = Decoration.line({ attributes: { class: "cm-error-line" } });

// Holds at most one marked line; edits map it along, a new mark or null replaces it.
const errorLineField = StateField.define({
  create() {
    return Decoration.none;
  },
  update(decos, tr) {
    decos = decos.map(tr.changes);
    for (const effect of tr.effects) {
      if (effect.is(setErrorLine)) {
        const line = effect.value;
        if (line === null || line < 1 || line > tr.state.doc.lines) {
          decos = Decoration.none;
        } else {
          const from = tr.state.doc.line(line).from;
          decos = Decoration.set([errorLineDeco.range(from)]);
        }
      }
    }
    return decos;
  },
  provide: (field) => EditorView.decorations.from(field),
});

const theme = EditorView.theme({
  "&": { height: "100%", fontSize: "15px" },
  ".cm-scroller": { fontFamily: "ui-monospace, 'DejaVu Sans Mono', monospace" },
  ".cm-error-line": { backgroundColor: "rgba(255, 60, 60, 0.28)" },
});

/** Create an editor in `parent` holding `doc`; `onChange(text)` runs after each edit and
 * `onRun()` on Ctrl/Cmd+Enter. */
function create(parent, doc, onChange, onRun) {
  const view = new EditorView({
    parent,
    doc,
    extensions: [
      basicSetup,
      python(),
      oneDark,
      // Adds stable tok-* classes beside oneDark's, so site.css can lift the comment colour
      // to 4.5:1 contrast without forking the theme.
      syntaxHighlighting(classHighlighter),
      theme,
      indentUnit.of("    "),
      errorLineField,
      Prec.highest(
        keymap.of([{ key: "Mod-Enter", run: () => (onRun ? (onRun(), true) : false) }]),
      ),
      // Tab indents like every code editor. CodeMirror keeps keyboard users from being trapped:
      // Escape, then Tab, moves focus on out of the editor (its tab-focus mode).
      keymap.of([indentWithTab]),
      EditorView.updateListener.of((update) => {
        if (update.docChanged && onChange) onChange(update.state.doc.toString());
      }),
    ],
  });
  return {
    view,
    getText: () => view.state.doc.toString(),
    setText(text) {
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: text },
        effects: setErrorLine.of(null),
        // Its own undo step, never merged with the typing before it: Ctrl+Z brings back
        // exactly the text it replaced.
        annotations: isolateHistory.of("full"),
      });
    },
    markLine(line) {
      view.dispatch({ effects: setErrorLine.of(line) });
      if (line && line >= 1 && line <= view.state.doc.lines) {
        const pos = view.state.doc.line(line).from;
        view.dispatch({ effects: EditorView.scrollIntoView(pos, { y: "center" }) });
      }
    },
    clearMark() {
      view.dispatch({ effects: setErrorLine.of(null) });
    },
    focus: () => view.focus(),
  };
}

window.LedtreeEditor = { create };
