// monitor review page: the theme toggle and keyboard shortcuts. Reading and judging work without it.
"use strict";
(function () {
  var THEME_KEY = "monitor-theme";
  var root = document.documentElement;

  function storedTheme() {
    try { return localStorage.getItem(THEME_KEY); } catch (e) { return null; }
  }
  var saved = storedTheme();
  if (saved === "dark" || saved === "light") { root.setAttribute("data-theme", saved); }

  function isDark() {
    var chosen = root.getAttribute("data-theme");
    if (chosen) { return chosen === "dark"; }
    return window.matchMedia("(prefers-color-scheme: dark)").matches;
  }

  function toggleTheme() {
    var next = isDark() ? "light" : "dark";
    root.setAttribute("data-theme", next);
    try { localStorage.setItem(THEME_KEY, next); } catch (e) { /* private mode: not remembered */ }
    labelToggle();
  }

  function labelToggle() {
    var button = document.getElementById("theme-toggle");
    if (button) {
      button.textContent = isDark() ? "Light theme" : "Dark theme";
      button.setAttribute("aria-pressed", isDark() ? "true" : "false");
    }
  }

  function matches() { return Array.prototype.slice.call(document.querySelectorAll("li.match")); }

  function current() {
    var found = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("li.match") : null;
    return found || document.querySelector("li.match.current");
  }

  function focusMatch(row) {
    matches().forEach(function (r) { r.classList.remove("current"); });
    row.classList.add("current");
    row.focus();
    row.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var rows = matches();
    if (!rows.length) { return; }
    var at = rows.indexOf(current());
    var next = at < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(Math.max(at + step, 0), rows.length - 1);
    focusMatch(rows[next]);
  }

  function open() {
    var row = current();
    var link = row && row.querySelector("a.title");
    if (link) { window.location.href = link.href; }
  }

  function judge(verdict) {
    var scope = current() || (matches().length ? null : document);
    var button = scope && scope.querySelector('.judge button[value="' + verdict + '"]');
    if (button) { button.click(); }
  }

  function toggleHelp() {
    var help = document.getElementById("keys-help");
    if (help) { help.hidden = !help.hidden; }
  }

  var KEYS = {
    "j": function () { move(1); },
    "k": function () { move(-1); },
    "o": open,
    "r": function () { judge("relevant"); },
    "n": function () { judge("irrelevant"); },
    "?": toggleHelp,
    "Escape": function () { var h = document.getElementById("keys-help"); if (h) { h.hidden = true; } }
  };

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(target.tagName))) { return; }
    var action = KEYS[event.key];
    if (event.key === "Enter" && target && target.matches && target.matches("li.match")) { action = open; }
    if (action) { event.preventDefault(); action(); }
  }

  function start() {
    var button = document.getElementById("theme-toggle");
    if (button) { button.hidden = false; button.addEventListener("click", toggleTheme); labelToggle(); }
    var hint = document.getElementById("keys-hint");
    if (hint) { hint.hidden = false; }
    document.addEventListener("keydown", onKey);
    var target = window.location.hash && document.getElementById(window.location.hash.slice(1));
    if (target && target.matches("li.match")) { focusMatch(target); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
