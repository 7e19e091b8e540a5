// The API tokens page: revoking asks first, and a new token has a copy button.
// A file of its own, not inline: the pages' Content-Security-Policy allows scripts from 'self' only.
(function () {
  "use strict";
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("aria-describedby"));
    button.hidden = false;  // without a script there is nothing to click: the token is selectable text
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(
        function () { status.textContent = button.getAttribute("data-copied"); },
        function () { status.textContent = button.getAttribute("data-failed"); }
      );
    });
  });
})();
