/* Course chat room client. Protocol: docs/websocket-protocol.md.
 *
 * User data is only ever put in the page with textContent, except a message's `html`: the
 * server's sanitised rendering of its Markdown, never parsed here. The socket resumes from the
 * last seq and rev it saw (?after=&rev=), so a reconnect neither loses nor repeats messages, and
 * changes to earlier ones (edits, reactions, pins, deletions) arrive as message.updated frames
 * carrying the message's whole state; messages typed while offline wait in a queue with their
 * client_id, which makes a resend harmless.
 */
(function () {
  "use strict";

  // The page's translations (/jsi18n/, loaded first by base.html); English if it failed to load.
  var gettext = window.gettext || function (text) { return text; };
  var ngettext = window.ngettext || function (one, many, count) { return count === 1 ? one : many; };
  var interpolate = window.interpolate || function (format, values) {
    return format.replace(/%\((\w+)\)s/g, function (match, name) { return String(values[name]); });
  };

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
  var room = document.getElementById("chat");
  var replyBar = document.getElementById("chat-replying");
  var replyBarText = document.getElementById("chat-replying-text");
  var replyCancel = document.getElementById("chat-replying-cancel");
  // Translated words from the page (data-* of #chat).
  var words = room.dataset;
  var lang = document.documentElement.lang || undefined;
  var pinsBar = document.getElementById("chat-pins");
  var askingBar = document.getElementById("chat-asking");
  var askingCancel = document.getElementById("chat-asking-cancel");
  var pinsList = document.getElementById("chat-pins-list");
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

  var STOP_CODES = {
    4401: gettext("Signed out: log in again to chat."),
    4403: gettext("You are no longer a member of this course."),
    4404: gettext("This course no longer exists.")
  };
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
  // Messages of one author closer than this are shown as one group under one name.
  var GROUP_WITHIN = 5 * 60 * 1000;
  var RELATIVE_EVERY = 30000;

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
  var pending = [];  // [{clientId, text, attachments, element}] oldest first, until acknowledged
  var chosenFile = null;  // the file to upload with the next message
  var uploading = false;
  var readTimer = null;
  var mutes = config.mutes || {};  // user name -> until (ISO 8601), for running mutes
  var unmuteTimer = null;
  var replyTo = null;  // {id, user, excerpt} of the message being answered
  var jumpTarget = null;  // {id, seq}: the original a click on a quote is looking for
  var askingAbout = config.about || null;  // {id, title}: the content the next message asks about
  var questions = {};  // question message id -> {user, answer_id}, from the frames seen

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

  /* Every time shown, messages and mute notices alike: in the page's language (<html lang>)
     and the browser's time zone. */
  var TIME_FORMAT = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {dateStyle: "medium", timeStyle: "short"});
  function localTime(iso) {
    var date = new Date(iso);
    return isNaN(date) ? iso : TIME_FORMAT.format(date);
  }

  function format(template, user) {
    return template.replace("%(user)s", user);
  }

  var relativeFormat = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(lang, {numeric: "auto"}) : null;

  /* "2 minutes ago" up to a day, then the time of day (its day has a separator of its own). */
  function relativeTime(iso) {
    var date = new Date(iso);
    if (isNaN(date)) return iso;
    var seconds = Math.round((Date.now() - date.getTime()) / 1000);
    if (seconds < 45) return words.justNow;
    if (relativeFormat && seconds < 3600) return relativeFormat.format(-Math.round(seconds / 60), "minute");
    if (relativeFormat && seconds < 6 * 3600) return relativeFormat.format(-Math.round(seconds / 3600), "hour");
    return date.toLocaleTimeString(lang, {hour: "2-digit", minute: "2-digit"});
  }

  function setTime(time, iso) {
    time.setAttribute("datetime", iso);
    time.title = localTime(iso);
    time.textContent = relativeTime(iso);
  }

  function dayKey(date) {
    return date.getFullYear() + "-" + date.getMonth() + "-" + date.getDate();
  }

  function dayLabel(date) {
    var today = new Date();
    var yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (dayKey(date) === dayKey(today)) return words.today;
    if (dayKey(date) === dayKey(yesterday)) return words.yesterday;
    var options = {weekday: "long", day: "numeric", month: "long"};
    if (date.getFullYear() !== today.getFullYear()) options.year = "numeric";
    return date.toLocaleDateString(lang, options);
  }

  /* Day separators before each day's first message, and one name over an author's run of
   * messages; redone over the whole list after every change (it is at most a few hundred). */
  function relayout() {
    Array.prototype.forEach.call(list.querySelectorAll("li.chat-day"), function (element) { element.remove(); });
    var previous = null;
    var previousDate = null;
    Array.prototype.forEach.call(list.querySelectorAll("li.chat-message"), function (element) {
      var time = element.querySelector("time[datetime]");
      var date = time ? new Date(time.getAttribute("datetime")) : new Date();
      if (!previousDate || dayKey(date) !== dayKey(previousDate)) {
        var separator = document.createElement("li");
        separator.className = "chat-day";
        separator.textContent = dayLabel(date);
        element.before(separator);
        previous = null;
      }
      var continued = previous !== null && !element.classList.contains("deleted") && !previous.classList.contains("deleted") &&
        previous.dataset.user === element.dataset.user && element.dataset.user !== "" &&
        !element.querySelector(".chat-quote") && date - previousDate < GROUP_WITHIN;
      element.classList.toggle("continued", continued);
      previous = element;
      previousDate = date;
    });
  }

  function refreshTimes() {
    relayout();  // "Today" becomes "Yesterday" at midnight
    Array.prototype.forEach.call(list.querySelectorAll("li.chat-message:not(.pending) time[datetime]"), function (time) {
      time.textContent = relativeTime(time.getAttribute("datetime"));
    });
  }

  /* --- mutes ----------------------------------------------------------------------------- */

  function isMuted(name) {
    return Boolean(mutes[name]) && new Date(mutes[name]).getTime() > Date.now();
  }

  function muteNotice(name) {
    var until = localTime(mutes[name]);
    return name === config.username
      ? interpolate(gettext("You are muted until %(until)s."), {until: until}, true)
      : interpolate(gettext("%(name)s is muted until %(until)s."), {name: name, until: until}, true);
  }

  /* While muted, the message box is disabled and says why; it opens again when the mute ends. */
  function applyOwnMute() {
    clearTimeout(unmuteTimer);
    var muted = isMuted(config.username);
    input.disabled = muted;
    sendButton.disabled = muted;
    attachButton.disabled = muted;
    input.placeholder = muted ? muteNotice(config.username) : gettext("Write a message…");
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

  function canReply(element) {
    return !element.classList.contains("deleted") && !element.classList.contains("pending");
  }

  function startReply(element) {
    var text = element.querySelector(".chat-text").textContent.replace(/\s+/g, " ").trim();
    replyTo = {id: Number(element.dataset.id), seq: Number(element.dataset.seq), user: element.dataset.user || words.deletedUser,
      excerpt: text.length > 120 ? text.slice(0, 119) + "…" : text};
    replyBarText.textContent = "";
    var label = document.createElement("strong");
    label.textContent = format(words.replyingTo, replyTo.user);
    replyBarText.appendChild(label);
    replyBarText.appendChild(document.createTextNode(" " + replyTo.excerpt));
    replyBar.hidden = false;
    input.focus();
  }

  function cancelReply() {
    replyTo = null;
    replyBar.hidden = true;
  }

  /* The question bar is for one message: once sent (or dismissed) the room is a room again, and
     a reload does not ask again. */
  function cancelAsking() {
    askingAbout = null;
    askingBar.hidden = true;
    if (window.history && history.replaceState && /[?&]about=/.test(location.search)) {
      history.replaceState(null, "", location.pathname);
    }
  }

  /* The question a message answers, when the reader may mark answers to it: the course owner
     and the asker. */
  function markableQuestion(element) {
    var frame = element.chatFrame;
    if (!frame || frame.deleted || !frame.reply_to || frame.reply_to.deleted) return null;
    var question = questions[frame.reply_to.id];
    if (!question) return null;
    if (!config.isOwner && question.user !== config.username) return null;
    return {id: frame.reply_to.id, answered: question.answer_id === frame.id};
  }

  /* Replies to a question redraw their tools and badge when its answer changes. */
  function refreshReplies(questionId) {
    Array.prototype.forEach.call(list.querySelectorAll('.chat-quote[data-reply-id="' + Number(questionId) + '"]'), function (quote) {
      var element = quote.closest("li.chat-message");
      if (element && element.chatFrame) fillMessage(element, element.chatFrame);
    });
  }

  function questionLabel(frame) {
    var question = frame.question;
    var link = document.createElement("a");
    link.className = "chat-question";
    link.href = (config.contentLinks || {})[question.content_id] || "#";
    link.textContent = words.tQuestionAbout.replace("%(title)s", question.content_title);
    var label = document.createElement("p");
    label.className = "chat-question-label";
    label.appendChild(link);
    if (question.answer_id) {
      var answered = document.createElement("span");
      answered.className = "chat-answered";
      answered.textContent = "✓ " + words.tAnswered;
      label.appendChild(document.createTextNode(" "));
      label.appendChild(answered);
    }
    return label;
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
    if (!canReply(element)) return;
    var id = Number(element.dataset.id);
    var tools = document.createElement("span");
    tools.className = "chat-tools";
    var reply = toolButton(words.reply, function () { startReply(element); });
    reply.setAttribute("aria-label", format(words.replyLabel, element.dataset.user || words.deletedUser));
    tools.appendChild(reply);
    tools.appendChild(reactionPicker(element));
    if (canEdit(element)) {
      tools.appendChild(toolButton(words.tEdit, function () { startEdit(element); }));
    }
    var question = markableQuestion(element);
    if (question) {
      tools.appendChild(toolButton(question.answered ? words.tUnmarkAnswer : words.tMarkAnswer, function () {
        send({type: "answer", id: question.id, answer_id: question.answered ? null : id});
      }));
    }
    if (config.isOwner) {
      var pinned = element.classList.contains("pinned");
      tools.appendChild(toolButton(pinned ? words.tUnpin : words.tPin, function () {
        send({type: pinned ? "unpin" : "pin", id: id});
      }));
    }
    if (canDelete(element)) {
      tools.appendChild(toolButton(gettext("Delete"), function () {
        confirmFirst(gettext("Delete this message? Everyone in the room will see that it was deleted."), gettext("Delete")).then(function (confirmed) {
          if (confirmed) send({type: "delete", id: id});
        });
      }));
    }
    element.insertBefore(tools, element.firstChild);
  }

  /* The quote of the message a reply answers; a click on it shows that message. */
  function quoteElement(reply) {
    var quote = document.createElement("a");
    quote.className = "chat-quote";
    quote.href = "#chat-message-" + Number(reply.id);
    quote.dataset.replyId = reply.id;
    quote.dataset.replySeq = reply.seq;
    fillQuote(quote, reply);
    return quote;
  }

  function fillQuote(quote, reply) {
    quote.textContent = "";
    if (reply.deleted) {
      var em = document.createElement("em");
      em.textContent = words.deletedMessage;
      quote.appendChild(em);
      return;
    }
    var author = document.createElement("span");
    author.className = "chat-quote-author";
    author.textContent = reply.user || words.deletedUser;
    var excerpt = document.createElement("span");
    excerpt.className = "chat-quote-text";
    excerpt.textContent = reply.excerpt;
    quote.appendChild(author);
    quote.appendChild(document.createTextNode(" "));
    quote.appendChild(excerpt);
  }

  function highlight(element) {
    element.scrollIntoView({block: "center"});
    element.classList.remove("highlighted");
    void element.offsetWidth;  // restarts the highlight's animation
    element.classList.add("highlighted");
    var tools = element.querySelector(".chat-tools button");
    if (tools) tools.focus({preventScroll: true});
  }

  /* Show the original of a quote, loading older history page by page until it is there. */
  function jumpTo(id, seq) {
    var element = messageElement(id);
    if (element) { jumpTarget = null; highlight(element); return; }
    jumpTarget = {id: id, seq: seq};
    continueJump();
  }

  function continueJump() {
    if (!jumpTarget) return;
    var element = messageElement(jumpTarget.id);
    if (element) { var target = jumpTarget; jumpTarget = null; highlight(element); return target; }
    if (!hasMore || oldestSeq === null || oldestSeq <= jumpTarget.seq) { jumpTarget = null; showError(words.jumpFailed); return; }
    if (!loadingHistory) loadingHistory = send({type: "history", before: oldestSeq, limit: config.historyLimit});
  }

  /* A "React" button that opens the 20 reactions; Escape or a choice closes it. */
  function reactionPicker(element) {
    var wrapper = document.createElement("span");
    wrapper.className = "chat-react";
    var pickerId = "chat-picker-" + Number(element.dataset.id);
    var opener = toolButton(words.tReact, function () { setOpen(picker.hidden); });
    opener.setAttribute("aria-expanded", "false");
    opener.setAttribute("aria-controls", pickerId);
    var picker = document.createElement("span");
    picker.className = "chat-picker";
    picker.id = pickerId;
    picker.setAttribute("role", "group");
    picker.setAttribute("aria-label", words.tReactions);
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
    area.setAttribute("aria-label", words.tEditLabel);
    var save = document.createElement("button");
    save.type = "submit";
    save.textContent = words.tSave;
    var cancel = toolButton(words.tCancel, function () { stop(); });
    function stop() {
      element.classList.remove("editing");
      fillMessage(element, element.chatFrame);
      relayout();
      var again = Array.prototype.find.call(element.querySelectorAll(".chat-tools button"), function (button) { return button.textContent === words.tEdit; });
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
      button.setAttribute("aria-label", emoji + " " + names.length + ", " + words.tReacted + ": " + names.join(", "));
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
      author.textContent = frame.user || words.deletedUser;
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
    element.id = "chat-message-" + Number(frame.id);
    element.dataset.seq = frame.seq;
    element.dataset.rev = frame.rev;
    element.dataset.user = frame.user || "";
    var meta = document.createElement("div");
    meta.className = "chat-meta";
    var author = document.createElement("span");
    author.className = "chat-author";
    author.textContent = frame.user || words.deletedUser;
    meta.appendChild(author);
    if (frame.user && frame.user === config.ownerUsername) {
      var badge = document.createElement("span");
      badge.className = "chat-badge";
      badge.textContent = words.instructor;
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(badge);
    }
    var time = document.createElement("time");
    setTime(time, frame.datetime);
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(time);
    element.appendChild(meta);
    if (frame.question && !frame.deleted) {
      questions[frame.id] = {user: frame.user, answer_id: frame.question.answer_id};
      element.classList.add("question");
      element.appendChild(questionLabel(frame));
    }
    if (frame.reply_to && !frame.deleted) {
      var original = questions[frame.reply_to.id];
      if (original && original.answer_id === frame.id) {
        element.classList.add("answer");
        var answerBadge = document.createElement("span");
        answerBadge.className = "chat-answered chat-answer-badge";
        answerBadge.textContent = "✓ " + words.tAnswer;
        meta.appendChild(document.createTextNode(" "));
        meta.appendChild(answerBadge);
      }
      element.appendChild(quoteElement(frame.reply_to));
    }
    var text = document.createElement("div");
    text.className = "chat-text";
    if (frame.deleted) {
      var em = document.createElement("em");
      em.textContent = words.deletedMessage;
      text.appendChild(em);
    } else if (typeof frame.html === "string") {
      // Rendered and sanitised by the server (chat/rendering.py).
      text.innerHTML = frame.html;
    } else {
      text.textContent = frame.message;
    }
    if (frame.edited_at && !frame.deleted) {
      var edited = document.createElement("span");
      edited.className = "chat-edited";
      edited.textContent = words.tEdited;
      edited.title = localTime(frame.edited_at);
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(edited);
    }
    element.appendChild(text);
    if (!frame.deleted && frame.attachments && frame.attachments.length) {
      element.appendChild(attachmentList(frame.attachments));
    }
    renderReactions(element, frame);
    addTools(element);
  }

  /* A message.updated frame: the message's whole state, applied in place unless older. */
  function applyUpdate(frame) {
    var element = messageElement(frame.id);
    if (element && Number(element.dataset.rev) > frame.rev) return;
    var answerBefore = questions[frame.id] ? questions[frame.id].answer_id : null;
    if (element) {
      fillMessage(element, frame);
      relayout();
    }
    if (frame.question) {
      questions[frame.id] = {user: frame.user, answer_id: frame.question.answer_id};
      if (frame.question.answer_id !== answerBefore) refreshReplies(frame.id);
    }
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
    relayout();
    if (stick) list.scrollTop = list.scrollHeight;
  }

  function renderPending(item) {
    var element = document.createElement("li");
    element.className = "chat-message own pending";
    element.dataset.user = config.username;
    var author = document.createElement("span");
    author.className = "chat-author";
    author.textContent = config.username;
    var status = document.createElement("time");
    status.textContent = gettext("sending…");
    var text = document.createElement("div");
    text.className = "chat-text";
    text.textContent = item.text;
    var meta = document.createElement("div");
    meta.className = "chat-meta";
    meta.appendChild(author);
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(status);
    element.appendChild(meta);
    if (item.quote) element.appendChild(quoteElement(item.quote));
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
        button.textContent = muted ? gettext("Unmute") : gettext("Mute");
        button.setAttribute("aria-label", interpolate(muted ? gettext("Unmute %(name)s") : gettext("Mute %(name)s"), {name: name}, true));
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
    typingLine.textContent = names.length
      ? interpolate(ngettext("%(names)s is typing…", "%(names)s are typing…", names.length), {names: names.join(", ")}, true)
      : "";
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
      send(messageFrame(item));
    });
  }

  function messageFrame(item) {
    var frame = {type: "message", message: item.text, client_id: item.clientId};
    if (item.replyTo) frame.reply_to = item.replyTo;
    if (item.about) frame.about = item.about;
    if (item.attachments.length) frame.attachments = item.attachments.map(function (attachment) { return attachment.id; });
    return frame;
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
        continueJump();
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
          relayout();
        }
        // Replies to it now quote a tombstone.
        Array.prototype.forEach.call(list.querySelectorAll('.chat-quote[data-reply-id="' + Number(frame.id) + '"]'), function (quote) {
          fillQuote(quote, {deleted: true});
        });
        if (replyTo && replyTo.id === frame.id) cancelReply();
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
        showError(frame.user === config.username
          ? gettext("You may write again.")
          : interpolate(gettext("%(name)s may write again."), {name: frame.user}, true));
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
    if (frame.code === "muted" && frame.until) {
      // A mute this page had not heard of: the refusal carries its end, said as every notice.
      mutes[config.username] = frame.until;
      applyOwnMute();
      showError(muteNotice(config.username));
    } else {
      showError(frame.detail);
    }
  }

  function connect() {
    clearTimeout(reconnectTimer);
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + config.socketPath + "?after=" + lastSeq + "&rev=" + lastRev);
    socket.addEventListener("open", function () {
      attempts = 0;
      setState("connected", gettext("Connected"));
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
        setState("closed", gettext("Disconnected"));
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
    setState("reconnecting", gettext("Reconnecting…"));
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
    var item = {clientId: newClientId(), text: text, attachments: attachments, element: null,
      replyTo: replyTo ? replyTo.id : null, quote: replyTo,
      about: askingAbout ? askingAbout.id : null};
    pending.push(item);
    renderPending(item);
    cancelReply();
    cancelAsking();
    send(messageFrame(item));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (uploading) return;
    var text = input.value.trim();
    if (!text && !chosenFile) return;
    if (text.length > config.maxLength) { showError(interpolate(gettext("A message has at most %(limit)s characters."), {limit: config.maxLength}, true)); return; }
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
  list.addEventListener("click", function (event) {
    var quote = event.target.closest(".chat-quote");
    if (!quote) return;
    event.preventDefault();
    jumpTo(Number(quote.dataset.replyId), Number(quote.dataset.replySeq));
  });
  replyCancel.addEventListener("click", function () { cancelReply(); input.focus(); });
  askingCancel.addEventListener("click", function () { cancelAsking(); input.focus(); });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && replyTo) cancelReply();
  });

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
      setTime(time, time.getAttribute("datetime"));
      addTools(element);
    }
  });
  relayout();
  setInterval(refreshTimes, RELATIVE_EVERY);
  renderPins();
  list.scrollTop = list.scrollHeight;
  applyOwnMute();
  setState("connecting", gettext("Connecting…"));
  connect();
})();
