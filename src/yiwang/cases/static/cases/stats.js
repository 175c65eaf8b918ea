// Case statistics chart: counts per group as bars, the four rates as lines on a second axis.
// The figures come from a JSON data block (json_script) written by the page; CSP is
// script-src 'self', so no inline script and no eval. Texts come from data-* attributes.
(function () {
  "use strict";

  function pct(v) {
    return v === null || v === undefined ? null : Math.round(v * 1000) / 10;
  }

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
    var series = data.series.map(function (s) {
      return { name: s.name, type: "bar", data: s.data, barMaxWidth: 28 };
    });
    data.rates.forEach(function (r) {
      series.push({
        name: r.name,
        type: "line",
        yAxisIndex: 1,
        data: r.data.map(pct),
        connectNulls: false,
      });
    });
    chart.setOption({
      aria: { enabled: true, label: { description: el.getAttribute("data-msg-aria") || "" } },
      tooltip: { trigger: "axis", confine: true },
      legend: { top: 0, type: "scroll" },
      grid: { left: 48, right: 56, top: 48, bottom: 64, containLabel: true },
      xAxis: { type: "category", data: data.names, axisLabel: { interval: 0, rotate: data.names.length > 6 ? 30 : 0 } },
      yAxis: [
        { type: "value", name: el.getAttribute("data-label-counts") || "", minInterval: 1 },
        { type: "value", name: el.getAttribute("data-label-rates") || "", min: 0, max: 100 },
      ],
      series: series,
    });
    window.addEventListener("resize", function () {
      chart.resize();
    });
    el.setAttribute("data-chart-ready", "true");
  }

  document.querySelectorAll("[data-stats-chart]").forEach(draw);
})();
