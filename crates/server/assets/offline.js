/* safegrid: the page side of the offline app (docs/offline.md). On staff pages only
 * (body[data-offline-app]): registers the service worker (assets/sw.js), gives each offline form a
 * fresh client_id when it is shown, names its submission for the outbox, keeps the pages the
 * tasks list links to, asks the worker to send the outbox (load, online, every 30 s, "send now"),
 * shows the count waiting in the header and draws /work/outbox from the phone's queue. */
(function () {
  'use strict';
  var body = document.body;
  if (!body || !body.hasAttribute('data-offline-app')) { return; }
  var DB_NAME = 'safegrid-offline';

  /* A UUID version 7 (time-ordered, as the server's ids): the submission's id on this phone. */
  function uuidv7() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    var ts = Date.now();
    var hi = Math.floor(ts / 4294967296);
    b[0] = (hi >>> 8) & 255; b[1] = hi & 255;
    b[2] = (ts >>> 24) & 255; b[3] = (ts >>> 16) & 255; b[4] = (ts >>> 8) & 255; b[5] = ts & 255;
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }

  /* Each showing of a form is a new submission (a page kept by the worker is shown many times). */
  function freshIds() {
    document.querySelectorAll('form[data-offline]').forEach(function (f) {
      var id = uuidv7();
      f.querySelectorAll('[data-client-id]').forEach(function (i) { i.value = id; });
      var c = f.querySelector('input[name=client_id]');
      if (!c) {
        c = document.createElement('input');
        c.type = 'hidden'; c.name = 'client_id';
        f.appendChild(c);
      }
      c.value = id;
    });
  }
  freshIds();
  window.addEventListener('pageshow', function (e) { if (e.persisted) { freshIds(); } });

  function db() {
    return new Promise(function (ok, fail) {
      var r = indexedDB.open(DB_NAME, 1);
      r.onupgradeneeded = function () {
        r.result.createObjectStore('outbox', { keyPath: 'id' });
        r.result.createObjectStore('titles', { keyPath: 'id' });
      };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { fail(r.error); };
    });
  }
  function tx(store, mode, f) {
    return db().then(function (d) {
      return new Promise(function (ok, fail) {
        var t = d.transaction(store, mode);
        var out = f(t.objectStore(store));
        t.oncomplete = function () { ok(out && 'result' in out ? out.result : undefined); };
        t.onerror = function () { fail(t.error); };
      });
    });
  }
  function all() { return tx('outbox', 'readonly', function (s) { return s.getAll(); }); }

  /* The submission's name in the outbox, written before the form leaves (the worker reads it
   * when the server cannot be reached). */
  document.addEventListener('submit', function (ev) {
    var f = ev.target;
    if (!(f instanceof HTMLFormElement) || !f.hasAttribute('data-offline') || ev.defaultPrevented) { return; }
    var c = f.querySelector('input[name=client_id]');
    if (!c || !c.value) { return; }
    var what = f.getAttribute('data-offline');
    var d = f.querySelector('textarea[name=description], textarea[name=note]');
    if (d && d.value.trim()) { what += ' · ' + d.value.trim().slice(0, 60); }
    ev.preventDefault();
    var go = function () { HTMLFormElement.prototype.submit.call(f); };
    tx('titles', 'readwrite', function (s) {
      return s.put({ id: c.value, title: what, page: location.pathname + location.search, user: body.getAttribute('data-user'), at: Date.now() });
    }).then(go, go);
  }, false);

  var sw = navigator.serviceWorker;
  function flush() {
    if (sw && sw.controller) { sw.controller.postMessage({ type: 'flush' }); }
  }

  /* ---- the header's badge ---- */
  var badge = document.getElementById('outbox-badge');
  function counts(items) {
    var c = { waiting: 0, refused: 0, sent: 0 };
    items.forEach(function (i) { c[i.status] = (c[i.status] || 0) + 1; });
    return c;
  }
  function refresh() {
    return all().then(function (items) {
      var c = counts(items);
      if (badge) {
        badge.hidden = !(c.waiting || c.refused);
        badge.classList.toggle('has-refused', c.refused > 0);
        var n = document.getElementById('outbox-count');
        if (n) { n.textContent = String(c.waiting); }
        badge.setAttribute('data-waiting', String(c.waiting));
        badge.setAttribute('data-refused', String(c.refused));
      }
      drawOutbox(items);
      return c;
    }).catch(function () {});
  }

  /* ---- the outbox page ---- */
  var box = document.getElementById('outbox');
  function when(ms) {
    try { return new Date(ms).toLocaleString(body.getAttribute('data-lang') === 'en' ? 'en' : 'zh-CN', { timeZone: 'Asia/Shanghai' }); } catch (e) { return new Date(ms).toISOString(); }
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text) { e.textContent = text; }
    return e;
  }
  function drawOutbox(items) {
    if (!box) { return; }
    var t = function (k) { return box.getAttribute('data-' + k) || ''; };
    ['waiting', 'refused', 'sent'].forEach(function (status) {
      var list = document.getElementById('outbox-' + status);
      var mine = items.filter(function (i) { return i.status === status; })
        .sort(function (a, b) { return b.created - a.created; });
      document.getElementById(status + '-count').textContent = '(' + mine.length + ')';
      list.textContent = '';
      if (!mine.length) { list.appendChild(el('li', 'empty', t('empty'))); }
      mine.forEach(function (i) {
        var li = el('li', 'case-row outbox-item');
        li.setAttribute('data-id', i.id);
        li.setAttribute('data-status', i.status);
        li.appendChild(el('strong', 'outbox-title', i.title));
        var photos = i.fields.filter(function (f) { return f[1] instanceof Blob && f[1].size > 0; }).length;
        var meta = t('saved-at') + ' ' + when(i.created) + (photos ? ' · ' + photos + ' ' + t('photos') : '');
        if (i.sent) { meta += ' · ' + t('sent-at') + ' ' + when(i.sent); }
        if (i.tries) { meta += ' · ' + t('tries') + ' ' + i.tries; }
        li.appendChild(el('p', 'status', meta));
        if (status === 'waiting' && i.note) {
          var note = { login: 'login', other: 'other' }[i.note] || 'unreachable';
          li.appendChild(el('p', 'hint outbox-note', t(note) + (note === 'other' && i.user ? ' (' + i.user + ')' : '')));
        }
        if (status === 'refused' && i.refusal) {
          var why = el('ul', 'outbox-refusal field-error');
          why.setAttribute('data-http', String(i.refusal.status));
          if (i.refusal.state) { why.setAttribute('data-state', i.refusal.state); }
          i.refusal.errors.forEach(function (e) {
            var w = el('li', null, e.message);
            w.setAttribute('data-field', e.field);
            why.appendChild(w);
          });
          li.appendChild(why);
          var rm = el('button', 'link outbox-dismiss', t('dismiss'));
          rm.type = 'button';
          rm.addEventListener('click', function () {
            tx('outbox', 'readwrite', function (s) { return s.delete(i.id); }).then(refresh);
          });
          li.appendChild(rm);
        }
        if (status === 'sent' && i.result) {
          var a = el('a', 'outbox-result', t('open'));
          a.href = i.result;
          li.appendChild(a);
        }
        list.appendChild(li);
      });
    });
  }
  if (box) {
    var statusLine = document.getElementById('outbox-status');
    if (!sw) { statusLine.textContent = box.getAttribute('data-no-sw'); }
    document.getElementById('send-now').addEventListener('click', function () {
      statusLine.textContent = box.getAttribute('data-sending');
      flush();
    });
    var tilesButton = document.getElementById('save-tiles');
    if (tilesButton) { tilesButton.addEventListener('click', function () { saveTiles(tilesButton); }); }
  }

  /* ---- map tiles over the worker's grids ---- */
  function tileRange(bbox, z) {
    var n = Math.pow(2, z);
    var x = function (lon) { return Math.floor((lon + 180) / 360 * n); };
    var y = function (lat) {
      var r = lat * Math.PI / 180;
      return Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n);
    };
    return { x0: x(bbox[0]), x1: x(bbox[2]), y0: y(bbox[3]), y1: y(bbox[1]) };
  }
  function saveTiles(button) {
    var tpl = button.getAttribute('data-tile-url');
    var bbox = button.getAttribute('data-bbox').split(',').map(Number);
    var urls = [];
    for (var z = 12; z <= 18 && urls.length < 3000; z++) {
      var r = tileRange(bbox, z);
      if ((r.x1 - r.x0 + 1) * (r.y1 - r.y0 + 1) + urls.length > 3000) { break; }
      for (var tx_ = r.x0; tx_ <= r.x1; tx_++) {
        for (var ty = r.y0; ty <= r.y1; ty++) {
          urls.push(tpl.replace('{z}', z).replace('{x}', tx_).replace('{y}', ty).replace('{s}', 'abc'[(tx_ + ty) % 3]).replace('{r}', ''));
        }
      }
    }
    var out = document.getElementById('tiles-status');
    var done = 0;
    button.disabled = true;
    caches.open('safegrid-tiles').then(function (c) {
      var next = function () {
        var u = urls.shift();
        if (!u) { return Promise.resolve(); }
        return fetch(u, { mode: 'no-cors' }).then(function (r) { return c.put(u, r); }).catch(function () {})
          .then(function () { done += 1; out.textContent = done + ' / ' + (done + urls.length); return next(); });
      };
      return Promise.all([next(), next(), next(), next()]);
    }).then(function () { out.textContent = out.getAttribute('data-done') + ' (' + done + ')'; button.disabled = false; });
  }

  /* ---- the worker, and when to send ---- */
  if (sw) {
    sw.register('/sw.js', { scope: '/' }).then(function () { return sw.ready; }).then(function (reg) {
      // The pages today's tasks link to (inspection forms, cases to verify), kept for offline use.
      var keep = Array.prototype.map.call(document.querySelectorAll('a[data-offline-cache]'), function (a) { return a.getAttribute('href'); });
      if (keep.length && reg.active) { reg.active.postMessage({ type: 'keep', urls: keep }); }
      body.setAttribute('data-sw', 'ready');
      flush();
    }).catch(function () { body.setAttribute('data-sw', 'failed'); });
    sw.addEventListener('message', function (e) {
      if (e.data && e.data.type === 'outbox') {
        refresh().then(function (c) {
          var line = document.getElementById('outbox-status');
          if (line && e.data.what === 'flushed' && c && !c.waiting) { line.textContent = box.getAttribute('data-done'); }
        });
      }
    });
  }
  window.addEventListener('online', flush);
  setInterval(function () {
    refresh().then(function (c) { if (c && c.waiting) { flush(); } });
  }, 30000);
  refresh();
  if (box && /[?&]queued=/.test(location.search)) {
    var q = document.getElementById('outbox-status');
    if (q) { q.textContent = body.getAttribute('data-queued'); }
  }
})();
