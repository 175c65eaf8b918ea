// 政策通 pages: the editor's JSON / expression switch, rule-check errors swapped into the
// preview pane, and the match charts (ECharts, data from a json_script block). CSP is
// script-src 'self': no inline script, no eval; texts come from data-* attributes.
(function () {
  "use strict";

  function modes(form) {
    var checked = form.querySelector("input[data-mode]:checked");
    var mode = checked ? checked.value : "json";
    form.querySelectorAll("[data-mode-pane]").forEach(function (pane) {
      pane.hidden = pane.getAttribute("data-mode-pane") !== mode;
    });
  }

  document.addEventListener("change", function (evt) {
    var t = evt.target;
    if (t && t.matches && t.matches("input[data-mode]")) modes(t.form);
  });

  // A preview whose rule does not check answers 422 with the problems: show them.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var d = evt.detail;
    var marked = [d.elt, d.target, evt.target, d.requestConfig && d.requestConfig.elt].some(
      function (el) {
        return el && el.hasAttribute && el.hasAttribute("data-swap-errors");
      }
    );
    if (d.xhr && d.xhr.status === 422 && marked) {
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-source") || "");
    if (!source || !window.echarts) return;
    var all = JSON.parse(source.textContent || "{}");
    var data = all[el.getAttribute("data-part") || ""] || {};
    if (!data.names || !data.names.length) {
      el.textContent = el.getAttribute("data-msg-empty") || "";
      el.classList.add("muted");
      el.setAttribute("data-chart-ready", "empty");
      return;
    }
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      aria: { enabled: true },
      tooltip: { trigger: "axis", confine: true },
      legend: { top: 0 },
      grid: { left: 40, right: 16, top: 36, bottom: 56, containLabel: true },
      xAxis: {
        type: "category",
        data: data.names,
        axisLabel: { interval: 0, rotate: data.names.length > 5 ? 30 : 0 },
      },
      yAxis: { type: "value", minInterval: 1 },
      series: data.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "n", data: s.data, barMaxWidth: 28 };
      }),
    });
    window.addEventListener("resize", function () {
      chart.resize();
    });
    el.setAttribute("data-chart-ready", "true");
  }

  function init() {
    document.querySelectorAll("form").forEach(function (f) {
      if (f.querySelector("input[data-mode]")) modes(f);
    });
    document.querySelectorAll("[data-match-chart]").forEach(draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
