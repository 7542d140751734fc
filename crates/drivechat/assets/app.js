// Drive Chat's live updates. The page names its event stream in <body data-live>. New feed
// entries are put at the top of the feed (#feed-list, HighLevel changes only in the general
// channel's; #alerts shows messages of its own channel only) or of a contact's thread
// (#thread-list[data-contact]) as they arrive; regions marked data-live-region (task lists,
// the board, tags...) are fetched again, a moment later so that a burst of changes costs one
// refresh. Whenever the stream (re)connects everything live is refreshed, so nothing committed
// while it was not connected is missed.
(function () {
  "use strict";
  var es = null;
  var timer = null;

  function markDirty(contact) {
    document.querySelectorAll("[data-live-region]").forEach(function (el) {
      var c = el.getAttribute("data-live-contact");
      if (contact && c && c !== contact) return;
      el.setAttribute("data-live-dirty", "1");
    });
    clearTimeout(timer);
    timer = setTimeout(function () {
      document.querySelectorAll("[data-live-dirty]").forEach(function (el) {
        el.removeAttribute("data-live-dirty");
        if (window.htmx) window.htmx.trigger(el, "live");
      });
    }, 300);
  }

  function prepend(listId, html, entryId, accept) {
    var list = document.getElementById(listId);
    if (!list || !accept(list) || document.getElementById(entryId)) return;
    list.insertAdjacentHTML("afterbegin", html);
    var empty = list.querySelector(".empty");
    if (empty) empty.remove();
    var first = list.firstElementChild;
    if (first) first.classList.add("fresh");
  }

  // The channel a feed list shows (the Feed's is "general").
  function channelOf(list) {
    return list.getAttribute("data-channel") || "general";
  }

  // Whether the Feed's list shows an event: its filter (data-filter-kind, -contact,
  // -member-id, -member-name; none: everything) and the member's mutes (data-muted, kinds
  // separated by spaces; a kind asked for by the filter shows even when muted). The server
  // names each event's kind (feed_kind), so the page and the stream agree on what a line is.
  function feedShows(list, d) {
    var kind = list.getAttribute("data-filter-kind");
    var muted = (list.getAttribute("data-muted") || "").split(" ");
    if (kind ? d.feed_kind !== kind : muted.indexOf(d.feed_kind) >= 0) return false;
    var contact = list.getAttribute("data-filter-contact");
    if (contact && d.contact_id !== contact) return false;
    var memberId = list.getAttribute("data-filter-member-id");
    if (memberId) {
      if (d.feed_kind === "message") return String(d.author_id) === memberId;
      return d.actor === list.getAttribute("data-filter-member-name");
    }
    return true;
  }

  function onChange(e) {
    var d = JSON.parse(e.data);
    var id = "c" + d.id;
    // HighLevel changes belong to the Feed (the general channel) and to their contact's
    // thread, never to another channel's list such as #alerts.
    prepend("feed-list", d.html, id, function (list) {
      return !list.hasAttribute("data-contact") && channelOf(list) === "general" && feedShows(list, d);
    });
    prepend("thread-list", d.html, id, function (list) {
      return list.getAttribute("data-contact") === d.contact_id;
    });
    markDirty(d.contact_id);
  }

  function onMessage(e) {
    var d = JSON.parse(e.data);
    var id = "m" + d.id;
    prepend("feed-list", d.html, id, function (list) {
      // The Feed filtered to a contact shows that contact's thread instead of the general
      // channel's messages.
      if (channelOf(list) === "general" && list.hasAttribute("data-filter-contact")) {
        return d.channel === "contact" && feedShows(list, d);
      }
      return d.channel === channelOf(list) && (channelOf(list) !== "general" || feedShows(list, d));
    });
    prepend("thread-list", d.html, id, function (list) {
      return d.channel === "contact" && list.getAttribute("data-contact") === d.contact_id;
    });
  }

  // Nothing a person types is lost. A live region refreshing under a half-written note
  // keeps the text (saved before the swap, put back after it), and a form HighLevel's side
  // refused (the page comes back with an error message) is filled again as it was sent.
  var typedFields = "textarea[id], input[id][type=text], input[id][type=search]";
  var typed = null;
  var DRAFT = "drivechat-draft";

  function saveTyped(root) {
    root.querySelectorAll(typedFields).forEach(function (el) {
      if (el.value && el.value !== el.defaultValue) {
        typed = typed || {};
        typed[el.id] = el.value;
      }
    });
  }

  function restoreTyped() {
    if (!typed) return;
    Object.keys(typed).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && !el.value) el.value = typed[id];
    });
    typed = null;
  }

  function saveDraft(form) {
    if (!form.id || (form.method || "").toLowerCase() !== "post") return;
    var fields = {};
    form.querySelectorAll(typedFields).forEach(function (el) {
      if (el.value) fields[el.id] = el.value;
    });
    try {
      sessionStorage.setItem(DRAFT, JSON.stringify({ form: form.id, fields: fields }));
    } catch (_) {
      /* storage off: nothing to keep it in */
    }
  }

  // After a page is shown: an error message means the last form sent was refused, so its
  // text goes back in; any other page means it went through.
  function settleDraft() {
    var raw = null;
    try {
      raw = sessionStorage.getItem(DRAFT);
      sessionStorage.removeItem(DRAFT);
    } catch (_) {
      return;
    }
    if (!raw || !document.querySelector("#flash[data-kind=error]")) return;
    var draft = JSON.parse(raw);
    if (!document.getElementById(draft.form)) return;
    Object.keys(draft.fields).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && !el.value) el.value = draft.fields[id];
    });
  }

  document.addEventListener(
    "submit",
    function (e) {
      saveDraft(e.target);
    },
    true
  );
  document.addEventListener("htmx:beforeSwap", function (e) {
    var target = e.detail && e.detail.target;
    if (target && target.hasAttribute && target.hasAttribute("data-live-region")) {
      saveTyped(target);
    }
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    restoreTyped();
    settleNotice();
    if (e.target === document.body) settleDraft();
  });
  document.addEventListener("DOMContentLoaded", settleDraft);

  // Relative times ("5 minutes ago", server-written in time[data-relative]) are read again
  // from their datetime as the minutes pass; the wording is the server's (src/time.rs).
  function plural(n, unit) {
    return n === 1 ? "1 " + unit : n + " " + unit + "s";
  }

  function relative(ms, now) {
    var d = ms - now;
    var a = Math.floor(Math.abs(d) / 1000);
    var span;
    if (a < 60) return "just now";
    if (a < 3600) span = plural(Math.floor(a / 60), "minute");
    else if (a < 86400) span = plural(Math.floor(a / 3600), "hour");
    else span = plural(Math.floor(a / 86400), "day");
    return d > 0 ? "in " + span : span + " ago";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      var ms = Date.parse(el.getAttribute("datetime"));
      if (isNaN(ms)) return;
      var text = relative(ms, now);
      if (el.textContent !== text) el.textContent = text;
    });
  }
  setInterval(tick, 10000);

  // "Sent to HighLevel … pending until HighLevel confirms" goes once HighLevel confirmed:
  // the notice carries its command's badge, which turns "done" by itself; the notice then
  // says so for a few seconds and goes.
  function settleNotice() {
    var notice = document.querySelector("#flash[data-command-id]:not([data-confirmed])");
    if (!notice || !notice.querySelector("[data-testid=done-badge]")) return;
    notice.setAttribute("data-confirmed", "");
    notice.textContent = "HighLevel confirmed it.";
    setTimeout(function () {
      notice.remove();
    }, 4000);
  }

  // "/" (outside a text field) or Ctrl-K / Cmd-K jumps to the contact search, from any page
  // of the workspace: the contacts page is opened and its search field focused.
  var FOCUS_SEARCH = "drivechat-focus-search";

  function focusSearch() {
    var search = document.getElementById("contact-search");
    if (!search) return false;
    search.focus();
    search.select();
    return true;
  }

  document.addEventListener("keydown", function (e) {
    var slash = e.key === "/" && !e.ctrlKey && !e.metaKey && !e.altKey;
    var k = (e.ctrlKey || e.metaKey) && !e.altKey && (e.key === "k" || e.key === "K");
    if (!slash && !k) return;
    var t = e.target;
    var typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (slash && typing) return;
    var live = document.body.getAttribute("data-live");
    if (!live) return;
    e.preventDefault();
    if (focusSearch()) return;
    try {
      sessionStorage.setItem(FOCUS_SEARCH, "1");
    } catch (_) {
      /* the contacts page opens, unfocused */
    }
    window.location.href = live.replace(/\/live$/, "/contacts");
  });

  function focusSearchIfAsked() {
    try {
      if (!sessionStorage.getItem(FOCUS_SEARCH)) return;
      sessionStorage.removeItem(FOCUS_SEARCH);
    } catch (_) {
      return;
    }
    focusSearch();
  }
  document.addEventListener("DOMContentLoaded", focusSearchIfAsked);

  function connect() {
    var url = document.body.getAttribute("data-live");
    if (!url || !window.EventSource) return;
    if (es && es.url.indexOf(url) >= 0 && es.readyState !== 2) return;
    if (es) es.close();
    es = new EventSource(url);
    // On every (re)connection the live regions are fetched once: a change committed between
    // the page's render and this stream's start (an action confirmed while the page loaded)
    // was sent to no one, and would otherwise stay unseen until the next change.
    es.addEventListener("open", function () {
      document.body.classList.remove("offline");
      markDirty(null);
    });
    es.addEventListener("error", function () {
      document.body.classList.add("offline");
    });
    es.addEventListener("change", onChange);
    es.addEventListener("message", onMessage);
    es.addEventListener("resync", function () {
      markDirty(null);
    });
  }

  // A page kept in the back/forward cache would keep its stream open: Chromium allows 6
  // connections per host, so a few such pages starve every later request. Close on the way
  // out; a page restored from the cache reconnects (and refreshes what it missed).
  window.addEventListener("pagehide", function () {
    if (es) {
      es.close();
      es = null;
    }
  });
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) {
      connect();
      markDirty(null);
    }
  });
  document.addEventListener("DOMContentLoaded", connect);
  // hx-boost swaps the body on navigation; the workspace (and so the stream) may change.
  document.addEventListener("htmx:afterSettle", connect);
})();
