// Canned replies: choosing one inserts its text (placeholders already filled) into the reply box.
document.addEventListener("change", function (event) {
  var select = event.target;
  if (select.id !== "canned-reply" || !select.value) return;
  var option = select.options[select.selectedIndex];
  var box = document.getElementById(select.dataset.target);
  if (!box) return;
  box.value = box.value ? box.value + "\n\n" + option.dataset.text : option.dataset.text;
  box.focus();
  select.value = "";
});

// Under the reply box: the send buttons, macros and canned replies (reply_actions.html);
// with "Internal note" ticked the box reads as a note.
document.addEventListener("DOMContentLoaded", function () {
  var actions = document.querySelector(".reply-actions");
  var filesRow = document.querySelector(".field-reply_files");
  if (actions && filesRow) filesRow.after(actions);
  var internal = document.getElementById("id_internal");
  var reply = document.getElementById("id_reply");
  if (!internal || !reply) return;
  var show = function () { reply.classList.toggle("as-note", internal.checked); };
  internal.addEventListener("change", show);
  show();
});

// Shortcuts: "::name" followed by a space (or a new line) in the reply box becomes the text of
// the canned reply or macro named "name" (the page's #reply-shortcuts JSON). A macro's field
// changes are then applied when the page is saved (#id_macro_on_send), unless dismissed.
document.addEventListener("DOMContentLoaded", function () {
  var data = document.getElementById("reply-shortcuts");
  var reply = document.getElementById("id_reply");
  var armed = document.getElementById("id_macro_on_send");
  var chip = document.querySelector(".armed-macro");
  if (!data || !reply) return;
  var shortcuts = JSON.parse(data.textContent);
  var arm = function (entry) {
    if (!armed || !chip) return;
    armed.value = entry ? entry.macro : "";
    chip.hidden = !entry;
    if (entry) chip.querySelector("span").textContent =
      "Macro “" + entry.name + "” applies when you send: " + entry.summary + ".";
  };
  if (chip) chip.querySelector(".disarm").addEventListener("click", function () { arm(null); });
  reply.addEventListener("input", function () {
    var caret = reply.selectionStart;
    var before = reply.value.slice(0, caret);
    var typed = /(^|\s)::([A-Za-z0-9_-]+)\s$/.exec(before);
    if (!typed) return;
    var entry = shortcuts[typed[2].toLowerCase()];
    if (entry === undefined) return;
    var start = caret - typed[0].length + typed[1].length;
    reply.value = reply.value.slice(0, start) + entry.text + reply.value.slice(caret);
    reply.selectionStart = reply.selectionEnd = start + entry.text.length;
    if (entry.macro) {
      arm(entry);
      var internal = document.getElementById("id_internal");
      if (internal && entry.internal && !internal.checked) internal.click();
    }
  });
});

// A macro sends its own text: with something written in the reply or note box, it is not
// applied (the page would reload and lose what was written).
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest(".macro-button") : null;
  if (!button) return;
  var written = ["id_reply", "id_note"].some(function (id) {
    var box = document.getElementById(id);
    return box && box.value.trim();
  });
  var refused = document.querySelector(".macro-refused");
  if (refused) refused.hidden = !written;
  if (written) event.preventDefault();
});
