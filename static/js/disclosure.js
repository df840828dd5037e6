/*
 * Disclosure buttons: the header's menu button and the chat room's online-list button.
 * Markup: <button class="disclosure" aria-controls="<id>" aria-expanded="false" hidden>; the
 * controlled element gets .is-collapsible and, while closed, .is-collapsed, which the stylesheet
 * hides only on narrow screens. Without this script the buttons stay hidden and the content
 * shows. Escape closes an open panel and returns focus to its button.
 */
(function () {
  "use strict";

  function setOpen(button, panel, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    panel.classList.toggle("is-collapsed", !open);
  }

  Array.prototype.forEach.call(document.querySelectorAll("button.disclosure"), function (button) {
    var panel = document.getElementById(button.getAttribute("aria-controls"));
    if (!panel) return;
    panel.classList.add("is-collapsible");
    setOpen(button, panel, false);
    button.hidden = false;

    button.addEventListener("click", function () {
      setOpen(button, panel, button.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || button.getAttribute("aria-expanded") !== "true") return;
      if (!panel.contains(document.activeElement) && document.activeElement !== button) return;
      setOpen(button, panel, false);
      button.focus();
    });
  });
})();
