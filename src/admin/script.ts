/**
 * The console's one script, served from our origin (the CSP allows no inline script). It drives an
 * import: while the page shows a running import, it asks the server to work the next chunk, updates
 * the progress bar from the answer, and reloads the page when the import is done. The work happens
 * on the server in chunks, so a reload (or a second tab) simply carries on from the stored progress.
 */
export const CONSOLE_JS = `
(function () {
  var box = document.querySelector("[data-import-work]");
  if (!box) return;
  var url = box.getAttribute("data-import-work");
  var csrf = box.getAttribute("data-csrf");
  var bar = box.querySelector("progress");
  var label = box.querySelector("[data-progress-label]");
  function step() {
    var body = new URLSearchParams();
    body.set("csrf", csrf);
    fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (p) {
        if (bar) { bar.max = p.total || 1; bar.value = p.done; }
        if (label) label.textContent = p.done + " of " + p.total + " rows";
        if (p.status === "done") location.reload(); else setTimeout(step, 50);
      })
      .catch(function () { setTimeout(step, 2000); });
  }
  step();
})();
`;
