/* Course chat room client. Protocol: docs/websocket-protocol.md.
 *
 * User data is only ever put in the page with textContent. The socket resumes from the last seq
 * it saw (?after=), so a reconnect neither loses nor repeats messages; messages typed while
 * offline wait in a queue with their client_id, which makes a resend harmless.
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
  var fileInput = document.getElementById("chat-file");
  var attachButton = document.getElementById("chat-attach");
  var chosenLine = document.getElementById("chat-file-chosen");
  var chosenName = document.getElementById("chat-file-name");
  var removeFileButton = document.getElementById("chat-file-remove");
  // Translated by the template: notices about attachments.
  var texts = {
    tooLarge: form.dataset.textTooLarge,
    uploadFailed: form.dataset.textUploadFailed,
    uploading: form.dataset.textUploading,
    chosen: form.dataset.textChosen
  };

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
  var oldestSeq = null;
  var hasMore = config.hasMore;
  var loadingHistory = false;
  var lastTypingSent = 0;
  var typingTimers = {};
  var online = {};
  var pending = [];  // [{clientId, text, attachments, element}] oldest first, until acknowledged
  var chosenFile = null;  // the file to upload with the next message
  var uploading = false;
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
    attachButton.disabled = muted;
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

  /* --- attachments ------------------------------------------------------------------------ */

  function fileSize(bytes) {
    var units = ["byte", "kilobyte", "megabyte"];
    var unit = 0;
    while (bytes >= 1024 && unit < units.length - 1) { bytes /= 1024; unit += 1; }
    try {
      return new Intl.NumberFormat(undefined, {style: "unit", unit: units[unit], unitDisplay: "short", maximumFractionDigits: 1}).format(bytes);
    } catch (error) {
      return Math.round(bytes) + " " + ["B", "KB", "MB"][unit];
    }
  }

  /* Names and sizes go in as text; only the server's own URLs become attributes. */
  function attachmentList(attachments) {
    var list = document.createElement("ul");
    list.className = "chat-attachments";
    attachments.forEach(function (attachment) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = attachment.url;
      if (attachment.thumbnail_url) {
        link.className = "chat-attachment-image";
        var image = document.createElement("img");
        image.src = attachment.thumbnail_url;
        image.alt = attachment.name;
        image.loading = "lazy";
        link.appendChild(image);
        item.appendChild(link);
      } else {
        link.setAttribute("download", "");
        link.textContent = attachment.name;
        var size = document.createElement("span");
        size.className = "chat-attachment-size";
        size.textContent = "(" + fileSize(attachment.size) + ")";
        item.appendChild(link);
        item.appendChild(document.createTextNode(" "));
        item.appendChild(size);
      }
      list.appendChild(item);
    });
    return list;
  }

  function chooseFile(file) {
    chosenFile = file || null;
    chosenLine.hidden = !chosenFile;
    chosenName.textContent = chosenFile ? texts.chosen + " " + chosenFile.name + " (" + fileSize(chosenFile.size) + ")" : "";
    // A file may go without any text.
    input.required = !chosenFile;
    if (!chosenFile) fileInput.value = "";
  }

  function csrfToken() {
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  /* Upload the chosen file: resolves with its description, or rejects with a message to show. */
  function upload(file) {
    var body = new FormData();
    body.append("file", file);
    return fetch(form.dataset.uploadUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: {"X-CSRFToken": csrfToken(), "Accept": "application/json"}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok && data.id) return data;
        throw new Error(data.message ? data.message.replace(/^file: /, "") : texts.uploadFailed);
      });
    }, function () {
      throw new Error(texts.uploadFailed);
    });
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

  function addTools(element) {
    var old = element.querySelector(".chat-tools");
    if (old) old.remove();
    if (!canDelete(element)) return;
    var tools = document.createElement("span");
    tools.className = "chat-tools";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = "Delete";
    button.addEventListener("click", function () {
      confirmFirst("Delete this message? Everyone in the room will see that it was deleted.", "Delete").then(function (confirmed) {
        if (confirmed) send({type: "delete", id: Number(element.dataset.id)});
      });
    });
    tools.appendChild(button);
    element.insertBefore(tools, element.firstChild);
  }

  function fillMessage(element, frame) {
    element.textContent = "";
    element.className = "chat-message";
    if (frame.deleted) element.classList.add("deleted");
    if (frame.user === config.username) element.classList.add("own");
    element.dataset.id = frame.id;
    element.dataset.seq = frame.seq;
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
    element.appendChild(text);
    if (!frame.deleted && frame.attachments && frame.attachments.length) {
      element.appendChild(attachmentList(frame.attachments));
    }
    addTools(element);
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
    if (item.attachments.length) element.appendChild(attachmentList(item.attachments));
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

  function messageFrame(item) {
    var frame = {type: "message", message: item.text, client_id: item.clientId};
    if (item.attachments.length) frame.attachments = item.attachments.map(function (attachment) { return attachment.id; });
    return frame;
  }

  function flushPending() {
    pending.forEach(function (item) { send(messageFrame(item)); });
  }

  function markRead() {
    if (document.visibilityState !== "visible") return;
    clearTimeout(readTimer);
    readTimer = setTimeout(function () { send({type: "read", seq: lastSeq}); }, 1500);
  }

  function handle(frame) {
    switch (frame.type) {
      case "message":
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
      case "message.deleted":
        var element = messageElement(frame.id);
        if (element) {
          fillMessage(element, {id: frame.id, seq: frame.seq, deleted: true, user: element.dataset.user || null,
            datetime: element.querySelector("time").getAttribute("datetime")});
        }
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
      setTimeout(function () { if (pending.indexOf(item) >= 0) send(messageFrame(item)); }, 3000);
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
    socket = new WebSocket(scheme + window.location.host + config.socketPath + "?after=" + lastSeq);
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

  function queueMessage(text, attachments) {
    var item = {clientId: newClientId(), text: text, attachments: attachments, element: null};
    pending.push(item);
    renderPending(item);
    send(messageFrame(item));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (uploading) return;
    var text = input.value.trim();
    if (!text && !chosenFile) return;
    if (text.length > config.maxLength) { showError("A message has at most " + config.maxLength + " characters."); return; }
    if (!chosenFile) {
      input.value = "";
      showError("");
      queueMessage(text, []);
      return;
    }
    if (chosenFile.size > Number(form.dataset.maxBytes)) { showError(texts.tooLarge); return; }
    uploading = true;
    sendButton.disabled = attachButton.disabled = true;
    showError("");
    chosenName.textContent = texts.uploading;
    upload(chosenFile).then(function (attachment) {
      input.value = "";
      chooseFile(null);
      queueMessage(text, [attachment]);
    }, function (error) {
      chooseFile(chosenFile);
      showError(error.message);
    }).then(function () {
      uploading = false;
      sendButton.disabled = attachButton.disabled = isMuted(config.username);
    });
  });

  attachButton.addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    showError("");
    chooseFile(fileInput.files[0]);
  });
  removeFileButton.addEventListener("click", function () {
    chooseFile(null);
    attachButton.focus();
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

  Array.prototype.forEach.call(list.querySelectorAll("li.chat-message"), function (element) {
    var time = element.querySelector("time");
    time.textContent = localTime(time.getAttribute("datetime"));
    var seq = Number(element.dataset.seq);
    if (oldestSeq === null || seq < oldestSeq) oldestSeq = seq;
    addTools(element);
  });
  list.scrollTop = list.scrollHeight;
  applyOwnMute();
  setState("connecting", "Connecting…");
  connect();
})();
