/* The quiz page: each question shows only the fields its kind uses.
 *
 * A field's paragraph names the kinds it applies to (data-kinds, from courses.forms); the
 * others are hidden while another kind is chosen. Without JavaScript every field shows, each
 * with a help text saying which kind it is for.
 */
(function () {
  "use strict";

  var form = document.getElementById("quiz-form");
  if (!form) return;

  function apply(fieldset) {
    var select = fieldset.querySelector("select[name$='-kind']");
    if (!select) return;
    fieldset.querySelectorAll("[data-kinds]").forEach(function (part) {
      part.hidden = part.getAttribute("data-kinds").split(" ").indexOf(select.value) < 0;
    });
  }

  form.querySelectorAll("fieldset.question-form").forEach(apply);
  form.addEventListener("change", function (event) {
    if (event.target.matches("select[name$='-kind']")) {
      apply(event.target.closest("fieldset"));
    }
  });
  // Questions added in place (formset.js) start with the fields of their first kind.
  var container = form.querySelector("[data-formset-forms]");
  if (container && window.MutationObserver) {
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        change.addedNodes.forEach(function (node) {
          if (node.matches && node.matches("fieldset.question-form")) apply(node);
        });
      });
    }).observe(container, { childList: true });
  }
})();
