// The live ticket list: polls live/ with the list's own query string and a watermark, and puts
// what changed into the page without a reload. Changed rows are updated in place, new ones are
// added at the top (with a "N new tickets" notice), rows that left the list are dimmed. Checked
// rows keep their checkboxes, added rows are selected and counted like the others, and the row
// under the agent's eye stays where it was. An empty list (no table to add rows to) reloads when
// a ticket arrives, or offers to when the agent is typing.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var table = document.getElementById("result_list");
  var form = document.getElementById("changelist-form");
  if (!form) return;
  var empty = !table || !table.tBodies.length;
  var body = empty ? null : table.tBodies[0];
  var endpoint = location.pathname.replace(/\/?$/, "/") + "live/";
  var cursor = null;
  var delay = 5000;
  var failures = 0;
  var fresh = 0;
  var seen = {};  // ticket id -> the updated_at last applied

  var notice = document.createElement("button");
  notice.type = "button";
  notice.className = "live-notice";
  notice.setAttribute("aria-live", "polite");
  notice.hidden = true;
  form.parentNode.insertBefore(notice, form);
  notice.addEventListener("click", function () {
    if (empty) return location.reload();
    fresh = 0;
    notice.hidden = true;
    table.scrollIntoView({block: "start"});
  });

  // Django's actions.js counts, and checks with "select all", the checkboxes the page was served
  // with: it keeps that list. So after its handlers (on the table body and the toggle; this one
  // is on the form around them) the selection is redone over every row, added ones included.
  var counter = form.querySelector("span.action-counter");
  var toggle = document.getElementById("action-toggle");

  function selectAll(on) {
    body.querySelectorAll("input.action-select").forEach(function (box) {
      box.checked = on;
      box.closest("tr").classList.toggle("selected", on);
    });
  }

  function recount() {
    if (!counter || !toggle) return;
    var boxes = body.querySelectorAll("input.action-select");
    var selected = body.querySelectorAll("input.action-select:checked").length;
    counter.dataset.actionsIcnt = boxes.length;
    counter.textContent = interpolate(
      ngettext("%(sel)s of %(cnt)s selected", "%(sel)s of %(cnt)s selected", selected),
      {sel: selected, cnt: boxes.length}, true);
    toggle.checked = selected === boxes.length;
    if (toggle.checked) return;
    // Not all selected, although actions.js may have seen all of its own rows checked: no
    // offer to select across pages (as its clearAcross).
    form.querySelectorAll("div.actions span.all, div.actions span.question, div.actions span.clear")
      .forEach(function (span) { span.classList.add("hidden"); });
    counter.classList.remove("hidden");
    form.querySelectorAll("div.actions input.select-across").forEach(function (input) { input.value = 0; });
    form.querySelector("div.actions").classList.remove("selected");
  }

  if (!empty) {
    form.addEventListener("change", function (event) {
      if (event.target.classList.contains("action-select")) recount();
    });
    form.addEventListener("click", function (event) {
      if (event.target === toggle) {
        selectAll(toggle.checked);
      } else if (event.target.closest("div.actions span.clear a")) {
        selectAll(false);
      } else {
        return;
      }
      recount();
    });
  }

  function rowId(row) {
    var box = row.querySelector("input.action-select");
    if (box) return box.value;
    var link = row.querySelector("a[href]");
    var match = link && link.getAttribute("href").match(/(\d+)\/change\/$/);
    return match ? match[1] : null;
  }

  function rowsById() {
    var rows = {};
    Array.prototype.forEach.call(body.rows, function (row) {
      var id = rowId(row);
      if (id) rows[id] = row;
    });
    return rows;
  }

  // The first row still visible at the top of the window, and where it is now.
  function anchor() {
    var rows = body.rows;
    for (var i = 0; i < rows.length; i++) {
      var top = rows[i].getBoundingClientRect().top;
      if (top >= 0) return {row: rows[i], top: top};
    }
    return null;
  }

  function flash(row, name) {
    row.classList.remove("live-changed", "live-removed");
    row.removeAttribute("title");
    if (name) row.classList.add(name);
  }

  function text(row) {
    return row.textContent.replace(/\s+/g, " ");
  }

  function update(row, incoming) {
    var same = text(row) === text(incoming);
    if (same && !row.classList.contains("live-removed")) return;
    Array.prototype.forEach.call(incoming.cells, function (cell, i) {
      var old = row.cells[i];
      // The checkbox cell stays: admin's actions.js holds it, and it keeps the agent's choice.
      if (!old || old.querySelector("input.action-select")) return;
      old.replaceWith(cell.cloneNode(true));
    });
    flash(row, same ? null : "live-changed");  // back in the list, maybe unchanged
  }

  function apply(data) {
    var template = document.createElement("template");
    template.innerHTML = data.rows;
    var incoming = template.content.querySelectorAll("tbody tr");
    var rows = rowsById();
    var keep = window.scrollY > 0 ? anchor() : null;
    var added = [];
    data.changed.forEach(function (change, i) {
      var id = String(change.id);
      var row = incoming[i];
      if (!row || seen[id] === change.updated_at) return;
      seen[id] = change.updated_at;
      if (rows[id]) {
        update(rows[id], row);
      } else {
        row.classList.add("live-new");
        added.push(row);
      }
    });
    // Newest change first in the answer: add the oldest first so the newest ends on top.
    added.reverse().forEach(function (row) { body.insertBefore(row, body.firstChild); });
    // With "Select all N" taken, the action applies to the whole list, added tickets included.
    var across = form.querySelector("div.actions input.select-across");
    if (added.length && !(across && across.value === "1")) recount();
    data.removed.forEach(function (id) {
      var row = rows[String(id)];
      if (row && !row.classList.contains("live-removed")) {
        flash(row, "live-removed");
        row.title = "No longer in this list";
      }
      delete seen[String(id)];
    });
    if (keep) window.scrollBy(0, keep.row.getBoundingClientRect().top - keep.top);
    fresh += added.length;
    if (data.truncated) {
      notice.textContent = "Many tickets changed: reload to see them all";
      notice.hidden = false;
    } else if (fresh) {
      notice.textContent = fresh === 1 ? "1 new ticket" : fresh + " new tickets";
      notice.hidden = false;
    }
  }

  // The empty list has no rows to update: what arrives is shown by a reload, unless that would
  // throw away what the agent is typing.
  function arrived(data) {
    if (!data.changed.length) return;
    var active = document.activeElement;
    if (!active || !/^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return location.reload();
    var count = data.changed.length;
    notice.textContent = (count === 1 ? "1 new ticket" : count + " new tickets") + ": show";
    notice.hidden = false;
  }

  function poll() {
    if (document.hidden) return schedule();
    var query = new URLSearchParams(location.search);
    if (cursor) query.set("since", cursor);
    fetch(endpoint + "?" + query.toString(), {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (!response.ok || !json) throw new Error("live list: " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (cursor) (empty ? arrived : apply)(data);
        cursor = data.cursor;
        delay = data.interval * 1000;
        failures = 0;
      })
      .catch(function () { failures = Math.min(failures + 1, 4); })
      .then(schedule);
  }

  function schedule() {
    window.setTimeout(poll, delay * Math.pow(2, failures));  // back off while the server fails
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && cursor) poll();
  });
  poll();
});
