/* Campaign pages: add and remove checklist rows in the designer (the form posts without this),
   and list today's tasks nearest first from the phone's position. */
(function () {
  'use strict';
  var items = document.getElementById('items');
  var add = document.getElementById('add-item');
  function wire(row) {
    var rm = row.querySelector('.remove-item');
    if (rm) {
      rm.addEventListener('click', function () {
        if (items.querySelectorAll('.checklist-item').length > 1) { row.parentNode.removeChild(row); }
      });
    }
  }
  if (items && add) {
    Array.prototype.forEach.call(items.querySelectorAll('.checklist-item'), wire);
    add.addEventListener('click', function () {
      var rows = items.querySelectorAll('.checklist-item');
      var copy = rows[rows.length - 1].cloneNode(true);
      Array.prototype.forEach.call(copy.querySelectorAll('input'), function (i) {
        if (i.name !== 'item_limit') { i.value = ''; }
      });
      items.appendChild(copy);
      wire(copy);
    });
  }
  var near = document.getElementById('nearest-first');
  if (near && navigator.geolocation) {
    near.addEventListener('click', function () {
      navigator.geolocation.getCurrentPosition(function (p) {
        window.location.search = '?lat=' + p.coords.latitude.toFixed(6) + '&lon=' + p.coords.longitude.toFixed(6);
      });
    });
  }
})();
