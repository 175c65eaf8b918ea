// Case intake pages (resident report, patrol, 12345 desk): a small ECharts map of the grids to
// click the place on, "use my location", the extra fields of the chosen category, and the
// nearby open cases of the same category (possible duplicates) before submitting.
// CSP is script-src 'self': no inline script, no eval; URLs and texts come from data-*.
(function () {
  "use strict";

  var form = document.querySelector("form.case-form");
  if (!form) return;
  var lngInput = form.querySelector("[data-lng]");
  var latInput = form.querySelector("[data-lat]");
  var category = form.querySelector("[data-category]");
  var chart = null;

  function round6(v) {
    return Math.round(v * 1e6) / 1e6;
  }

  function point() {
    var lng = parseFloat(lngInput.value);
    var lat = parseFloat(latInput.value);
    return isFinite(lng) && isFinite(lat) ? [lng, lat] : null;
  }

  // --- extra fields per category: show only the chosen category's ---------------------------
  function showAttributes() {
    var code = category ? category.value : "";
    form.querySelectorAll("[data-attrs-for]").forEach(function (fs) {
      var on = fs.getAttribute("data-attrs-for") === code;
      fs.hidden = !on;
      fs.disabled = !on;
    });
  }

  // --- possible duplicates -----------------------------------------------------------------
  var dupTimer = null;
  function checkDuplicates() {
    var box = form.querySelector("[data-duplicates]");
    var p = point();
    if (!box || !p || !category || !category.value) {
      if (box) box.hidden = true;
      return;
    }
    clearTimeout(dupTimer);
    dupTimer = setTimeout(function () {
      var url =
        box.getAttribute("data-url") +
        "?category=" + encodeURIComponent(category.value) +
        "&lng=" + encodeURIComponent(p[0]) +
        "&lat=" + encodeURIComponent(p[1]);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          return r.ok ? r.json() : [];
        })
        .then(function (rows) {
          box.textContent = "";
          if (!rows.length) {
            box.hidden = true;
            return;
          }
          var title = document.createElement("p");
          title.textContent = box.getAttribute("data-msg-title") || "";
          box.appendChild(title);
          var list = document.createElement("ul");
          rows.forEach(function (d) {
            var li = document.createElement("li");
            li.setAttribute("data-duplicate", String(d.id));
            li.textContent =
              "#" + d.id + " · " + d.state_name + " · " + Math.round(d.distance_m) + " " +
              (box.getAttribute("data-msg-distance") || "m") + " · " + d.description;
            list.appendChild(li);
          });
          box.appendChild(list);
          box.hidden = false;
        })
        .catch(function () {
          box.hidden = true;
        });
    }, 250);
  }

  // --- the map -------------------------------------------------------------------------------
  function marker() {
    var p = point();
    return p ? [{ value: p }] : [];
  }

  function setPoint(lng, lat) {
    lngInput.value = String(round6(lng));
    latInput.value = String(round6(lat));
    if (chart) chart.setOption({ series: [{ id: "pin", data: marker() }] });
    checkDuplicates();
  }

  function setStatus(el, text) {
    var status = el.querySelector("[data-map-status]");
    if (status) {
      status.textContent = text;
      status.hidden = !text;
    }
  }

  function bboxOf(geojson) {
    var box = [Infinity, Infinity, -Infinity, -Infinity];
    function walk(c) {
      if (typeof c[0] === "number") {
        box[0] = Math.min(box[0], c[0]);
        box[1] = Math.min(box[1], c[1]);
        box[2] = Math.max(box[2], c[0]);
        box[3] = Math.max(box[3], c[1]);
        return;
      }
      c.forEach(walk);
    }
    geojson.features.forEach(function (f) {
      if (f.geometry && f.geometry.coordinates) walk(f.geometry.coordinates);
    });
    return box;
  }

  // Fit the whole territory in the box keeping its shape: bound by the width when the
  // territory is wider than the box, else by the height.
  function fit(el, box) {
    var w = Math.max(el.clientWidth - 32, 50);
    var h = Math.max(el.clientHeight - 32, 50);
    var midLat = (box[1] + box[3]) / 2;
    var bh = box[3] - box[1];
    var aspect = bh > 0 ? ((box[2] - box[0]) * Math.cos((midLat * Math.PI) / 180)) / bh : 1;
    if (aspect > w / h) return { left: 16, right: 16, top: "middle" };
    return { top: 16, bottom: 16, left: "center" };
  }

  function initMap(el) {
    if (!window.echarts) {
      setStatus(el, el.getAttribute("data-msg-error") || "");
      return;
    }
    fetch(el.getAttribute("data-geojson-url"), { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      })
      .then(function (geojson) {
        setStatus(el, "");
        if (!geojson.features || !geojson.features.length) {
          setStatus(el, el.getAttribute("data-msg-error") || "");
          return;
        }
        window.echarts.registerMap("yiwang-territory", geojson);
        var names = {};
        geojson.features.forEach(function (f) {
          var p = f.properties || {};
          names[p.code] = p.name + " (" + p.code + ")";
        });
        chart = window.echarts.init(el, null, { renderer: "svg" });
        var geo = Object.assign(
          {
            map: "yiwang-territory",
            nameProperty: "code",
            roam: true,
            itemStyle: { areaColor: "#e8f0fb", borderColor: "#3f7fcf" },
            emphasis: { itemStyle: { areaColor: "#9cc0ea" }, label: { show: false } },
            select: { disabled: true },
            tooltip: {
              formatter: function (params) {
                return window.echarts.format.encodeHTML(names[params.name] || params.name || "");
              },
            },
          },
          fit(el, bboxOf(geojson))
        );
        chart.setOption({
          aria: { enabled: true, label: { description: el.getAttribute("data-msg-aria") || "" } },
          tooltip: { trigger: "item", confine: true },
          geo: geo,
          series: [
            {
              id: "pin",
              type: "scatter",
              coordinateSystem: "geo",
              symbol: "pin",
              symbolSize: 28,
              itemStyle: { color: "#c8102e" },
              data: marker(),
              tooltip: { show: false },
            },
          ],
        });
        chart.getZr().on("click", function (evt) {
          var xy = chart.convertFromPixel({ geoIndex: 0 }, [evt.offsetX, evt.offsetY]);
          if (xy && isFinite(xy[0]) && isFinite(xy[1])) setPoint(xy[0], xy[1]);
        });
        window.addEventListener("resize", function () {
          chart.resize();
        });
        el.setAttribute("data-map-ready", "true");
      })
      .catch(function () {
        setStatus(el, el.getAttribute("data-msg-error") || "");
      });
  }

  // --- wiring --------------------------------------------------------------------------------
  var mapEl = document.querySelector("[data-report-map]");
  if (mapEl) initMap(mapEl);
  if (category) {
    category.addEventListener("change", function () {
      showAttributes();
      checkDuplicates();
    });
  }
  showAttributes();
  [lngInput, latInput].forEach(function (input) {
    if (!input) return;
    input.addEventListener("change", function () {
      if (chart) chart.setOption({ series: [{ id: "pin", data: marker() }] });
      checkDuplicates();
    });
  });
  var locate = form.querySelector("[data-use-location]");
  if (locate) {
    if (!navigator.geolocation) locate.hidden = true;
    locate.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          setPoint(pos.coords.longitude, pos.coords.latitude);
        },
        function () {
          window.alert(locate.getAttribute("data-msg-denied") || "");
        },
        { enableHighAccuracy: true, timeout: 10000 }
      );
    });
  }
  checkDuplicates();
})();
