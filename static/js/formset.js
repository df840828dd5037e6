/* Django formsets edited in place, no reload: add a blank form, remove one, move one.
 *
 * A <form data-formset> holds the forms in [data-formset-forms] and a blank one in
 * <template data-formset-empty> (Django's empty_form, its __prefix__ standing for the form's
 * index); TOTAL_FORMS counts each added form in. [data-formset-add] adds one. Inside a form's
 * fieldset, [data-formset-remove] ticks its DELETE box and hides it, [data-formset-up] and
 * [data-formset-down] move it and renumber the ORDER fields to match the page. Without
 * JavaScript these buttons stay hidden: each save brings a new blank form, and the DELETE
 * boxes and ORDER numbers do the rest.
 */
(function () {
  "use strict";

  function renumber(container) {
    var position = 1;
    container.querySelectorAll("fieldset").forEach(function (fieldset) {
      var order = fieldset.querySelector("input[name$='-ORDER']");
      if (order && !fieldset.hidden) order.value = String(position++);
    });
  }

  function wire(fieldset, container, status) {
    fieldset.querySelectorAll("[data-formset-remove], [data-formset-up], [data-formset-down]").forEach(function (button) {
      button.hidden = false;
    });
    fieldset.querySelectorAll("[data-formset-no-script]").forEach(function (part) {
      part.hidden = true;
    });
    fieldset.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button || !fieldset.contains(button)) return;
      if (button.hasAttribute("data-formset-remove")) {
        var box = fieldset.querySelector("input[name$='-DELETE']");
        if (box) box.checked = true;
        fieldset.hidden = true;
        if (status) status.textContent = button.getAttribute("data-done") || "";
      } else if (button.hasAttribute("data-formset-up")) {
        var previous = fieldset.previousElementSibling;
        while (previous && previous.hidden) previous = previous.previousElementSibling;
        if (previous) container.insertBefore(fieldset, previous);
        button.focus();
      } else if (button.hasAttribute("data-formset-down")) {
        var next = fieldset.nextElementSibling;
        while (next && next.hidden) next = next.nextElementSibling;
        if (next) container.insertBefore(next, fieldset);
        button.focus();
      } else {
        return;
      }
      renumber(container);
    });
  }

  document.querySelectorAll("form[data-formset]").forEach(function (form) {
    var container = form.querySelector("[data-formset-forms]");
    var template = form.querySelector("template[data-formset-empty]");
    var button = form.querySelector("[data-formset-add]");
    var status = form.querySelector("[data-formset-status]");
    if (!container || !template || !button) return;
    var total = form.querySelector("input[name$=TOTAL_FORMS]");
    var max = form.querySelector("input[name$=MAX_NUM_FORMS]");

    container.querySelectorAll(":scope > fieldset").forEach(function (fieldset) {
      wire(fieldset, container, status);
    });
    renumber(container);
    button.hidden = false;
    button.addEventListener("click", function () {
      var index = Number(total.value);
      if (max && index >= Number(max.value)) return;
      var holder = document.createElement("div");
      holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
      var fieldset = holder.firstElementChild;
      container.appendChild(fieldset);
      total.value = String(index + 1);
      wire(fieldset, container, status);
      renumber(container);
      var first = fieldset.querySelector("textarea, input:not([type=hidden]), select");
      if (first) first.focus();
    });
  });
})();
