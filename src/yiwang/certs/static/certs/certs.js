// The print button (no inline script: CSP script-src 'self').
document.addEventListener("click", function (e) {
  var t = e.target;
  if (t && t.matches && t.matches("[data-print]")) { window.print(); }
});
