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
