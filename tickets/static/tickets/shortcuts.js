// Keyboard shortcuts of the ticket list and the ticket page; "?" opens their list
// (templates/admin/tickets/ticket/shortcuts_help.html). None fires while typing in a field or
// with Ctrl, Meta or Alt held, so the browser's and the field's own keys keep working.
(function () {
  "use strict";

  // The highlighted row outlives the reload that follows "a" on the list.
  var ROW_KEY = "tickets-shortcuts-row:" + location.pathname + location.search;
  var DRAFT_WARNING = "Assigning reloads the page, and your unsent text would be lost. Assign anyway?";

  // Fields that take keys; a checkbox or a button does not, so j/k go on after ticking a row.
  var FIELDS = "input:not([type=checkbox]):not([type=radio]):not([type=button]):not([type=submit])," +
    "textarea, select, [contenteditable=''], [contenteditable=true]";

  function typingIn(target) {
    return Boolean(target.closest && target.closest(FIELDS));
  }

  // --- the ticket list ---------------------------------------------------------------------
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#result_list tbody tr"));
  }

  function currentRow() {
    return document.querySelector("#result_list tbody tr.shortcut-current");
  }

  function highlight(row) {
    var previous = currentRow();
    if (previous) {
      previous.classList.remove("shortcut-current");
      previous.removeAttribute("aria-current");
    }
    row.classList.add("shortcut-current");
    row.setAttribute("aria-current", "true");
    var link = row.querySelector("th a, td a");
    if (link) link.focus({ preventScroll: true });  // screen readers read the ticket
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(currentRow());
    index = index < 0 ? 0 : Math.min(Math.max(index + step, 0), all.length - 1);
    highlight(all[index]);
  }

  function openRow() {
    var row = currentRow();
    var link = row && row.querySelector("th a, td a");
    if (!link) return false;
    location.href = link.href;
  }

  // The list's own "Assign to me" action, run on the highlighted row alone.
  function assignRow() {
    var row = currentRow();
    var form = document.getElementById("changelist-form");
    var select = form && form.querySelector("select[name=action]");
    var go = form && form.querySelector("button[name=index]");
    if (!row || !go || !select.querySelector("option[value=assign_to_me]")) return false;
    rows().forEach(function (each) {
      var box = each.querySelector("input.action-select");
      if (box) box.checked = each === row;
    });
    var across = form.querySelector("input[name=select_across]");
    if (across) across.value = "0";
    select.value = "assign_to_me";
    sessionStorage.setItem(ROW_KEY, String(rows().indexOf(row)));
    form.requestSubmit(go);
  }

  // --- the ticket page ---------------------------------------------------------------------
  function compose(internal) {
    var box = document.getElementById("id_reply");
    var toggle = document.getElementById("id_internal");
    if (!box) return false;
    if (toggle && toggle.checked !== internal) {
      toggle.checked = internal;
      toggle.dispatchEvent(new Event("change", { bubbles: true }));  // console.js recolours the box
    }
    box.focus();
  }

  function focusStatus() {
    var status = document.getElementById("id_status");
    if (!status) return false;
    status.focus();
  }

  function assignTicket() {
    var form = document.querySelector("form.assign-to-me");
    if (!form) return false;
    form.requestSubmit();
  }

  function hasDraft() {
    return ["id_reply", "id_note"].some(function (id) {
      var box = document.getElementById(id);
      return box && box.value.trim() !== "";
    });
  }

  // --- the "?" list ------------------------------------------------------------------------
  function help() {
    return document.getElementById("shortcuts-help");
  }

  function showHelp() {
    var dialog = help();
    if (!dialog) return false;
    dialog.showModal();
  }

  // The admin loads this script in <head>: the page's kind is known once the body is there.
  function keymap() {
    var keys = { "?": showHelp };
    if (document.body.classList.contains("change-list")) {
      keys.j = function () { move(1); };
      keys.k = function () { move(-1); };
      keys.o = keys.Enter = openRow;
      keys.a = assignRow;
    } else if (document.body.classList.contains("change-form")) {
      keys.r = function () { return compose(false); };
      keys.n = function () { return compose(true); };
      keys.s = focusStatus;
      keys.a = assignTicket;
    }
    return keys;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (typingIn(event.target) || (help() && help().open)) return;
    // Enter on a link or button is that control's own.
    if (event.key === "Enter" && event.target.closest && event.target.closest("a, button, summary")) return;
    var keys = keymap();
    var action = Object.prototype.hasOwnProperty.call(keys, event.key) ? keys[event.key] : null;
    // A key that did something is not also typed into the field it focused.
    if (action && action() !== false) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-shortcuts-open]")) showHelp();
  });

  // "Assign to me" reloads the ticket page: a click or "a" asks before dropping a draft.
  document.addEventListener("submit", function (event) {
    if (event.target.matches("form.assign-to-me") && hasDraft() && !window.confirm(DRAFT_WARNING)) {
      event.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var saved = sessionStorage.getItem(ROW_KEY);
    sessionStorage.removeItem(ROW_KEY);
    var row = saved === null ? null : rows()[Number(saved)];
    if (row) highlight(row);
  });
})();
