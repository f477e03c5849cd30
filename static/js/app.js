/* Lockstep's page behaviour: htmx error responses, keyboard focus after swaps, the phone menu.
 *
 * Loaded on every page from templates/base.html (after htmx). Everything here is an enhancement:
 * without JavaScript forms post normally and static/css/nojs.css lays the page out.
 * The rules are documented in static/js/README.md ("Focus after htmx swaps").
 */
(function () {
  "use strict";

  // --- htmx: swap validation answers ------------------------------------------------------------
  // htmx 2 drops every 4xx/5xx response by default, so a refused form (400), an edit conflict
  // (409) or a refused action (422) would leave the old content on screen with the message lost.
  // Those three carry the form with its errors and are swapped like a 200; other errors are not.
  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "^(400|409|422)$", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
      { code: "...", swap: false },
    ];
  }

  var FIELDS = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";
  var FOCUSABLE = FIELDS + ", button:not([disabled]), a[href], summary, [tabindex]";
  var ERRORS = ".has-error, [aria-invalid=true], .form-errors, .error, .msg-error, .card-error, .conflict";

  function focusOn(el) {
    if (!el) return false;
    if (!el.matches(FOCUSABLE)) el.setAttribute("tabindex", "-1");
    // Closed <details> and disclosures hide their content: open every one on the way.
    for (var d = el.parentElement; d; d = d.parentElement) {
      if (d.tagName === "DETAILS" && !d.open) d.open = true;
      if (d.classList.contains("disclosure") && !d.classList.contains("open")) setDisclosure(d, true);
    }
    el.focus({ preventScroll: false });
    return document.activeElement === el;
  }

  // The first error, in document order, inside any of `scopes`: its field when the error
  // belongs to one, else the message itself.
  function firstError(scopes) {
    var best = null;
    scopes.forEach(function (scope) {
      if (!scope || !scope.isConnected) return;
      var err = scope.matches(ERRORS) ? scope : scope.querySelector(ERRORS);
      if (err && (!best || best.compareDocumentPosition(err) & Node.DOCUMENT_POSITION_PRECEDING)) best = err;
    });
    if (!best) return null;
    var field = best.matches(FIELDS) ? best : best.matches(".has-error") ? best.querySelector(FIELDS) : null;
    return field || best;
  }

  function firstField(container) {
    if (!container) return null;
    if (container.matches(FOCUSABLE)) return container;
    // Fields inside closed <details> count too: focusOn opens them.
    return container.querySelector(FIELDS) || container.querySelector(FOCUSABLE);
  }

  // --- focus after htmx swaps ---------------------------------------------------------------------
  // Per request (keyed by its XMLHttpRequest: several can be in flight, a filter form queues
  // them): who asked, what had focus just before the swap, what was swapped out of band.
  var requests = new WeakMap();
  var swapping = null; // the request whose response is being swapped in right now

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.xhr) requests.set(event.detail.xhr, { activeId: "", elt: event.detail.elt, swapped: [] });
  });

  // What has focus just before the swap (not when the request left: Tab may have moved on since).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var info = event.detail.xhr && requests.get(event.detail.xhr);
    if (!info) return;
    var active = document.activeElement;
    info.activeId = active && active !== document.body ? active.id : "";
    swapping = info;
  });

  // Content swapped in out of band (the messages, a form) is news too. Out-of-band swaps happen
  // synchronously inside the response's swap, so `swapping` is their request.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var id = event.detail.target && event.detail.target.id;
    if (swapping && id && swapping.swapped.indexOf(id) < 0) swapping.swapped.push(id);
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var info = event.detail.xhr && requests.get(event.detail.xhr);
    if (!info || info.done) return; // settle fires once per swapped element: handle the first
    info.done = true;
    if (swapping === info) swapping = null;
    var target = event.detail.target;
    if (target && !target.isConnected && target.id) target = document.getElementById(target.id);
    // An outerHTML swap of an element without an id ("Load more" replaced by the next cards):
    // the first new element, which the settle event was dispatched on, stands for it.
    if ((!target || !target.isConnected) && event.target instanceof Element && event.target.isConnected) {
      target = event.target;
    }
    var status = event.detail.xhr ? event.detail.xhr.status : 200;
    if (status < 400) clearStaleErrors(info.elt);
    // 1. A refused or invalid submit: the first error in what this response swapped in.
    var scopes = [target].concat(info.swapped.map(function (id) { return document.getElementById(id); }));
    var error = firstError(scopes);
    if (error && focusOn(error)) return;
    // 2. The element that asked names where focus goes: data-focus-after="#selector".
    var asker = info.elt && info.elt.closest ? info.elt.closest("[data-focus-after]") : null;
    var wanted = asker ? document.querySelector(asker.getAttribute("data-focus-after")) : null;
    if (wanted && focusOn(wanted.matches(FOCUSABLE) ? wanted : firstField(wanted) || wanted)) return;
    // 3. Focus is still somewhere in the page (a search box that was not swapped): leave it.
    var active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    // 4. The element that had focus was replaced: its successor with the same id (a ticked
    //    milestone's button keeps its id), else the swapped content itself. Never <body>.
    if (info.activeId && focusOn(document.getElementById(info.activeId))) return;
    if (target && target.isConnected) focusOn(target);
  });

  // A filter form that stays on the page while its results are swapped (the changes page) got its
  // errors out of band from a refused request; the next accepted request clears them, so the
  // form never shows an error that no longer holds. (The server sends the form back only with
  // errors: sending it every time would overwrite what the user is typing.)
  function clearStaleErrors(elt) {
    var form = elt && elt.closest ? elt.closest("form") : null;
    if (!form || !form.isConnected) return;
    form.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    form.querySelectorAll("p.error").forEach(function (el) { el.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  // --- links to a section land in its first field ---------------------------------------------------
  // "Set a next step" links to /deals/<id>/#next-step: the browser only scrolls, so focus the
  // section's first field (opening its disclosure) when the section asks for it with data-focus-first.
  function focusHash() {
    if (!location.hash || location.hash.length < 2) return;
    var el = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!el) return;
    if (el.hasAttribute("data-focus-first")) focusOn(firstField(el));
    else if (el.matches(FOCUSABLE)) focusOn(el);
  }
  window.addEventListener("hashchange", focusHash);
  // After "load": the browser's own scroll to the fragment comes after the scripts and would
  // otherwise reset the focus.
  if (document.readyState === "complete") focusHash();
  else window.addEventListener("load", function () { setTimeout(focusHash, 0); });

  // --- disclosures: a real button (role and name for assistive tech) that shows a form -------------
  // <div class="disclosure"><button class="disclosure-toggle" aria-expanded aria-controls>…</button>
  // <div class="disclosure-body" id>…</div></div>. Without JavaScript nojs.css shows every body.
  function setDisclosure(box, open) {
    box.classList.toggle("open", open);
    var button = box.querySelector(".disclosure-toggle");
    if (button) button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".disclosure-toggle") : null;
    if (!button) return;
    var box = button.closest(".disclosure");
    var open = !box.classList.contains("open");
    setDisclosure(box, open);
    if (open) {
      var field = firstField(document.getElementById(button.getAttribute("aria-controls")));
      if (field) field.focus();
    }
  });

  // --- boxes that scroll sideways are reachable by keyboard ----------------------------------------
  // A table or chart wider than a phone scrolls inside its own box; a keyboard user scrolls it
  // with the arrow keys once it has focus, so a box that actually overflows gets tabindex="0"
  // (and loses it again when the window grows and it no longer scrolls).
  var SCROLLERS = "table.list, .dash-numbers, .dash-chart, .board, .sub-nav ul, .stage-path ol";
  function markScrollables() {
    document.querySelectorAll(SCROLLERS).forEach(function (el) {
      var scrolls = el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible";
      if (scrolls && !el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
        el.setAttribute("data-scroll-focus", "");
      } else if (!scrolls && el.hasAttribute("data-scroll-focus")) {
        el.removeAttribute("tabindex");
        el.removeAttribute("data-scroll-focus");
      }
    });
  }
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(markScrollables, 100);
  });
  document.addEventListener("htmx:afterSettle", markScrollables);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", markScrollables);
  else markScrollables();

  // --- the phone menu -------------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-menu-toggle]") : null;
    if (!button) return;
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    if (menu) menu.classList.toggle("open", open);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var button = document.querySelector("[data-menu-toggle][aria-expanded=true]");
    if (!button) return;
    button.setAttribute("aria-expanded", "false");
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    if (menu) menu.classList.remove("open");
    button.focus();
  });
})();
