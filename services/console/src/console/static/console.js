// The console's only script (no inline script: the CSP forbids it). Pages work without it;
// it adds live lists and conveniences on top.
"use strict";

// Live lists: <div data-live="/live/name?..."> gets its new HTML from a server-sent event.
function startLiveLists() {
  document.querySelectorAll("[data-live]").forEach(function (region) {
    var source = new EventSource(region.getAttribute("data-live"));
    source.addEventListener("update", function (event) {
      region.innerHTML = event.data;
      region.setAttribute("data-live-updated", new Date().toISOString());
      document.dispatchEvent(new CustomEvent("console:updated", { detail: region }));
    });
    source.addEventListener("refused", function (event) {
      region.setAttribute("data-live-refused", event.data);
      source.close();
    });
    window.addEventListener("pagehide", function () { source.close(); });
  });
}

// Forms that ask before they act: <form data-confirm="Close period 2026-11?">.
function confirmForms() {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
}

// Selects that submit their form when changed: <select data-autosubmit>.
function autoSubmit() {
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
}

window.consoleParts = window.consoleParts || [];
document.addEventListener("DOMContentLoaded", function () {
  startLiveLists();
  confirmForms();
  autoSubmit();
  window.consoleParts.forEach(function (part) { part(); });
});
