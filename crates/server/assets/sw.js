/* safegrid service worker: the grid worker's pages offline (docs/offline.md).
 * Served at /sw.js by web/offline.rs, which puts VERSION, ASSETS and TILE_URL in front of this file.
 *
 * - Assets: kept at install, answered from the cache (their cache is named by VERSION).
 * - Pages (GET navigations to / and /work/…): from the network, kept; from the cache when the
 *   server cannot be reached.
 * - Form submissions (POST) that carry a client_id: sent as usual; when the server cannot be
 *   reached, stored in IndexedDB (photos as Blobs) and the page goes to /work/outbox.
 * - The outbox is sent (flush) on a message from a page (load, online, every 30 s, "send now"),
 *   after any page loads from the network, and on Background Sync where the browser has it. Each
 *   submission is sent with X-Safegrid-Offline: refusals come back as JSON and are kept, with
 *   their reason, for the worker to see; the server answers a copy it already has as a success.
 */
/* global VERSION, ASSETS, TILE_URL */
'use strict';

var ASSET_CACHE = 'safegrid-assets-' + VERSION;
var PAGE_CACHE = 'safegrid-pages';
var TILE_CACHE = 'safegrid-tiles';
var SHELL = ['/', '/work/tasks', '/work/outbox'];
var DB_NAME = 'safegrid-offline';

self.addEventListener('install', function (ev) {
  ev.waitUntil(caches.open(ASSET_CACHE).then(function (c) {
    return c.addAll(ASSETS);
  }).then(function () {
    return keepPages(SHELL);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (ev) {
  ev.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf('safegrid-assets-') === 0 && n !== ASSET_CACHE;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

/* Pages of the signed-in worker, fetched with the session cookie; a page that does not answer 200
 * (not this role's, or logged out) is not kept. */
function keepPages(urls) {
  return caches.open(PAGE_CACHE).then(function (c) {
    return Promise.all(urls.map(function (u) {
      return fetch(u, { credentials: 'same-origin' }).then(function (r) {
        if (r.ok && !r.redirected) { return c.put(u, r); }
      }).catch(function () {});
    }));
  });
}

function tileMatches(url) {
  if (!TILE_URL) { return false; }
  var prefix = TILE_URL.split('{')[0];
  if (prefix.indexOf('//') < 0 || prefix.length < 10) { return false; }
  // A {s} subdomain in the host: match on what follows it.
  var host = TILE_URL.indexOf('{s}') >= 0 ? TILE_URL.split('{s}')[1].split('/')[0] : null;
  return host ? url.indexOf(host) >= 0 : url.indexOf(prefix) === 0;
}

self.addEventListener('fetch', function (ev) {
  var req = ev.request;
  var url = new URL(req.url);
  if (req.method === 'GET' && tileMatches(req.url)) {
    ev.respondWith(caches.open(TILE_CACHE).then(function (c) {
      return c.match(req).then(function (hit) {
        return hit || fetch(req).then(function (r) {
          if (r.ok || r.type === 'opaque') { c.put(req, r.clone()); }
          return r;
        });
      });
    }));
    return;
  }
  if (url.origin !== self.location.origin) { return; }
  if (req.method === 'POST') {
    if (url.pathname === '/logout') {
      // Another account may use this phone next: its pages are not left behind.
      caches.delete(PAGE_CACHE);
      return;
    }
    ev.respondWith(submit(req));
    return;
  }
  if (req.method !== 'GET') { return; }
  if (url.pathname.indexOf('/assets/') === 0) {
    ev.respondWith(caches.match(req).then(function (hit) { return hit || fetch(req); }));
    return;
  }
  if (req.mode === 'navigate' && (url.pathname === '/' || url.pathname.indexOf('/work/') === 0 || url.pathname === '/work')) {
    ev.respondWith(fetch(req).then(function (r) {
      if (r.ok && !r.redirected) {
        var copy = r.clone();
        caches.open(PAGE_CACHE).then(function (c) { return c.put(req, copy); });
      }
      // The server answers again: whatever waits can go.
      ev.waitUntil(flush());
      return r;
    }).catch(function () {
      return caches.open(PAGE_CACHE).then(function (c) {
        return c.match(req).then(function (hit) {
          return hit || c.match(req, { ignoreSearch: true });
        });
      }).then(function (hit) {
        return hit || offlinePage();
      });
    }));
  }
});

function offlinePage() {
  return caches.match('/work/outbox').then(function (hit) {
    return hit || new Response('<!doctype html><meta charset="utf-8"><title>offline</title><p>离线 · offline</p>',
      { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8' } });
  });
}

/* A form submission: sent; kept in the outbox when the server cannot be reached and the form is an
 * offline one (it carries a client_id). */
function submit(req) {
  var copy = req.clone();
  return fetch(req).catch(function (err) {
    return copy.formData().then(function (fd) {
      var id = fd.get('client_id');
      if (!id) { throw err; }
      var fields = [];
      fd.forEach(function (v, k) { fields.push([k, v]); });
      return db().then(function (d) {
        return get(d, 'titles', id).then(function (t) {
          return put(d, 'outbox', {
            id: id,
            url: copy.url,
            fields: fields,
            // Sent again as it came: a urlencoded form's handler reads no multipart body.
            multipart: (copy.headers.get('content-type') || '').indexOf('multipart/') === 0,
            title: t ? t.title : new URL(copy.url).pathname,
            page: t ? t.page : '',
            user: t ? t.user : null,
            created: Date.now(),
            status: 'waiting',
            tries: 0
          });
        });
      }).then(function () {
        notify();
        if (self.registration.sync) { self.registration.sync.register('outbox').catch(function () {}); }
        return Response.redirect('/work/outbox?queued=' + encodeURIComponent(id), 303);
      });
    }, function () { throw err; });
  });
}

self.addEventListener('message', function (ev) {
  if (ev.data && ev.data.type === 'flush') { ev.waitUntil(flush()); }
  if (ev.data && ev.data.type === 'keep' && Array.isArray(ev.data.urls)) {
    ev.waitUntil(keepPages(ev.data.urls.slice(0, 50)));
  }
});

self.addEventListener('sync', function (ev) {
  if (ev.tag === 'outbox') { ev.waitUntil(flush()); }
});

/* ---- the outbox ---- */

var flushing = null;

function flush() {
  if (!flushing) {
    flushing = sendAll().catch(function () {}).then(function () {
      flushing = null;
      notify('flushed');
    });
  }
  return flushing;
}

/* The session's current form token and account: a queued form keeps the token of the page it
 * was filled on, which a new login (after the session ran out) replaced; and it is sent only under
 * the account that filled it in (another may use the phone meanwhile). `null` when logged out. */
function freshToken() {
  return fetch('/work/outbox', { credentials: 'same-origin', headers: { 'X-Safegrid-Offline': '1' } }).then(function (r) {
    if (!r.ok || r.redirected) { return null; }
    return r.text().then(function (html) {
      var m = html.match(/"X-CSRF-Token": "([^"]+)"/);
      var u = html.match(/data-user="([^"]*)"/);
      return m ? { token: m[1], user: u ? u[1] : null } : null;
    });
  });
}

function sendAll() {
  return db().then(function (d) {
    return all(d, 'outbox').then(function (items) {
      var waiting = items.filter(function (i) { return i.status === 'waiting'; });
      if (!waiting.length) { return; }
      return freshToken().then(function (session) {
        var others = waiting.filter(function (i) { return !session || (i.user && i.user !== session.user); });
        others.forEach(function (i) { i.note = session ? 'other' : 'login'; });
        var mine = waiting.filter(function (i) { return others.indexOf(i) < 0; });
        // One at a time, oldest first; the server gone again stops the round.
        return Promise.all(others.map(function (i) { return put(d, 'outbox', i); })).then(function () {
          return mine.sort(function (a, b) { return a.created - b.created; }).reduce(function (p, item) {
            return p.then(function (go) {
              if (go === false) { return false; }
              return sendOne(d, item, session.token);
            });
          }, Promise.resolve(true));
        });
      }, function () {
        waiting.forEach(function (i) { i.note = 'unreachable'; });
        return Promise.all(waiting.map(function (i) { i.tries += 1; return put(d, 'outbox', i); }));
      });
    });
  });
}

function sendOne(d, item, token) {
  var multipart = item.multipart !== undefined ? item.multipart
    : item.fields.some(function (f) { return f[1] instanceof Blob; });
  if (!multipart) { return sendParts(d, item, token, null); }
  var fd = new FormData();
  item.fields.forEach(function (f) {
    var v = f[0] === 'csrf' ? token : f[1];
    if (v instanceof Blob) {
      // A file input left empty is sent as no file at all (an empty unnamed part is not a photo).
      if (v.size > 0) { fd.append(f[0], v, v.name || 'photo.jpg'); }
    } else {
      fd.append(f[0], v);
    }
  });
  return sendParts(d, item, token, fd);
}

/* Posts one queued form: `fd` when it was multipart, else its fields urlencoded. */
function sendParts(d, item, token, fd) {
  var body = fd;
  if (!body) {
    body = new URLSearchParams();
    item.fields.forEach(function (f) { body.append(f[0], f[0] === 'csrf' ? token : String(f[1])); });
  }
  item.tries += 1;
  return fetch(item.url, {
    method: 'POST', body: body, credentials: 'same-origin', redirect: 'follow',
    headers: { 'X-Safegrid-Offline': '1' }
  }).then(function (r) {
    var path = new URL(r.url).pathname;
    if (r.redirected && path === '/login') {
      item.note = 'login';
      return put(d, 'outbox', item).then(function () { notify(); return false; });
    }
    if (r.ok) {
      item.status = 'sent';
      item.sent = Date.now();
      item.result = r.redirected ? path + new URL(r.url).search : '';
      item.note = '';
      item.fields = item.fields.filter(function (f) { return !(f[1] instanceof Blob); });
      return put(d, 'outbox', item).then(function () { notify(); return true; });
    }
    if (r.status === 408 || r.status === 429 || r.status >= 500) {
      item.note = 'unreachable';
      return put(d, 'outbox', item).then(function () { notify(); return false; });
    }
    return refusalOf(r).then(function (why) {
      item.status = 'refused';
      item.refusal = why;
      item.note = '';
      return put(d, 'outbox', item).then(function () { notify(); return true; });
    });
  }, function () {
    item.note = 'unreachable';
    return put(d, 'outbox', item).then(function () { notify(); return false; });
  });
}

/* Why the server refused: its JSON ({"refused": {status, errors: [{field, message}], state}}), or
 * the error text of a page (error.html's #error-message, a form's alert and field errors). */
function refusalOf(r) {
  var type = r.headers.get('Content-Type') || '';
  if (type.indexOf('application/json') === 0) {
    return r.json().then(function (j) {
      var x = j.refused || {};
      return {
        status: r.status,
        state: x.state || null,
        errors: (x.errors || []).map(function (e) { return { field: e.field, message: e.message }; })
      };
    });
  }
  return r.text().then(function (html) {
    var found = [];
    var re = /<(p|div)[^>]*(id="error-message"|class="field-error"|role="alert")[^>]*>([\s\S]*?)<\/\1>/g;
    var m;
    while ((m = re.exec(html)) !== null && found.length < 5) {
      var text = m[3].replace(/<[^>]+>/g, ' ').replace(/&quot;/g, '"').replace(/&#39;/g, "'")
        .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim();
      if (text) { found.push({ field: 'form', message: text }); }
    }
    if (!found.length) { found.push({ field: 'form', message: 'HTTP ' + r.status }); }
    return { status: r.status, state: null, errors: found };
  });
}

function notify(what) {
  self.clients.matchAll({ includeUncontrolled: true }).then(function (cs) {
    cs.forEach(function (c) { c.postMessage({ type: 'outbox', what: what || 'changed' }); });
  });
}

/* ---- IndexedDB (shared with offline.js) ---- */

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

function tx(d, store, mode, f) {
  return new Promise(function (ok, fail) {
    var t = d.transaction(store, mode);
    var out = f(t.objectStore(store));
    t.oncomplete = function () { ok(out && 'result' in out ? out.result : undefined); };
    t.onerror = function () { fail(t.error); };
    t.onabort = function () { fail(t.error); };
  });
}

function put(d, store, v) { return tx(d, store, 'readwrite', function (s) { return s.put(v); }); }
function get(d, store, k) { return tx(d, store, 'readonly', function (s) { return s.get(k); }); }
function all(d, store) { return tx(d, store, 'readonly', function (s) { return s.getAll(); }); }
