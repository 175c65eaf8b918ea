// 好差评 pages: the statistics chart and, on the rating form, the problems shown only for
// dissatisfied levels. CSP is script-src 'self': no inline script; data from a json_script
// block and texts from data-* attributes.
(function () {
  "use strict";

  function pct(v) {
    return v === null || v === undefined ? null : Math.round(v * 1000) / 10;
  }

  function drawChart(el) {
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
    var colours = { 5: "#1a7f37", 4: "#4caf50", 3: "#9ccc65", 2: "#f59e0b", 1: "#c8102e" };
    var series = data.series.map(function (s) {
      return {
        name: s.name,
        type: "bar",
        stack: "levels",
        data: s.data,
        barMaxWidth: 36,
        itemStyle: { color: colours[s.key] },
      };
    });
    data.rates.forEach(function (r) {
      series.push({ name: r.name, type: "line", yAxisIndex: 1, data: r.data.map(pct) });
    });
    chart.setOption({
      aria: { enabled: true, label: { description: el.getAttribute("data-msg-aria") || "" } },
      tooltip: { trigger: "axis", confine: true },
      legend: { top: 0, type: "scroll" },
      grid: { left: 48, right: 56, top: 48, bottom: 64, containLabel: true },
      xAxis: {
        type: "category",
        data: data.names,
        axisLabel: { interval: 0, rotate: data.names.length > 5 ? 30 : 0 },
      },
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

  function ratingForm(form) {
    var problems = form.querySelector("[data-problems]");
    if (!problems) return;
    function sync() {
      var checked = form.querySelector("input[name=level]:checked");
      var negative = checked && checked.getAttribute("data-negative") === "1";
      var hasError = problems.classList.contains("has-error");
      problems.hidden = !negative && !hasError;
    }
    form.querySelectorAll("input[name=level]").forEach(function (input) {
      input.addEventListener("change", sync);
    });
    sync();
  }

  document.querySelectorAll("[data-ratings-chart]").forEach(drawChart);
  document.querySelectorAll("[data-testid=rating-form]").forEach(ratingForm);
})();
