/* "Add another module": a blank form of the module formset added in place, no reload.
 *
 * The blank form comes from <template id="module-empty-form"> (Django's empty_form, its
 * __prefix__ standing for the form's index); TOTAL_FORMS counts it in. Without JavaScript the
 * button stays hidden and each save brings a new blank form instead.
 */
(function () {
  "use strict";

  var form = document.getElementById("module-formset");
  var button = document.getElementById("add-module");
  var template = document.getElementById("module-empty-form");
  if (!form || !button || !template) return;
  var total = form.querySelector("input[name$=TOTAL_FORMS]");
  var max = form.querySelector("input[name$=MAX_NUM_FORMS]");
  var container = document.getElementById("module-forms");

  button.hidden = false;
  button.addEventListener("click", function () {
    var index = Number(total.value);
    if (max && index >= Number(max.value)) return;
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
    var fieldset = holder.firstElementChild;
    container.appendChild(fieldset);
    total.value = String(index + 1);
    var title = fieldset.querySelector("input[type=text], input:not([type=hidden])");
    if (title) title.focus();
  });
})();
