// Grid map: loads the GeoJSON of the current drill level (streets, communities or grids, with
// their counts in properties), registers it with ECharts and colours it by the chosen count.
// Clicking a region follows its `url` property: street → community → grid → grid profile.
// CSP is script-src 'self': no inline script, no eval; URLs and texts come from data-* attributes.
(function () {
  "use strict";

  var METRICS = ["people", "places", "things", "organisations"];
  var COLOURS = ["#e8f0fb", "#9cc0ea", "#3f7fcf", "#0b4a9c", "#062a5c"];

  function setStatus(el, text) {
    var status = el.querySelector("[data-map-status]");
    if (!status) {
      status = document.createElement("p");
      status.className = "grid-map-status muted";
      status.setAttribute("data-map-status", "");
      el.appendChild(status);
    }
    status.textContent = text;
    status.hidden = !text;
  }

  function label(el, key) {
    return el.getAttribute("data-label-" + key) || key;
  }

  function bboxOf(geojson) {
    var box = [Infinity, Infinity, -Infinity, -Infinity];
    function walk(coords) {
      if (typeof coords[0] === "number") {
        box[0] = Math.min(box[0], coords[0]);
        box[1] = Math.min(box[1], coords[1]);
        box[2] = Math.max(box[2], coords[0]);
        box[3] = Math.max(box[3], coords[1]);
        return;
      }
      coords.forEach(walk);
    }
    geojson.features.forEach(function (f) {
      if (f.geometry && f.geometry.coordinates) walk(f.geometry.coordinates);
    });
    return box;
  }

  // Fit the map into the chart keeping its shape: bound by the width when the map is wider
  // than the free area, else by the height; clear of the legend in the lower left corner.
  function fit(el, box, aspectScale) {
    var w = Math.max(el.clientWidth - 120, 50);
    var h = Math.max(el.clientHeight - 48, 50);
    var bh = box[3] - box[1];
    var aspect = bh > 0 ? ((box[2] - box[0]) * aspectScale) / bh : 1;
    if (aspect > w / h) return { left: 96, right: 24, top: "middle" };
    return { top: 24, bottom: 24, left: "center" };
  }

  function seriesData(features, metric, focus) {
    return features.map(function (f) {
      var p = f.properties || {};
      var item = {
        name: p.code,
        value: Number(p[metric] || 0),
        props: p,
      };
      if (focus && p.code === focus) {
        item.itemStyle = { borderColor: "#c8102e", borderWidth: 3 };
      }
      return item;
    });
  }

  function maxOf(data) {
    return data.reduce(function (m, d) {
      return Math.max(m, d.value);
    }, 0);
  }

  function tooltip(el, metric) {
    var enc = window.echarts.format.encodeHTML;
    return function (params) {
      var p = (params.data && params.data.props) || {};
      var lines = ["<strong>" + enc(p.name || params.name) + "</strong>"];
      lines.push(enc(label(el, "code")) + ": " + enc(p.code || ""));
      METRICS.forEach(function (m) {
        var text = enc(label(el, m)) + ": " + enc(String(p[m] || 0));
        lines.push(m === metric ? "<strong>" + text + "</strong>" : text);
      });
      if (p.level && p.level !== "grid") {
        lines.push(enc(label(el, "grids")) + ": " + enc(String(p.grids || 0)));
      }
      return lines.join("<br>");
    };
  }

  function option(el, state) {
    var data = seriesData(state.features, state.metric, el.getAttribute("data-focus"));
    var box = state.bbox;
    var midLat = (box[1] + box[3]) / 2;
    var aspectScale = Math.cos((midLat * Math.PI) / 180) || 0.85;
    var many = state.features.length > 40;
    return {
      aria: { enabled: true, label: { description: el.getAttribute("data-msg-aria") || "" } },
      tooltip: { trigger: "item", confine: true, formatter: tooltip(el, state.metric) },
      visualMap: {
        type: "continuous",
        min: 0,
        max: Math.max(1, maxOf(data)),
        calculable: true,
        precision: 0,
        left: 8,
        bottom: 8,
        text: [label(el, state.metric), ""],
        inRange: { color: COLOURS },
      },
      series: [
        Object.assign(fit(el, box, aspectScale), {
          id: "grids",
          type: "map",
          map: state.mapName,
          nameProperty: "code",
          roam: true,
          aspectScale: aspectScale,
          selectedMode: false,
          label: {
            show: !many,
            color: "#1f2329",
            fontSize: 13,
            textBorderColor: "#ffffff",
            textBorderWidth: 3,
            formatter: function (params) {
              var p = (params.data && params.data.props) || {};
              return (p.name || params.name) + "\n" + (p[state.metric] || 0);
            },
          },
          itemStyle: { borderColor: "#ffffff", borderWidth: 1 },
          emphasis: {
            label: { show: true, color: "#1f2329", textBorderColor: "#ffffff", textBorderWidth: 3 },
            itemStyle: { areaColor: "#f5a623" },
          },
          data: data,
        }),
      ],
    };
  }

  function currentMetric(select, el) {
    var m = select ? select.value : el.getAttribute("data-metric");
    return METRICS.indexOf(m) === -1 ? METRICS[0] : m;
  }

  // The table under the map marks the column of the count the map is coloured by.
  function markColumn(metric) {
    document.querySelectorAll("[data-metric-col]").forEach(function (th) {
      th.classList.toggle("current", th.getAttribute("data-metric-col") === metric);
    });
  }

  function remember(metric) {
    if (!window.history || !window.history.replaceState) return;
    var url = new URL(window.location.href);
    url.searchParams.set("metric", metric);
    window.history.replaceState(null, "", url.toString());
  }

  function setup(el) {
    var echarts = window.echarts;
    if (!echarts) return;
    var controls = document.querySelector("[data-map-controls]");
    var select = controls ? controls.querySelector("select[name=metric]") : null;
    var apply = controls ? controls.querySelector("[data-map-apply]") : null;
    if (apply) apply.remove(); // the select applies itself; the button is the no-JS path
    var url = el.getAttribute("data-geojson-url");
    var state = { mapName: el.getAttribute("data-map-name") || "yiwang-grids", metric: "" };
    state.metric = currentMetric(select, el);

    fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (resp) {
        if (resp.redirected && resp.url.indexOf("/accounts/login/") !== -1) {
          window.location.assign(resp.url);
          throw new Error("session expired");
        }
        if (!resp.ok) throw new Error("HTTP " + resp.status);
        return resp.json();
      })
      .then(function (geojson) {
        state.features = geojson.features || [];
        if (!state.features.length) {
          setStatus(el, el.getAttribute("data-msg-empty") || "");
          return;
        }
        setStatus(el, "");
        state.bbox = bboxOf(geojson);
        echarts.registerMap(state.mapName, geojson);
        var chart = echarts.init(el, null, { renderer: "svg" });
        chart.setOption(option(el, state));
        chart.on("click", function (params) {
          var p = params.data && params.data.props;
          if (p && p.url) window.location.assign(p.url);
        });
        if (select) {
          select.addEventListener("change", function () {
            state.metric = currentMetric(select, el);
            chart.setOption(option(el, state), { replaceMerge: ["series"] });
            remember(state.metric);
            markColumn(state.metric);
          });
        }
        window.addEventListener("resize", function () {
          chart.resize();
          chart.setOption(option(el, state), { replaceMerge: ["series"] });
        });
        el.setAttribute("data-map-ready", "true");
      })
      .catch(function (err) {
        if (err && err.message === "session expired") return;
        setStatus(el, el.getAttribute("data-msg-error") || "");
      });
  }

  function init() {
    document.querySelectorAll("[data-grid-map]").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
