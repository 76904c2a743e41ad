// The docs page: every Python example gets an "Open in editor" button. The program is handed
// over as an offer, not written over the draft: the editor asks before replacing a changed one.
(function () {
  "use strict";
  document.querySelectorAll("#docs-body pre > code.language-python").forEach((code) => {
    const button = window.Ledtree.el("button", "small open-in-editor", "Open in editor");
    button.type = "button";
    button.addEventListener("click", () => {
      try {
        localStorage.setItem("ledtree.offer", code.textContent);
      } catch (err) {
        return;
      }
      location.href = "/editor";
    });
    code.parentElement.append(button);
  });
})();
