/* Confirmation before destructive actions, in an accessible <dialog> (not window.confirm).
 *
 * A form with data-confirm="Question?" (and optionally data-confirm-action="Leave") asks first;
 * without JavaScript it simply submits. Scripts call window.educaConfirm(question, action),
 * a Promise of true (go ahead) or false. The dialog is modal: focus moves into it (on Cancel,
 * the harmless choice), Escape cancels, and focus returns to what opened it.
 */
(function () {
  "use strict";

  // The page's translations (/jsi18n/, loaded first by base.html); English if it failed to load.
  var gettext = window.gettext || function (text) { return text; };

  var dialog = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-text");
    var text = document.createElement("p");
    text.id = "confirm-dialog-text";
    var buttons = document.createElement("form");
    buttons.method = "dialog";
    buttons.className = "confirm-dialog-buttons";
    var cancel = document.createElement("button");
    cancel.value = "cancel";
    cancel.className = "secondary";
    cancel.textContent = gettext("Cancel");
    var confirm = document.createElement("button");
    confirm.value = "confirm";
    confirm.className = "danger";
    buttons.appendChild(cancel);
    buttons.appendChild(confirm);
    dialog.appendChild(text);
    dialog.appendChild(buttons);
    document.body.appendChild(dialog);
  }

  window.educaConfirm = function (question, action) {
    if (!dialog) build();
    var opener = document.activeElement;
    dialog.querySelector("p").textContent = question;
    dialog.querySelector("button[value=confirm]").textContent = action || gettext("Delete");
    dialog.returnValue = "";
    return new Promise(function (resolve) {
      dialog.addEventListener("close", function () {
        if (opener && opener.focus) opener.focus();
        resolve(dialog.returnValue === "confirm");
      }, {once: true});
      dialog.showModal();
      dialog.querySelector("button[value=cancel]").focus();
    });
  };

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-confirm") || form.dataset.confirmed === "yes") return;
    event.preventDefault();
    window.educaConfirm(form.getAttribute("data-confirm"), form.getAttribute("data-confirm-action"))
      .then(function (confirmed) {
        if (!confirmed) return;
        form.dataset.confirmed = "yes";
        form.submit();
      });
  });
})();
