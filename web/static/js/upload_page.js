// The upload page: drag-and-drop or pick a .py file, POST it to /api/submissions, follow it.
(function () {
  "use strict";
  const L = window.Ledtree;
  const F = window.LedtreeFollow;
  const form = document.getElementById("upload-form");
  const zone = document.getElementById("dropzone");
  const input = document.getElementById("file");
  const label = document.getElementById("dz-text");
  const button = document.getElementById("upload-button");

  const prompt = Array.from(label.childNodes, (node) => node.cloneNode(true)); // "drop" or "tap"

  function showChosen() {
    const file = input.files[0];
    if (file) label.textContent = `${file.name} — ${file.size} bytes. Press “Queue it”.`;
    else label.replaceChildren(...prompt.map((node) => node.cloneNode(true)));
  }

  ["dragenter", "dragover"].forEach((type) =>
    zone.addEventListener(type, (event) => {
      event.preventDefault();
      zone.classList.add("dragover");
    }),
  );
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("dragover")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      showChosen();
    }
  });
  input.addEventListener("change", showChosen);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!input.files.length) {
      F.showError({ message: "Pick a .py file first." });
      return;
    }
    const data = new FormData();
    data.append("file", input.files[0], input.files[0].name);
    for (const field of ["name", "title"]) {
      const value = document.getElementById(field).value.trim();
      if (value) data.append(field, value);
    }
    button.disabled = true;
    const res = await L.api("POST", "/api/submissions", data);
    button.disabled = false;
    if (res.ok) {
      const sub = res.data;
      L.addMine(sub.id);
      F.follow(sub);
    } else {
      F.rejected(res);
    }
  });
})();
