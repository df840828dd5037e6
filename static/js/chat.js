/* Course chat room client. Protocol: docs/websocket-protocol.md.
 *
 * User data is only ever put in the page with textContent. The socket resumes from the last seq
 * and rev it saw (?after=&rev=), so a reconnect neither loses nor repeats messages, and changes
 * to earlier ones (edits, reactions, pins, deletions) arrive as message.updated frames carrying
 * the message's whole state; messages typed while offline wait in a queue with their client_id,
 * which makes a resend harmless.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("chat-config").textContent);
  var list = document.getElementById("chat-messages");
  var stateLabel = document.getElementById("chat-state");
  var onlineList = document.getElementById("chat-online");
  var typingLine = document.getElementById("chat-typing");
  var errorLine = document.getElementById("chat-error");
  var olderHint = document.getElementById("chat-older");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var sendButton = form.querySelector("button[type=submit]");
  var muteDialog = document.getElementById("mute-dialog");
  var pinsBar = document.getElementById("chat-pins");
  var pinsList = document.getElementById("chat-pins-list");
  // Translated texts, filled in by the template.
  var T = document.getElementById("chat").dataset;

  var STOP_CODES = {4401: "Signed out: log in again to chat.", 4403: "You are no longer a member of this course.", 4404: "This course no longer exists."};
  var PING_EVERY = 25000;
  var PONG_WITHIN = 10000;
  var TYPING_EVERY = 3000;
  var TYPING_SHOWN = 4000;
  // A server restart (1012) or a dropped connection (1006): the first try goes at once, spread
  // over this many ms so a restarted server's clients do not all arrive together; later tries
  // back off exponentially from RECONNECT_BASE up to RECONNECT_MAX.
  var RECONNECT_AT_ONCE = {1006: true, 1012: true};
  var RECONNECT_JITTER = 500;
  var RECONNECT_BASE = 1000;
  var RECONNECT_MAX = 30000;

  var socket = null;
  var attempts = 0;
  var reconnectTimer = null;
  var pingTimer = null;
  var pongTimer = null;
  var stopped = false;
  var lastSeq = config.lastSeq;
  var lastRev = config.lastRev;
  var pins = (config.pins || []).slice();  // pinned message frames, most recently pinned first
  var oldestSeq = null;
  var hasMore = config.hasMore;
  var loadingHistory = false;
  var lastTypingSent = 0;
  var typingTimers = {};
  var online = {};
  var pending = [];  // [{clientId, text, element}] oldest first, until acknowledged
  var readTimer = null;
  var mutes = config.mutes || {};  // user name -> until (ISO 8601), for running mutes
  var unmuteTimer = null;

  function setState(state, text) {
    stateLabel.dataset.state = state;
    stateLabel.textContent = text;
  }

  function showError(text) {
    errorLine.textContent = text;
    errorLine.hidden = !text;
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  /* Every time shown, messages and mute notices alike: the browser's locale and time zone. */
  function localTime(iso) {
    var date = new Date(iso);
    return isNaN(date) ? iso : date.toLocaleString();
  }

  /* --- mutes ----------------------------------------------------------------------------- */

  function isMuted(name) {
    return Boolean(mutes[name]) && new Date(mutes[name]).getTime() > Date.now();
  }

  function muteNotice(name) {
    var until = localTime(mutes[name]);
    return name === config.username ? "You are muted until " + until + "." : name + " is muted until " + until + ".";
  }

  /* While muted, the message box is disabled and says why; it opens again when the mute ends. */
  function applyOwnMute() {
    clearTimeout(unmuteTimer);
    var muted = isMuted(config.username);
    input.disabled = muted;
    sendButton.disabled = muted;
    input.placeholder = muted ? muteNotice(config.username) : "Write a message…";
    if (muted) {
      unmuteTimer = setTimeout(function () {
        delete mutes[config.username];
        applyOwnMute();
        showError("");
      }, Math.min(new Date(mutes[config.username]).getTime() - Date.now() + 500, 2147483647));
    }
  }

  function askMute(name) {
    document.getElementById("mute-user").textContent = name;
    var opener = document.activeElement;
    muteDialog.returnValue = "";
    muteDialog.addEventListener("close", function () {
      if (muteDialog.returnValue === "mute") {
        send({type: "mute", user: name, minutes: Number(document.getElementById("mute-minutes").value)});
      }
      if (opener && opener.focus) opener.focus();
    }, {once: true});
    muteDialog.showModal();
    document.getElementById("mute-minutes").focus();
  }

  function confirmFirst(question, action) {
    return window.educaConfirm ? window.educaConfirm(question, action) : Promise.resolve(true);
  }

  function atBottom() {
    return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

  /* --- rendering ------------------------------------------------------------------------- */

  function messageElement(id) {
    return list.querySelector('li.chat-message[data-id="' + Number(id) + '"]');
  }

  function canDelete(element) {
    if (element.classList.contains("deleted") || element.classList.contains("pending")) return false;
    if (config.isOwner) return true;
    if (element.dataset.user !== config.username) return false;
    var created = new Date(element.querySelector("time").getAttribute("datetime"));
    return Date.now() - created.getTime() < config.deleteWindowSeconds * 1000;
  }

  function canEdit(element) {
    if (element.classList.contains("deleted") || element.classList.contains("pending")) return false;
    if (element.dataset.user !== config.username) return false;
    var created = new Date(element.querySelector("time").getAttribute("datetime"));
    return Date.now() - created.getTime() < config.editWindowSeconds * 1000;
  }

  function toolButton(text, onClick) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = text;
    button.addEventListener("click", onClick);
    return button;
  }

  function addTools(element) {
    var old = element.querySelector(".chat-tools");
    if (old) old.remove();
    if (element.classList.contains("deleted") || element.classList.contains("pending")) return;
    var id = Number(element.dataset.id);
    var tools = document.createElement("span");
    tools.className = "chat-tools";
    tools.appendChild(reactionPicker(element));
    if (canEdit(element)) {
      tools.appendChild(toolButton(T.tEdit, function () { startEdit(element); }));
    }
    if (config.isOwner) {
      var pinned = element.classList.contains("pinned");
      tools.appendChild(toolButton(pinned ? T.tUnpin : T.tPin, function () {
        send({type: pinned ? "unpin" : "pin", id: id});
      }));
    }
    if (canDelete(element)) {
      tools.appendChild(toolButton("Delete", function () {
        confirmFirst("Delete this message? Everyone in the room will see that it was deleted.", "Delete").then(function (confirmed) {
          if (confirmed) send({type: "delete", id: id});
        });
      }));
    }
    element.insertBefore(tools, element.firstChild);
  }

  /* A "React" button that opens the 20 reactions; Escape or a choice closes it. */
  function reactionPicker(element) {
    var wrapper = document.createElement("span");
    wrapper.className = "chat-react";
    var pickerId = "chat-picker-" + Number(element.dataset.id);
    var opener = toolButton(T.tReact, function () { setOpen(picker.hidden); });
    opener.setAttribute("aria-expanded", "false");
    opener.setAttribute("aria-controls", pickerId);
    var picker = document.createElement("span");
    picker.className = "chat-picker";
    picker.id = pickerId;
    picker.setAttribute("role", "group");
    picker.setAttribute("aria-label", T.tReactions);
    picker.hidden = true;
    function setOpen(open) {
      picker.hidden = !open;
      opener.setAttribute("aria-expanded", String(open));
      if (open) picker.querySelector("button").focus();
    }
    config.reactions.forEach(function (emoji) {
      var choice = document.createElement("button");
      choice.type = "button";
      choice.className = "secondary";
      choice.textContent = emoji;
      choice.addEventListener("click", function () {
        send({type: "react", id: Number(element.dataset.id), emoji: emoji});
        setOpen(false);
        opener.focus();
      });
      picker.appendChild(choice);
    });
    picker.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); setOpen(false); opener.focus(); }
    });
    wrapper.appendChild(opener);
    wrapper.appendChild(picker);
    return wrapper;
  }

  /* The author edits in place: Enter saves, Shift+Enter starts a new line, Escape cancels. */
  function startEdit(element) {
    var frame = element.chatFrame;
    if (!frame || element.classList.contains("editing")) return;
    element.classList.add("editing");
    var editor = document.createElement("form");
    editor.className = "chat-edit";
    var area = document.createElement("textarea");
    area.value = frame.message;
    area.rows = 2;
    area.maxLength = config.maxLength;
    area.setAttribute("aria-label", T.tEditLabel);
    var save = document.createElement("button");
    save.type = "submit";
    save.textContent = T.tSave;
    var cancel = toolButton(T.tCancel, function () { stop(); });
    function stop() {
      element.classList.remove("editing");
      fillMessage(element, element.chatFrame);
      var again = Array.prototype.find.call(element.querySelectorAll(".chat-tools button"), function (button) { return button.textContent === T.tEdit; });
      if (again) again.focus();
    }
    editor.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = area.value.trim();
      if (text && text !== frame.message) send({type: "edit", id: Number(element.dataset.id), message: text});
      stop();
    });
    area.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); stop(); }
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        editor.requestSubmit ? editor.requestSubmit() : editor.dispatchEvent(new Event("submit", {cancelable: true}));
      }
    });
    editor.appendChild(area);
    editor.appendChild(save);
    editor.appendChild(cancel);
    element.querySelector(".chat-text").replaceWith(editor);
    area.focus();
  }

  /* Reactions with their counts; the title names who reacted; a click toggles one's own. */
  function renderReactions(element, frame) {
    var reactions = frame.reactions || {};
    var emojis = Object.keys(reactions);
    if (!emojis.length || frame.deleted) return;
    var row = document.createElement("span");
    row.className = "chat-reactions";
    emojis.forEach(function (emoji) {
      var names = reactions[emoji];
      var button = document.createElement("button");
      button.type = "button";
      button.className = "secondary chat-reaction";
      button.textContent = emoji + " " + names.length;
      button.title = names.join(", ");
      button.setAttribute("aria-label", emoji + " " + names.length + ", " + T.tReacted + ": " + names.join(", "));
      button.setAttribute("aria-pressed", String(names.indexOf(config.username) >= 0));
      button.addEventListener("click", function () {
        send({type: "react", id: frame.id, emoji: emoji});
      });
      row.appendChild(button);
    });
    element.appendChild(row);
  }

  /* --- pins ------------------------------------------------------------------------------ */

  function updatePins(frame) {
    var index = -1;
    for (var i = 0; i < pins.length; i++) if (pins[i].id === frame.id) index = i;
    if (frame.pinned && !frame.deleted) {
      if (index >= 0) pins[index] = frame;
      else pins.unshift(frame);
    } else if (index >= 0) {
      pins.splice(index, 1);
    }
    renderPins();
  }

  function renderPins() {
    pinsList.textContent = "";
    pins.forEach(function (frame) {
      var item = document.createElement("li");
      item.dataset.id = frame.id;
      var author = document.createElement("span");
      author.className = "chat-author";
      author.textContent = frame.user || "deleted user";
      item.appendChild(author);
      item.appendChild(document.createTextNode(" " + frame.message));
      pinsList.appendChild(item);
    });
    pinsBar.hidden = pins.length === 0;
  }

  function fillMessage(element, frame) {
    element.chatFrame = frame;
    if (element.classList.contains("editing")) return;  // redrawn when the edit ends
    element.textContent = "";
    element.className = "chat-message";
    if (frame.deleted) element.classList.add("deleted");
    if (frame.user === config.username) element.classList.add("own");
    if (frame.pinned) element.classList.add("pinned");
    element.dataset.id = frame.id;
    element.dataset.seq = frame.seq;
    element.dataset.rev = frame.rev;
    element.dataset.user = frame.user || "";
    var author = document.createElement("span");
    author.className = "chat-author";
    author.textContent = frame.user || "deleted user";
    var time = document.createElement("time");
    time.setAttribute("datetime", frame.datetime);
    time.textContent = localTime(frame.datetime);
    var text = document.createElement("p");
    text.className = "chat-text";
    if (frame.deleted) {
      var em = document.createElement("em");
      em.textContent = "message deleted";
      text.appendChild(em);
    } else {
      text.textContent = frame.message;
    }
    element.appendChild(author);
    element.appendChild(document.createTextNode(" "));
    element.appendChild(time);
    if (frame.edited_at && !frame.deleted) {
      var edited = document.createElement("span");
      edited.className = "chat-edited";
      edited.textContent = T.tEdited;
      edited.title = localTime(frame.edited_at);
      element.appendChild(document.createTextNode(" "));
      element.appendChild(edited);
    }
    element.appendChild(text);
    renderReactions(element, frame);
    addTools(element);
  }

  /* A message.updated frame: the message's whole state, applied in place unless older. */
  function applyUpdate(frame) {
    var element = messageElement(frame.id);
    if (element && Number(element.dataset.rev) > frame.rev) return;
    if (element) fillMessage(element, frame);
    updatePins(frame);
  }

  /* Insert or update a message frame at its place in seq order. */
  function renderMessage(frame) {
    var empty = document.getElementById("chat-empty");
    if (empty) empty.remove();
    var element = messageElement(frame.id);
    if (!element && frame.client_id) {
      for (var i = 0; i < pending.length; i++) {
        if (pending[i].clientId === frame.client_id && frame.user === config.username) {
          element = pending[i].element;
          pending.splice(i, 1);
          break;
        }
      }
    }
    var stick = atBottom();
    if (!element) element = document.createElement("li");
    // A history page read before a change that already arrived is older: keep the newer state.
    if (Number(element.dataset.rev) > frame.rev) return;
    fillMessage(element, frame);
    var after = null;
    var items = list.querySelectorAll("li.chat-message:not(.pending)");
    for (var j = items.length - 1; j >= 0; j--) {
      if (items[j] !== element && Number(items[j].dataset.seq) < frame.seq) { after = items[j]; break; }
    }
    if (after) {
      after.after(element);
    } else if (items.length && items[0] !== element) {
      list.insertBefore(element, items[0]);
    } else if (!element.parentNode) {
      list.insertBefore(element, list.querySelector("li.pending"));
    }
    if (oldestSeq === null || frame.seq < oldestSeq) oldestSeq = frame.seq;
    if (stick) list.scrollTop = list.scrollHeight;
  }

  function renderPending(item) {
    var element = document.createElement("li");
    element.className = "chat-message own pending";
    var author = document.createElement("span");
    author.className = "chat-author";
    author.textContent = config.username;
    var status = document.createElement("time");
    status.textContent = "sending…";
    var text = document.createElement("p");
    text.className = "chat-text";
    text.textContent = item.text;
    element.appendChild(author);
    element.appendChild(document.createTextNode(" "));
    element.appendChild(status);
    element.appendChild(text);
    list.appendChild(element);
    list.scrollTop = list.scrollHeight;
    item.element = element;
  }

  function renderOnline() {
    onlineList.textContent = "";
    Object.keys(online).sort().forEach(function (name) {
      var item = document.createElement("li");
      var label = document.createElement("span");
      label.textContent = name;
      item.appendChild(label);
      if (config.isOwner && name !== config.username) {
        var muted = isMuted(name);
        var button = document.createElement("button");
        button.type = "button";
        button.className = "secondary";
        button.textContent = muted ? "Unmute" : "Mute";
        button.setAttribute("aria-label", (muted ? "Unmute " : "Mute ") + name);
        button.addEventListener("click", function () {
          if (muted) send({type: "unmute", user: name});
          else askMute(name);
        });
        item.appendChild(button);
      }
      onlineList.appendChild(item);
    });
  }

  function showTyping(name) {
    clearTimeout(typingTimers[name]);
    typingTimers[name] = setTimeout(function () { delete typingTimers[name]; renderTyping(); }, TYPING_SHOWN);
    renderTyping();
  }

  function renderTyping() {
    var names = Object.keys(typingTimers);
    typingLine.textContent = names.length ? names.join(", ") + (names.length > 1 ? " are" : " is") + " typing…" : "";
  }

  /* --- socket ---------------------------------------------------------------------------- */

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function flushPending() {
    pending.forEach(function (item) {
      send({type: "message", message: item.text, client_id: item.clientId});
    });
  }

  function markRead() {
    if (document.visibilityState !== "visible") return;
    clearTimeout(readTimer);
    readTimer = setTimeout(function () { send({type: "read", seq: lastSeq}); }, 1500);
  }

  function handle(frame) {
    switch (frame.type) {
      case "message":
        if (frame.rev > lastRev) lastRev = frame.rev;
        if (frame.seq > lastSeq + 1 && lastSeq > 0) {
          // A gap (should not happen: the server fills gaps); fetch it rather than lose it.
          send({type: "history", after: lastSeq, limit: config.historyLimit});
        }
        renderMessage(frame);
        if (frame.seq > lastSeq) lastSeq = frame.seq;
        if (frame.user && typingTimers[frame.user]) { clearTimeout(typingTimers[frame.user]); delete typingTimers[frame.user]; renderTyping(); }
        markRead();
        break;
      case "history":
        loadingHistory = false;
        var before = list.scrollHeight;
        var top = list.scrollTop;
        frame.messages.forEach(renderMessage);
        if (frame.messages.length && frame.messages[0].seq <= (oldestSeq || Infinity)) {
          hasMore = frame.has_more;
          olderHint.hidden = !hasMore;
          list.scrollTop = top + (list.scrollHeight - before);
        }
        break;
      case "message.updated":
        if (frame.rev > lastRev) lastRev = frame.rev;
        applyUpdate(frame);
        break;
      case "message.deleted":
        if (frame.rev > lastRev) lastRev = frame.rev;
        var element = messageElement(frame.id);
        if (element) {
          element.classList.remove("editing");
          fillMessage(element, {id: frame.id, seq: frame.seq, rev: frame.rev, deleted: true, user: element.dataset.user || null,
            datetime: element.querySelector("time").getAttribute("datetime"), reactions: {}, pinned: false});
        }
        updatePins({id: frame.id, deleted: true, pinned: false});
        break;
      case "presence":
        online = {};
        frame.online.forEach(function (name) { online[name] = true; });
        renderOnline();
        break;
      case "presence.join":
        online[frame.user] = true;
        renderOnline();
        break;
      case "presence.leave":
        delete online[frame.user];
        renderOnline();
        break;
      case "typing":
        showTyping(frame.user);
        break;
      case "member.muted":
        mutes[frame.user] = frame.until;
        showError(muteNotice(frame.user));
        if (frame.user === config.username) applyOwnMute();
        renderOnline();
        break;
      case "member.unmuted":
        delete mutes[frame.user];
        showError(frame.user === config.username ? "You may write again." : frame.user + " may write again.");
        if (frame.user === config.username) applyOwnMute();
        renderOnline();
        break;
      case "error":
        handleError(frame);
        break;
      case "pong":
        clearTimeout(pongTimer);
        break;
    }
  }

  function handleError(frame) {
    var index = -1;
    for (var i = 0; i < pending.length; i++) if (pending[i].clientId === frame.client_id) index = i;
    if (index >= 0 && (frame.code === "rate_limited" || frame.code === "unavailable")) {
      // Not stored: sent again later with the same client_id, so it can never be stored twice.
      var item = pending[index];
      setTimeout(function () { if (pending.indexOf(item) >= 0) send({type: "message", message: item.text, client_id: item.clientId}); }, 3000);
    } else if (index >= 0) {
      pending[index].element.remove();
      pending.splice(index, 1);
    }
    // The server's refusal names the time in UTC; say it as every other notice does.
    showError(frame.code === "muted" && isMuted(config.username) ? muteNotice(config.username) : frame.detail);
  }

  function connect() {
    clearTimeout(reconnectTimer);
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + config.socketPath + "?after=" + lastSeq + "&rev=" + lastRev);
    socket.addEventListener("open", function () {
      attempts = 0;
      setState("connected", "Connected");
      showError("");
      flushPending();
      heartbeat();
    });
    socket.addEventListener("message", function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (error) { return; }
      handle(frame);
    });
    socket.addEventListener("close", function (event) {
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
      socket = null;
      if (STOP_CODES[event.code]) {
        stopped = true;
        setState("closed", "Disconnected");
        showError(STOP_CODES[event.code]);
        return;
      }
      scheduleReconnect(event.code);
    });
  }

  function scheduleReconnect(code) {
    if (stopped) return;
    var delay;
    if (attempts === 0 && RECONNECT_AT_ONCE[code]) {
      delay = Math.random() * RECONNECT_JITTER;
    } else {
      // Exponential backoff with jitter, so a struggling server is not hit by everyone at once.
      delay = Math.min(RECONNECT_MAX, RECONNECT_BASE * Math.pow(2, attempts) * (0.5 + Math.random()));
    }
    attempts += 1;
    setState("reconnecting", "Reconnecting…");
    reconnectTimer = setTimeout(connect, delay);
  }

  function heartbeat() {
    clearInterval(pingTimer);
    pingTimer = setInterval(function () {
      if (!send({type: "ping"})) return;
      clearTimeout(pongTimer);
      // No pong: the connection is dead even if the browser has not noticed.
      pongTimer = setTimeout(function () { if (socket) socket.close(); }, PONG_WITHIN);
    }, PING_EVERY);
  }

  /* --- page ------------------------------------------------------------------------------ */

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    if (text.length > config.maxLength) { showError("A message has at most " + config.maxLength + " characters."); return; }
    var item = {clientId: newClientId(), text: text, element: null};
    pending.push(item);
    renderPending(item);
    input.value = "";
    showError("");
    send({type: "message", message: text, client_id: item.clientId});
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", {cancelable: true}));
    }
  });

  input.addEventListener("input", function () {
    if (isMuted(config.username)) return;
    var now = Date.now();
    if (now - lastTypingSent > TYPING_EVERY && send({type: "typing"})) lastTypingSent = now;
  });

  function loadOlder() {
    if (hasMore && !loadingHistory && oldestSeq !== null) {
      loadingHistory = send({type: "history", before: oldestSeq, limit: 50});
    }
  }

  list.addEventListener("scroll", function () {
    if (list.scrollTop < 60) loadOlder();
  });
  olderHint.addEventListener("click", loadOlder);

  document.addEventListener("visibilitychange", markRead);

  var pageFrames = {};
  (config.history || []).forEach(function (frame) { pageFrames[frame.id] = frame; });
  Array.prototype.forEach.call(list.querySelectorAll("li.chat-message"), function (element) {
    var seq = Number(element.dataset.seq);
    if (oldestSeq === null || seq < oldestSeq) oldestSeq = seq;
    var frame = pageFrames[Number(element.dataset.id)];
    if (frame) {
      fillMessage(element, frame);
    } else {
      var time = element.querySelector("time");
      time.textContent = localTime(time.getAttribute("datetime"));
      addTools(element);
    }
  });
  renderPins();
  list.scrollTop = list.scrollHeight;
  applyOwnMute();
  setState("connecting", "Connecting…");
  connect();
})();
