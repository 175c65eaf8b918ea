// Yiwang shell behaviour. Small on purpose: pages work without it; HTMX does the requests.
// CSP is script-src 'self': no inline scripts, no eval. Texts come from data-msg-* on <body>.
(function () {
  "use strict";

  var body = document.body;

  function msg(name, status) {
    var text = body.getAttribute("data-msg-" + name) || "";
    return status ? text + " (HTTP " + status + ")" : text;
  }

  // The box that shows an HTMX error, right after the form (or element) that sent the request.
  function errorBox(elt, create) {
    var anchor = elt.closest("form") || elt;
    var next = anchor.nextElementSibling;
    if (next && next.classList.contains("htmx-error")) return next;
    if (!create) return null;
    var box = document.createElement("div");
    box.className = "htmx-error";
    box.setAttribute("role", "alert");
    box.setAttribute("data-testid", "htmx-error");
    anchor.insertAdjacentElement("afterend", box);
    return box;
  }

  function clearErrors(elt) {
    var box = errorBox(elt, false);
    if (box) box.remove();
    var form = elt.closest("form");
    if (form) {
      form.querySelectorAll('[aria-invalid="true"]').forEach(function (input) {
        input.removeAttribute("aria-invalid");
      });
    }
  }

  // {"code", "message", "fields": {name: [messages]}} from our API and views; ninja's
  // {"detail": ...}; or an HTML error page, of which we show the alert or heading text.
  function parseError(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "";
    var text = xhr.responseText || "";
    if (type.indexOf("json") !== -1) {
      try {
        var data = JSON.parse(text);
        var detail = data.detail;
        if (Array.isArray(detail)) {
          detail = detail
            .map(function (d) {
              return d && d.msg ? d.msg : String(d);
            })
            .join("; ");
        }
        return { message: data.message || detail || "", fields: data.fields || {} };
      } catch (e) {
        return { message: "", fields: {} };
      }
    }
    if (type.indexOf("html") !== -1) {
      var doc = new DOMParser().parseFromString(text, "text/html");
      var el = doc.querySelector('[role="alert"], .errorlist, main h1, h1, title');
      var found = el ? el.textContent.replace(/\s+/g, " ").trim() : "";
      return { message: found.slice(0, 300), fields: {} };
    }
    return { message: text.slice(0, 300), fields: {} };
  }

  function showError(elt, message, fields) {
    var box = errorBox(elt, true);
    box.textContent = message;
    var names = Object.keys(fields || {});
    if (names.length) {
      var list = document.createElement("ul");
      var form = elt.closest("form");
      names.forEach(function (name) {
        var input = form && form.querySelector('[name="' + CSS.escape(name) + '"]');
        if (input) input.setAttribute("aria-invalid", "true");
        [].concat(fields[name]).forEach(function (m) {
          var li = document.createElement("li");
          li.textContent = m;
          list.appendChild(li);
        });
      });
      box.appendChild(list);
    }
  }

  document.addEventListener("htmx:beforeRequest", function (evt) {
    clearErrors(evt.detail.elt);
  });

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var parsed = parseError(xhr);
    showError(evt.detail.elt, parsed.message || msg("error", xhr.status), parsed.fields);
  });

  document.addEventListener("htmx:sendError", function (evt) {
    showError(evt.detail.elt, msg("network"), {});
  });

  // A session that ended while the page was open: the request was redirected to the login
  // page. Go there as a whole page instead of swapping the login form into a fragment.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var login = body.getAttribute("data-login-url");
    var xhr = evt.detail.xhr;
    if (!login || !xhr.responseURL) return;
    if (new URL(xhr.responseURL).pathname === login) {
      evt.detail.shouldSwap = false;
      var here = window.location.pathname + window.location.search;
      window.location.assign(login + "?next=" + encodeURIComponent(here));
    }
  });
})();
