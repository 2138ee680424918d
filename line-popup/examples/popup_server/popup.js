// line-popup: renders the banner that /popup/decide chose, and reports what happened.
// Include with <script src="/popup.js" defer></script>. The page's <body> gets
// data-line-popup="shown|hidden|error" once the decision is handled (tests wait on it).
(function () {
  "use strict";
  var body = document.body;

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }
  function stored(storage, key) {
    var v = null;
    try { v = storage.getItem(key); } catch (e) { /* storage disabled */ }
    if (!v) {
      v = newId();
      try { storage.setItem(key, v); } catch (e) { /* keep for this page only */ }
    }
    return v;
  }
  function post(path, payload) {
    return fetch(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
      keepalive: true
    });
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) e.textContent = text;
    return e;
  }

  function render(d) {
    var token = d.token;
    var box = el("div", { id: "line-popup", role: "dialog", "aria-label": "LINE", "data-campaign": d.campaign, "data-variant": d.banner.id });
    if (d.banner.image_url) box.appendChild(el("img", { src: d.banner.image_url, alt: "" }));
    box.appendChild(el("h2", {}, d.banner.title));
    if (d.banner.body) box.appendChild(el("p", {}, d.banner.body));
    var add = el("a", { id: "line-popup-add", href: d.click_url, target: "_blank", rel: "noopener" }, "LINEで友だち追加");
    add.addEventListener("click", function () { post("/popup/event", { token: token, kind: "clicked" }); });
    var close = el("button", { id: "line-popup-close", type: "button", "aria-label": "close" }, "×");
    close.addEventListener("click", function () {
      box.remove();
      post("/popup/event", { token: token, kind: "dismissed" }).then(function () {
        body.dataset.linePopupDismissed = "1";
      });
    });
    box.appendChild(add);
    box.appendChild(close);
    body.appendChild(box);
    body.dataset.linePopupToken = token;
    post("/popup/event", { token: token, kind: "shown" }).then(function () {
      body.dataset.linePopup = "shown";
    }, function () {
      body.dataset.linePopup = "shown";
    });
  }

  post("/popup/decide", {
    visitor_id: stored(localStorage, "line_popup_visitor"),
    session_id: stored(sessionStorage, "line_popup_session"),
    path: location.pathname
  })
    .then(function (r) { return r.json(); })
    .then(function (d) {
      if (d.decision === "show") {
        render(d);
      } else {
        var first = d.blocked && d.blocked[0];
        body.dataset.linePopupReason = first ? (first.reason.cap || first.reason.rule) : (d.error || "none");
        body.dataset.linePopup = "hidden";
      }
    })
    .catch(function () { body.dataset.linePopup = "error"; });
})();
