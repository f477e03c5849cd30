/* The global search's keyboard shortcut: "/" anywhere on a page (outside a field) puts the
 * cursor in the header's search box, as in most web apps with a search. Esc in the box leaves it.
 * The box is a plain GET form: without this script it still works, by Tab or click.
 */
(function () {
  "use strict";

  function typingIn(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("global-q");
    if (!box) return;
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !typingIn(event.target)) {
      event.preventDefault();
      box.focus();
      box.select();
    } else if (event.key === "Escape" && event.target === box) {
      box.blur();
    }
  });
})();
