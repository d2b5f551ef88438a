// Presence on the ticket page: a heartbeat to <id>/presence/ says this agent is viewing or
// typing, and the answer says who else is ("Erik is typing a reply"). Leaving the page says
// "gone" at once (sendBeacon); a closed laptop drops out when its last beat expires.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var match = location.pathname.match(/^(.*\/)([^/]+)\/change\/$/);
  var form = document.getElementById("ticket_form");  // the admin's change form
  var token = form && form.querySelector("input[name=csrfmiddlewaretoken]");
  if (!match || !token) return;
  var endpoint = match[1] + match[2] + "/presence/";
  var TYPING_MS = 10000;  // a reply counts as being typed this long after the last keystroke
  var typingUntil = 0;
  var delay = 10000;
  var timer = null;

  var box = document.createElement("p");
  box.className = "presence";
  box.setAttribute("role", "status");
  box.setAttribute("aria-live", "polite");
  box.hidden = true;
  form.parentNode.insertBefore(box, form);

  function payload(state) {
    var data = new FormData();
    data.append("csrfmiddlewaretoken", token.value);
    data.append("state", state);
    return data;
  }

  function show(data) {
    if (!data) return;
    var texts = data.others.map(function (other) { return other.text; });
    box.textContent = texts.join(" · ");
    box.hidden = texts.length === 0;
    delay = data.interval * 1000;
  }

  function beat() {
    window.clearTimeout(timer);
    var state = Date.now() < typingUntil ? "typing" : "viewing";
    fetch(endpoint, {method: "POST", body: payload(state), credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(show)
      .catch(function () {})  // presence is a courtesy: say nothing when it is unavailable
      .then(function () { timer = window.setTimeout(beat, delay); });
  }

  form.addEventListener("input", function (event) {
    var id = event.target.id;
    if (id !== "id_reply" && id !== "id_note") return;
    var wasTyping = Date.now() < typingUntil;
    typingUntil = Date.now() + TYPING_MS;
    if (!wasTyping) beat();
  });

  window.addEventListener("pagehide", function () {
    window.clearTimeout(timer);
    navigator.sendBeacon(endpoint, payload("gone"));
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) beat();  // back from the back/forward cache
  });
  beat();
});
