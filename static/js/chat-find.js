/* Chat room: completing @mentions from the room's members, and searching the room's messages.
 *
 * Completion is an ARIA combobox on the message box: typing @ and the start of a name lists the
 * members whose names start so; Up and Down choose, Enter or Tab completes, Escape closes. The
 * search asks GET /api/courses/<id>/messages/?search= and shows the results, whose excerpts are
 * HTML the server escaped and marked (the only HTML inserted here); choosing one shows it among
 * its neighbours: in the room's own list when it is loaded there, else around it from history.
 * Translated texts come from the template's data attributes.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("chat-config").textContent);
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var listbox = document.getElementById("chat-mention-list");
  var messages = document.getElementById("chat-messages");

  /* --- mentions ------------------------------------------------------------------------- */

  var SHOWN_MAX = 8;
  // What precedes the caret when completing: `@` at a word's start, then a partial name.
  var PARTIAL = /(^|[^\w.@+\-])@([\w.@+\-]*)$/;
  var names = (config.members || []).slice();
  if (config.instructorAlias) names.push(config.instructorAlias);
  var options = [];
  var active = -1;
  var partialStart = -1;

  function closeList() {
    listbox.hidden = true;
    listbox.textContent = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    options = [];
    active = -1;
  }

  function setActive(index) {
    active = index;
    options.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({block: "nearest"});
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function complete(index) {
    var name = options[index].dataset.name;
    var caret = input.selectionStart;
    var before = input.value.slice(0, partialStart) + "@" + name + " ";
    input.value = before + input.value.slice(caret);
    input.setSelectionRange(before.length, before.length);
    closeList();
    input.focus();
  }

  function update() {
    var caret = input.selectionStart;
    if (caret !== input.selectionEnd) { closeList(); return; }
    var match = PARTIAL.exec(input.value.slice(0, caret));
    if (!match) { closeList(); return; }
    var partial = match[2].toLowerCase();
    partialStart = caret - match[2].length - 1;
    var found = names.filter(function (name) {
      return name !== config.username && name.toLowerCase().indexOf(partial) === 0;
    }).slice(0, SHOWN_MAX);
    if (!found.length) { closeList(); return; }
    listbox.textContent = "";
    options = found.map(function (name, i) {
      var option = document.createElement("li");
      option.id = "chat-mention-" + i;
      option.setAttribute("role", "option");
      option.dataset.name = name;
      option.textContent = "@" + name;
      // mousedown, not click: the message box keeps the focus.
      option.addEventListener("mousedown", function (event) {
        event.preventDefault();
        complete(i);
      });
      listbox.appendChild(option);
      return option;
    });
    listbox.hidden = false;
    input.setAttribute("aria-expanded", "true");
    setActive(0);
  }

  // Capturing on the form: these keys are the list's while it is open, before chat.js sends
  // the message on Enter.
  form.addEventListener("keydown", function (event) {
    if (event.target !== input || listbox.hidden) return;
    var handled = true;
    if (event.key === "ArrowDown") setActive((active + 1) % options.length);
    else if (event.key === "ArrowUp") setActive((active - 1 + options.length) % options.length);
    else if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") complete(active);
    else if (event.key === "Escape") closeList();
    else handled = false;
    if (handled) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  input.addEventListener("input", update);
  input.addEventListener("click", update);
  input.addEventListener("blur", closeList);

  /* --- search --------------------------------------------------------------------------- */

  var searchForm = document.getElementById("chat-search");
  var searchInput = document.getElementById("chat-search-input");
  var panel = document.getElementById("chat-found");
  var status = document.getElementById("chat-found-status");
  var results = document.getElementById("chat-found-list");
  var texts = searchForm.dataset;
  var CONTEXT = 5;  // messages shown on each side of the one found

  function api(params) {
    var query = Object.keys(params).map(function (key) {
      return encodeURIComponent(key) + "=" + encodeURIComponent(params[key]);
    }).join("&");
    return fetch(texts.url + "?" + query, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      });
  }

  function localTime(iso) {
    var date = new Date(iso);
    return isNaN(date) ? iso : date.toLocaleString();
  }

  function header(frame) {
    var author = document.createElement("span");
    author.className = "chat-author";
    author.textContent = frame.user || texts.deletedUser;
    var time = document.createElement("time");
    time.setAttribute("datetime", frame.datetime);
    time.textContent = localTime(frame.datetime);
    return [author, document.createTextNode(" "), time];
  }

  function showPanel(text) {
    panel.hidden = false;
    status.textContent = text;
    results.textContent = "";
  }

  function closePanel() {
    panel.hidden = true;
    results.textContent = "";
    status.textContent = "";
  }

  /* The message in the room's own list, marked and in view; false when it is not loaded. */
  function showInRoom(seq) {
    var element = messages.querySelector('li.chat-message[data-seq="' + Number(seq) + '"]');
    if (!element) return false;
    Array.prototype.forEach.call(messages.querySelectorAll(".chat-found-here"), function (other) {
      other.classList.remove("chat-found-here");
      other.removeAttribute("tabindex");
    });
    element.classList.add("chat-found-here");
    element.setAttribute("tabindex", "-1");
    element.scrollIntoView({block: "center"});
    element.focus();
    return true;
  }

  /* The message among its neighbours, read from history, in the results panel. */
  function showAround(seq) {
    showPanel(texts.searching);
    return api({before: seq + CONTEXT + 1, limit: 2 * CONTEXT + 1}).then(function (page) {
      showPanel(texts.context);
      var found = null;
      page.messages.forEach(function (frame) {
        var item = document.createElement("li");
        item.className = "chat-message" + (frame.deleted ? " deleted" : "");
        header(frame).forEach(function (node) { item.appendChild(node); });
        var text = document.createElement("p");
        text.className = "chat-text";
        text.textContent = frame.deleted ? texts.deleted : frame.message;
        item.appendChild(text);
        if (frame.seq === seq) {
          item.classList.add("chat-found-here");
          item.setAttribute("tabindex", "-1");
          found = item;
        }
        results.appendChild(item);
      });
      if (found) {
        found.scrollIntoView({block: "center"});
        found.focus();
      }
    }).catch(function () { status.textContent = texts.failed; });
  }

  function jumpTo(seq) {
    if (!showInRoom(seq)) showAround(seq);
  }

  searchForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var words = searchInput.value.trim();
    if (!words) return;
    showPanel(texts.searching);
    api({search: words, limit: 20}).then(function (page) {
      showPanel(page.messages.length ? "" : texts.noResults);
      page.messages.forEach(function (frame) {
        var item = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "chat-found-result";
        header(frame).forEach(function (node) { button.appendChild(node); });
        var excerpt = document.createElement("span");
        excerpt.className = "chat-found-excerpt";
        // Escaped by the server, matches in <mark>: the API's `excerpt` contract.
        excerpt.innerHTML = frame.excerpt;
        button.appendChild(excerpt);
        button.addEventListener("click", function () { jumpTo(frame.seq); });
        item.appendChild(button);
        results.appendChild(item);
      });
    }).catch(function () { status.textContent = texts.failed; });
  });

  document.getElementById("chat-found-close").addEventListener("click", function () {
    closePanel();
    searchInput.focus();
  });

  // A notification's link names the message: /chat/room/<id>/#seq-<n>.
  function jumpToLinked() {
    var linked = /^#seq-(\d+)$/.exec(window.location.hash);
    if (linked) jumpTo(Number(linked[1]));
  }
  window.addEventListener("hashchange", jumpToLinked);
  jumpToLinked();
})();
