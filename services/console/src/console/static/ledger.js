// The lines editor (ledger posting and booking-request forms): adds rows, and shows the
// balance per currency as one types; submitting is disabled while the entry is unbalanced.
// Without this script the form offers blank rows and the server refuses an unbalanced entry.
"use strict";

(function () {
  function parseMinor(text, editor, currency) {
    var decimal = editor.getAttribute("data-decimal");
    var group = editor.getAttribute("data-group");
    var exponents = JSON.parse(editor.getAttribute("data-exponents") || "{}");
    var exponent = exponents[currency] === undefined ? 2 : exponents[currency];
    var cleaned = text.replace(/[\s\u00a0\u202f]/g, "").split(group).join("");
    if (decimal !== ".") { cleaned = cleaned.split(decimal).join("."); }
    if (!/^\d+(\.\d+)?$/.test(cleaned)) { return null; }
    var parts = cleaned.split(".");
    var fraction = parts[1] || "";
    if (fraction.length > exponent) { return null; }
    while (fraction.length < exponent) { fraction += "0"; }
    return parseInt(parts[0] + fraction, 10);
  }

  function money(minor, currency, editor) {
    var exponents = JSON.parse(editor.getAttribute("data-exponents") || "{}");
    var exponent = exponents[currency] === undefined ? 2 : exponents[currency];
    try {
      return new Intl.NumberFormat(editor.getAttribute("data-locale"), {
        style: "currency", currency: currency
      }).format(minor / Math.pow(10, exponent));
    } catch (e) {
      return (minor / Math.pow(10, exponent)).toFixed(exponent) + " " + currency;
    }
  }

  function summarise(editor) {
    var sums = {};
    var lines = 0;
    var unreadable = false;
    editor.querySelectorAll("[data-line]").forEach(function (row) {
      var account = row.querySelector("[data-account]").value.trim();
      var amountText = row.querySelector("[data-amount]").value.trim();
      if (!account && !amountText) { return; }
      var currency = row.querySelector("select[data-currency]").value;
      var side = row.querySelector("[data-side]").value;
      var minor = parseMinor(amountText, editor, currency);
      var amountInput = row.querySelector("[data-amount]");
      if (minor === null || minor <= 0 || !account) {
        unreadable = true;
        amountInput.setAttribute("aria-invalid", minor === null || minor <= 0 ? "true" : "false");
        return;
      }
      amountInput.removeAttribute("aria-invalid");
      lines += 1;
      sums[currency] = sums[currency] || { debit: 0, credit: 0 };
      sums[currency][side] += minor;
    });
    return { sums: sums, lines: lines, unreadable: unreadable };
  }

  function show(editor) {
    var form = editor.closest("form");
    var submit = form.querySelector("[data-submit]");
    var out = editor.querySelector("[data-balance]");
    var state = summarise(editor);
    var balanced = !state.unreadable && state.lines >= 2;
    var parts = [];
    Object.keys(state.sums).sort().forEach(function (currency) {
      var s = state.sums[currency];
      var difference = s.debit - s.credit;
      if (difference !== 0) { balanced = false; }
      parts.push(currency + ": " + editor.getAttribute("data-debits") + " " + money(s.debit, currency, editor) +
        ", " + editor.getAttribute("data-credits") + " " + money(s.credit, currency, editor) +
        (difference !== 0 ? ", " + editor.getAttribute("data-difference") + " " + money(Math.abs(difference), currency, editor) : ""));
    });
    var message = state.lines < 2 && !state.unreadable ? editor.getAttribute("data-too-few")
      : balanced ? editor.getAttribute("data-balanced") : editor.getAttribute("data-unbalanced");
    out.textContent = "";
    var status = document.createElement("p");
    status.className = balanced ? "balance-ok" : "balance-bad";
    status.textContent = message;
    out.appendChild(status);
    parts.forEach(function (text) {
      var p = document.createElement("p");
      p.textContent = text;
      out.appendChild(p);
    });
    submit.disabled = !balanced;
  }

  function renumber(row, number) {
    row.querySelector("[data-line-number]").textContent = String(number);
    row.querySelectorAll("label").forEach(function (label) {
      var old = label.getAttribute("for");
      var fresh = old.replace(/^line-\d+-/, "line-" + number + "-");
      label.setAttribute("for", fresh);
      label.textContent = label.textContent.replace(/\d+\s*$/, String(number));
    });
    row.querySelectorAll("input, select").forEach(function (field) {
      field.id = field.id.replace(/^line-\d+-/, "line-" + number + "-");
    });
  }

  function addLine(editor) {
    var rows = editor.querySelectorAll("[data-line]");
    var last = rows[rows.length - 1];
    var copy = last.cloneNode(true);
    copy.querySelectorAll("input").forEach(function (input) { input.value = ""; input.removeAttribute("aria-invalid"); });
    copy.querySelector("[data-account]").value = "";
    last.parentNode.appendChild(copy);
    renumber(copy, rows.length + 1);
    copy.querySelector("[data-account]").focus();
    show(editor);
  }

  function accountChosen(editor, select) {
    // An account has one currency: the row takes it.
    var option = select.options[select.selectedIndex];
    var currency = option && option.getAttribute("data-currency");
    if (currency) { select.closest("[data-line]").querySelector("select[data-currency]").value = currency; }
  }

  function start() {
    document.querySelectorAll("[data-lines-editor]").forEach(function (editor) {
      var add = editor.querySelector("[data-add-line]");
      add.hidden = false;
      add.addEventListener("click", function () { addLine(editor); });
      editor.addEventListener("input", function () { show(editor); });
      editor.addEventListener("change", function (event) {
        if (event.target.tagName === "SELECT" && event.target.hasAttribute("data-account")) {
          accountChosen(editor, event.target);
        }
        show(editor);
      });
      show(editor);
    });
  }

  window.consoleParts = window.consoleParts || [];
  window.consoleParts.push(start);
})();
