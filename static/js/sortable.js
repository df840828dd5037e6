/*
 * Reordering of CMS lists: native HTML5 drag and drop, plus move-up/move-down buttons for the
 * keyboard. Markup: <ol class="sortable" data-order-url="..." data-status="<id of a live region>"
 * data-saved="<id of a visible badge>">
 * with <li data-id="..."> children holding .move-up and .move-down buttons. After each move the
 * list's new order is POSTed as JSON {"<id>": position}; a failed save puts the list back.
 */
(function () {
  "use strict";

  // The page's translations (/jsi18n/, loaded first by base.html); English if it failed to load.
  var gettext = window.gettext || function (text) { return text; };

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) {
      return input.value;
    }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function items(list) {
    return Array.prototype.filter.call(list.children, function (child) {
      return child.hasAttribute("data-id");
    });
  }

  var savedTimer = null;

  /* The live region tells screen readers; data-saved names a visible badge for everyone else
   * ("Saved", or the failure, which stays until the next move). */
  function announce(list, text, saved) {
    var status = document.getElementById(list.getAttribute("data-status"));
    if (status) {
      status.textContent = text;
    }
    var badge = document.getElementById(list.getAttribute("data-saved"));
    if (badge) {
      clearTimeout(savedTimer);
      badge.textContent = saved ? gettext("Saved") : gettext("Not saved");
      badge.classList.toggle("failed", !saved);
      badge.hidden = false;
      if (saved) {
        savedTimer = setTimeout(function () { badge.hidden = true; }, 4000);
      }
    }
  }

  function save(list, previous) {
    var orders = {};
    items(list).forEach(function (item, position) {
      orders[item.getAttribute("data-id")] = position;
    });
    return fetch(list.getAttribute("data-order-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": csrfToken(),
        "X-Requested-With": "XMLHttpRequest"
      },
      body: JSON.stringify(orders)
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      list.classList.remove("order-error");
      announce(list, gettext("New order saved."), true);
    }).catch(function () {
      previous.forEach(function (item) {
        list.appendChild(item);
      });
      list.classList.add("order-error");
      announce(list, gettext("The new order could not be saved; the list is back as it was."), false);
    });
  }

  function setUp(list) {
    var dragged = null;
    var before = null;

    list.addEventListener("dragstart", function (event) {
      var item = event.target.closest && event.target.closest("li[data-id]");
      if (!item || item.parentNode !== list) {
        return;
      }
      dragged = item;
      before = items(list);
      item.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      // Firefox starts no drag without data.
      event.dataTransfer.setData("text/plain", item.getAttribute("data-id"));
    });

    list.addEventListener("dragover", function (event) {
      if (!dragged) {
        return;
      }
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      var target = event.target.closest && event.target.closest("li[data-id]");
      if (!target || target === dragged || target.parentNode !== list) {
        return;
      }
      var box = target.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? target.nextSibling : target);
    });

    list.addEventListener("drop", function (event) {
      if (dragged) {
        event.preventDefault();
      }
    });

    list.addEventListener("dragend", function () {
      if (!dragged) {
        return;
      }
      dragged.classList.remove("dragging");
      var moved = items(list).some(function (item, position) {
        return item !== before[position];
      });
      var previous = before;
      dragged = null;
      before = null;
      if (moved) {
        save(list, previous);
      }
    });

    list.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest(".move-up, .move-down");
      if (!button) {
        return;
      }
      var item = button.closest("li[data-id]");
      if (!item || item.parentNode !== list) {
        return;
      }
      var previous = items(list);
      var up = button.classList.contains("move-up");
      var sibling = up ? item.previousElementSibling : item.nextElementSibling;
      if (!sibling) {
        return;
      }
      list.insertBefore(item, up ? sibling : sibling.nextSibling);
      // Moving the node keeps the button; give focus back so arrows can be pressed again.
      button.focus();
      save(list, previous);
    });
  }

  document.querySelectorAll("ol.sortable[data-order-url]").forEach(setUp);
})();
