/* The board's drag and drop: native HTML5 drag events, no library.
 *
 * Dropping a card on another column posts the card's own move form (CSRF token, version and
 * the board's filters included) with the new stage, through htmx. The server answers with the
 * whole board when the move went through (totals refreshed), or with just the card, carrying
 * the refusal, when it did not: then the card goes back where it came from. Keyboard and no-JS
 * users use the same form directly. Listeners sit on the document, so they survive htmx swaps.
 */
(function () {
  "use strict";

  var dragged = null;
  var homes = {}; // card id -> {parent, next}: where a card in flight goes back to if refused

  function dropList(target) {
    var list = target && target.closest ? target.closest("ol.cards[data-drop]") : null;
    return list;
  }

  function clearHighlights() {
    document.querySelectorAll("ol.cards.drop-here").forEach(function (el) {
      el.classList.remove("drop-here");
    });
  }

  function goHome(card, home) {
    if (home && home.parent && home.parent.isConnected) {
      home.parent.insertBefore(card, home.next && home.next.parentNode === home.parent ? home.next : null);
    }
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest ? event.target.closest("li.board-card[draggable=true]") : null;
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.opp);
    card.classList.add("dragging");
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    clearHighlights();
  });

  document.addEventListener("dragover", function (event) {
    var list = dropList(event.target);
    if (!dragged || !list) return;
    event.preventDefault(); // allows the drop
    event.dataTransfer.dropEffect = "move";
    if (!list.classList.contains("drop-here")) {
      clearHighlights();
      list.classList.add("drop-here");
    }
  });

  document.addEventListener("drop", function (event) {
    var list = dropList(event.target);
    var card = dragged;
    if (!card || !list) return;
    event.preventDefault();
    clearHighlights();
    card.classList.remove("dragging");
    dragged = null;
    if (list.dataset.stage === card.dataset.stage) return;
    var form = card.querySelector("form.card-move");
    if (!form) return;

    var values = {};
    new FormData(form).forEach(function (value, name) {
      values[name] = value;
    });
    values.to_stage = list.dataset.stage;

    // Show the card where it was dropped while the server decides.
    homes[card.id] = { parent: card.parentNode, next: card.nextElementSibling };
    var home = homes[card.id];
    list.insertBefore(card, list.querySelector(":scope > li.more"));
    card.classList.add("pending");
    card.setAttribute("aria-busy", "true");

    var failed = function () {
      // Nothing was swapped in (network error, 4xx/5xx): put the card back and say so.
      var current = document.getElementById(card.id);
      if (current !== card) return;
      delete homes[card.id];
      card.classList.remove("pending");
      card.removeAttribute("aria-busy");
      goHome(card, home);
      var note = card.querySelector(".card-error") || document.createElement("p");
      note.className = "card-error";
      note.setAttribute("role", "alert");
      note.textContent = "The move could not be saved; try again.";
      if (!note.parentNode) card.appendChild(note);
    };
    htmx
      .ajax("POST", form.getAttribute("action"), { values: values, target: card, swap: "outerHTML" })
      .then(failed, failed);
  });

  // A refused move comes back as the card, swapped in where it was dropped: send it home.
  document.addEventListener("htmx:load", function (event) {
    var el = event.detail && event.detail.elt;
    if (!el || !el.classList || !el.classList.contains("board-card")) return;
    var home = homes[el.id];
    if (!home) return;
    delete homes[el.id];
    if (el.classList.contains("refused")) goHome(el, home);
  });

  // Phones: one column at a time, picked with the stage switcher. The choice survives the board
  // being swapped in again (a filter, a move) for as long as the tab is open.
  var SHOWN_KEY = "lockstep.board.stage";

  function showColumn(id) {
    var column = id && document.getElementById(id);
    if (!column || !column.classList.contains("board-col")) return false;
    document.querySelectorAll(".board-col.shown").forEach(function (el) {
      el.classList.remove("shown");
    });
    column.classList.add("shown");
    var picker = document.querySelector("[data-stage-switch]");
    if (picker) picker.value = id;
    return true;
  }

  document.addEventListener("change", function (event) {
    if (!event.target.matches || !event.target.matches("[data-stage-switch]")) return;
    if (showColumn(event.target.value)) {
      try { sessionStorage.setItem(SHOWN_KEY, event.target.value); } catch (e) { /* private mode */ }
    }
  });

  function restore() {
    var id = null;
    try { id = sessionStorage.getItem(SHOWN_KEY); } catch (e) { /* private mode */ }
    showColumn(id);
  }
  document.addEventListener("htmx:load", function (event) {
    var el = event.detail && event.detail.elt;
    if (el && el.id === "board") restore();
  });
  restore();
})();
