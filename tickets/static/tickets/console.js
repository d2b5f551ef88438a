// Canned replies: choosing one inserts its text (placeholders already filled) into the reply box.
document.addEventListener("DOMContentLoaded", function () {
  var canned = document.querySelector(".canned");
  var replyRow = document.querySelector(".field-reply");
  if (canned && replyRow) replyRow.appendChild(canned);  // show the picker next to the reply box
});

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

// The send buttons sit under the reply box; with "Internal note" ticked the box reads as a note.
document.addEventListener("DOMContentLoaded", function () {
  var bar = document.querySelector(".send-bar");
  var filesRow = document.querySelector(".field-reply_files");
  if (bar && filesRow) filesRow.after(bar);
  var internal = document.getElementById("id_internal");
  var reply = document.getElementById("id_reply");
  if (!internal || !reply) return;
  var show = function () { reply.classList.toggle("as-note", internal.checked); };
  internal.addEventListener("change", show);
  show();
});
