/* safegrid pages: progressive enhancement only (every form works without it).
   Maps are Leaflet with GeoJSON outlines on a plain background (no tile server: works offline). */
(function () {
  'use strict';

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function json(el, attr) { try { return JSON.parse(el.getAttribute(attr) || 'null'); } catch (e) { return null; } }
  function getJSON(url) {
    return fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
  }

  /* ---- menu on phones ---- */
  var toggle = $('.menu-toggle');
  if (toggle) {
    toggle.addEventListener('click', function () {
      var open = toggle.getAttribute('aria-expanded') === 'true';
      toggle.setAttribute('aria-expanded', open ? 'false' : 'true');
      document.body.classList.toggle('nav-open', !open);
    });
  }

  /* ---- report form: category search, anonymous ---- */
  var filter = $('#cat-filter');
  if (filter) {
    filter.addEventListener('input', function () {
      var q = filter.value.trim().toLowerCase();
      $all('.cat-group').forEach(function (g) {
        var any = false;
        $all('.tile', g).forEach(function (t) {
          var hit = !q || (t.getAttribute('data-keywords') || '').toLowerCase().indexOf(q) >= 0;
          t.hidden = !hit;
          any = any || hit;
        });
        g.hidden = !any;
        if (q && any) { g.open = true; }
      });
    });
  }
  var anon = $('#anonymous');
  if (anon) {
    var contact = $('.contact');
    var sync = function () { if (contact) { contact.hidden = anon.checked; } };
    anon.addEventListener('change', sync);
    sync();
  }
  $all('.tile input[type=radio]').forEach(function (r) {
    r.addEventListener('change', function () {
      $all('.tile').forEach(function (t) { t.classList.remove('chosen'); });
      if (r.checked) { r.parentNode.classList.add('chosen'); }
    });
    if (r.checked) { r.parentNode.classList.add('chosen'); }
  });

  if (typeof L === 'undefined') { return; }

  /* ---- maps ---- */
  var outlineStyle = { color: '#4a6785', weight: 1, fillColor: '#dfe8f1', fillOpacity: 0.35 };
  var highlightStyle = { color: '#0b5cad', weight: 3, fillColor: '#0b5cad', fillOpacity: 0.15 };

  function baseMap(el) {
    var map = L.map(el, { preferCanvas: true, attributionControl: false, zoomSnap: 0.5 });
    var tiles = document.body.getAttribute('data-tiles');
    if (tiles) { L.tileLayer(tiles, { maxZoom: 19 }).addTo(map); }
    return map;
  }

  /* Outlines of the visible territory, simplified by the server for the zoom level. */
  function outlines(map) {
    var layer = L.geoJSON(null, {
      style: outlineStyle,
      interactive: false
    }).addTo(map);
    var seq = 0;
    function load() {
      var b = map.getBounds();
      var mine = ++seq;
      var url = '/web/geo/layer?zoom=' + map.getZoom() + '&bbox=' +
        [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (x) { return x.toFixed(5); }).join(',');
      getJSON(url).then(function (fc) {
        if (mine !== seq) { return; }
        layer.clearLayers();
        layer.addData(fc);
        map.getContainer().setAttribute('data-outlines', String(fc.features.length));
      }).catch(function () {});
    }
    map.on('moveend', load);
    return { layer: layer, load: load };
  }

  function fitTerritory(map, done) {
    getJSON('/web/geo/extent').then(function (e) {
      var b = e.bbox;
      if (b && b[0] < b[2]) { map.fitBounds([[b[1], b[0]], [b[3], b[2]]]); }
      else { map.setView([30.0, 120.0], 9); }
      if (done) { done(); }
    }).catch(function () { map.setView([30.0, 120.0], 9); });
  }

  function pickMap(el) {
    var map = baseMap(el);
    var o = outlines(map);
    var place = $('#place');
    var lat = $('#lat'), lon = $('#lon');
    var marker = null, gridLayer = null;
    function say(text) { if (place) { place.textContent = text; } }
    function setPoint(la, lo, pan) {
      if (!isFinite(la) || !isFinite(lo)) { return; }
      if (marker) { marker.setLatLng([la, lo]); } else { marker = L.marker([la, lo], { keyboard: false }).addTo(map); }
      lat.value = la.toFixed(6); lon.value = lo.toFixed(6);
      if (pan) { map.setView([la, lo], Math.max(map.getZoom() || 0, 16)); }
      getJSON('/api/v1/locate?lat=' + la + '&lon=' + lo).then(function (r) {
        if (gridLayer) { map.removeLayer(gridLayer); gridLayer = null; }
        if (!r.inside_territory) { say(place.getAttribute('data-outside')); el.setAttribute('data-grid-code', ''); return; }
        var names = (r.path || []).map(function (p) { return p.name; }).filter(Boolean).slice(2).join(' · ');
        if (r.grid) {
          say(place.getAttribute('data-grid') + ' ' + r.grid.name + ' (' + r.grid.code + ') · ' + names);
          el.setAttribute('data-grid-code', r.grid.code);
          getJSON('/api/v1/grids/' + r.grid.code).then(function (f) {
            gridLayer = L.geoJSON(f, { style: highlightStyle, interactive: false }).addTo(map);
          }).catch(function () {});
        } else {
          say(names);
          el.setAttribute('data-grid-code', '');
        }
      }).catch(function () {});
    }
    var la0 = parseFloat(el.getAttribute('data-lat')), lo0 = parseFloat(el.getAttribute('data-lon'));
    var center = (el.getAttribute('data-center') || '').split(',').map(parseFloat);
    if (isFinite(la0) && isFinite(lo0)) { map.setView([la0, lo0], 16); setPoint(la0, lo0, false); o.load(); }
    else if (center.length === 2 && isFinite(center[0]) && isFinite(center[1])) { map.setView(center, 16); o.load(); }
    else { fitTerritory(map, o.load); }
    map.on('click', function (e) { setPoint(e.latlng.lat, e.latlng.lng, false); });
    [lat, lon].forEach(function (i) {
      i.addEventListener('change', function () { setPoint(parseFloat(lat.value), parseFloat(lon.value), true); });
    });
    var btn = $('#use-location');
    if (btn) {
      btn.addEventListener('click', function () {
        if (!navigator.geolocation) { say(place.getAttribute('data-denied')); return; }
        say(place.getAttribute('data-locating'));
        navigator.geolocation.getCurrentPosition(function (p) {
          setPoint(p.coords.latitude, p.coords.longitude, true);
        }, function () { say(place.getAttribute('data-denied')); }, { enableHighAccuracy: true, timeout: 10000 });
      });
    }
  }

  function lightColor(l) { return l === 'red' ? '#c62828' : l === 'yellow' ? '#b58100' : l === 'green' ? '#1a7f37' : '#57606a'; }

  function pointsMap(el) {
    var map = baseMap(el);
    var o = outlines(map);
    var pts = json(el, 'data-points') || [];
    var group = L.featureGroup().addTo(map);
    pts.forEach(function (p) {
      var m = L.circleMarker([p[0], p[1]], { radius: 6, weight: 1, color: '#fff', fillOpacity: 0.9, fillColor: p[2] ? '#d9480f' : '#1a7f37' })
        .bindTooltip(String(p[3] || '')).addTo(group);
      // A fifth element is where a tap leads (today's tasks: the place's inspection form).
      if (typeof p[4] === 'string' && p[4].charAt(0) === '/') {
        m.on('click', function () { window.location.href = p[4]; });
      }
    });
    if (pts.length) { map.fitBounds(group.getBounds().pad(0.1)); o.load(); } else { fitTerritory(map, o.load); }
  }

  function caseMap(el) {
    var map = baseMap(el);
    var o = outlines(map);
    var la = parseFloat(el.getAttribute('data-lat')), lo = parseFloat(el.getAttribute('data-lon'));
    map.setView([la, lo], 16);
    L.marker([la, lo], { keyboard: false }).addTo(map);
    var g = el.getAttribute('data-grid');
    if (g) { getJSON('/api/v1/grids/' + g).then(function (f) { L.geoJSON(f, { style: highlightStyle, interactive: false }).addTo(map); }).catch(function () {}); }
    o.load();
  }

  function gridMap(el) {
    var map = baseMap(el);
    var o = outlines(map);
    var codes = (el.getAttribute('data-grids') || '').split(',').filter(Boolean);
    var group = L.featureGroup().addTo(map);
    var pts = json(el, 'data-points') || [];
    pts.forEach(function (p) {
      L.circleMarker([p[0], p[1]], { radius: 7, weight: 2, color: '#fff', fillOpacity: 0.95, fillColor: lightColor(p[4]) })
        .bindTooltip(String(p[2])).on('click', function () { window.location.href = '/work/cases/' + p[3]; }).addTo(group);
    });
    var pending = codes.length;
    if (!pending) { if (pts.length) { map.fitBounds(group.getBounds().pad(0.2)); } else { fitTerritory(map); } o.load(); return; }
    codes.forEach(function (c) {
      getJSON('/api/v1/grids/' + c).then(function (f) {
        L.geoJSON(f, { style: highlightStyle, interactive: false }).addTo(group);
      }).catch(function () {}).then(function () {
        pending -= 1;
        if (pending === 0) { map.fitBounds(group.getBounds().pad(0.2)); o.load(); }
      });
    });
  }

  function choropleth(el) {
    var map = baseMap(el);
    var fc = json(el, 'data-geo') || { features: [] };
    var vals = fc.features.map(function (f) { return f.properties.value; }).filter(function (v) { return v !== null && v !== undefined; });
    var min = Math.min.apply(null, vals.concat([0])), max = Math.max.apply(null, vals.concat([1]));
    var ramp = ['#eff3ff', '#c6dbef', '#9ecae1', '#6baed6', '#3182bd', '#08519c'];
    function color(v) {
      if (v === null || v === undefined) { return '#e0e0e0'; }
      var t = max > min ? (v - min) / (max - min) : 0.5;
      return ramp[Math.min(ramp.length - 1, Math.floor(t * ramp.length))];
    }
    var layer = L.geoJSON(fc, {
      style: function (f) { return { color: '#333', weight: 1, fillColor: color(f.properties.value), fillOpacity: 0.85 }; },
      onEachFeature: function (f, l) {
        var v = f.properties.value;
        l.bindTooltip(f.properties.name + ' · ' + (fc.measure || '') + ' ' + (v === null || v === undefined ? '—' : v.toFixed(1)));
        l.on('click', function () { if (f.properties.href) { window.location.href = f.properties.href; } });
      }
    }).addTo(map);
    el.setAttribute('data-features', String(fc.features.length));
    if (fc.features.length) { map.fitBounds(layer.getBounds()); } else { fitTerritory(map); }
  }

  var kinds = { pick: pickMap, points: pointsMap, 'case': caseMap, grid: gridMap, choropleth: choropleth };
  $all('[data-map]').forEach(function (el) {
    var f = kinds[el.getAttribute('data-map')];
    if (f) { try { f(el); el.setAttribute('data-ready', '1'); } catch (e) { el.setAttribute('data-error', String(e)); } }
  });

  /* ---- charts ---- */
  if (typeof echarts !== 'undefined') {
    $all('[data-chart=trend]').forEach(function (el) {
      var d = json(el, 'data-series');
      if (!d) { return; }
      var chart = echarts.init(el, null, { renderer: 'canvas' });
      chart.setOption({
        animation: false,
        tooltip: { trigger: 'axis' },
        legend: { data: [d.names.reported, d.names.closed, d.names.close_rate] },
        grid: { left: 48, right: 48, top: 40, bottom: 30 },
        xAxis: { type: 'category', data: d.labels },
        yAxis: [{ type: 'value' }, { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } }],
        series: [
          { name: d.names.reported, type: 'bar', data: d.reported, itemStyle: { color: '#6baed6' } },
          { name: d.names.closed, type: 'bar', data: d.closed, itemStyle: { color: '#08519c' } },
          { name: d.names.close_rate, type: 'line', yAxisIndex: 1, data: d.close_rate, itemStyle: { color: '#d9480f' } }
        ]
      });
      window.addEventListener('resize', function () { chart.resize(); });
      el.setAttribute('data-ready', '1');
    });
  }
})();
