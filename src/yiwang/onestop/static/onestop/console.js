// 一网通办 console: the per-matter bar chart on the statistics page (ECharts, data from a
// json_script block). CSP is script-src 'self': no inline script; texts come from data-*.
(function () {
  "use strict";

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-source") || "");
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent || "{}");
    if (!data.names || !data.names.length) {
      el.textContent = el.getAttribute("data-msg-empty") || "";
      el.classList.add("muted");
      el.setAttribute("data-chart-ready", "empty");
      return;
    }
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      aria: { enabled: true },
      color: ["#17663a", "#b3261e", "#0b4a9c"],
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
    document.querySelectorAll("[data-matter-chart]").forEach(draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
