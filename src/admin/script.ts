/**
 * The console's one script, served from our origin (the CSP allows no inline script, and no
 * fetch: `connect-src` is not opened for it). While the page shows a running import, it presses the
 * page's own "Import the next rows" button: the server works one chunk and answers with the page
 * again, its progress bar showing rows done / total. The progress lives on the server, so a reload,
 * a second tab or a closed laptop simply carries on from where the import stands.
 */
export const CONSOLE_JS = `
(function () {
  var form = document.querySelector("form[data-auto-continue]");
  if (!form) return;
  setTimeout(function () {
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }, 100);
})();
`;
