// jetjobs console: small vanilla script. State changes are fetch calls to
// the REST API with JSON and the X-Jetjobs-Console header; the login
// cookie is HttpOnly and SameSite=Strict (docs/console.md).
(function () {
  "use strict";
  var body = document.body;
  var prefix = body.dataset.prefix || "/ui";
  var flash = document.getElementById("flash");

  function say(msg, bad) {
    if (!flash) return;
    flash.textContent = msg;
    flash.className = bad ? "error" : "";
  }

  function call(method, url, data) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Jetjobs-Console": "1" },
      body: data === undefined ? undefined : JSON.stringify(data)
    }).then(function (r) {
      return r.text().then(function (t) {
        var j = null;
        try { j = t ? JSON.parse(t) : null; } catch (e) { j = null; }
        if (!r.ok || (j && j.success === false && r.status !== 200)) {
          var msg = (j && (j.error || j.message)) || (r.status + " " + r.statusText);
          throw new Error(msg);
        }
        return j;
      });
    });
  }

  // Buttons: data-post / data-delete with data-body, data-confirm, data-then.
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-post],[data-delete],[data-logout]");
    if (!b) return;
    if (b.hasAttribute("data-logout")) {
      call("POST", prefix + "/logout", {}).then(function () { location.href = prefix + "/login"; });
      return;
    }
    if (b.dataset.confirm && !window.confirm(b.dataset.confirm)) return;
    var method = b.hasAttribute("data-post") ? "POST" : "DELETE";
    var url = b.dataset.post || b.dataset.delete;
    var data = b.dataset.body ? JSON.parse(b.dataset.body) : (method === "POST" ? {} : undefined);
    b.disabled = true;
    call(method, url, data).then(function (j) {
      say("Done: " + method + " " + url + (j && j.status ? " → " + j.status : ""));
      if (b.dataset.then) { location.href = b.dataset.then; } else { setTimeout(function () { location.reload(); }, 600); }
    }).catch(function (e) { b.disabled = false; say(e.message, true); });
  });

  // Login form.
  var login = document.getElementById("login");
  if (login) {
    login.addEventListener("submit", function (ev) {
      ev.preventDefault();
      call("POST", prefix + "/login", { key: document.getElementById("key").value })
        .then(function () { location.href = login.dataset.next || prefix + "/"; })
        .catch(function (e) { say(e.message, true); });
    });
  }

  // Start form: typed fields plus the JSON text area.
  var start = document.getElementById("start");
  if (start) {
    start.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var params;
      try {
        var raw = document.getElementById("params-json").value.trim();
        params = raw ? JSON.parse(raw) : {};
        if (typeof params !== "object" || Array.isArray(params)) throw new Error("not an object");
      } catch (e) { say("Parameters: " + e.message, true); return; }
      start.querySelectorAll("[data-param]").forEach(function (el) {
        var name = el.dataset.param, type = el.dataset.type, v;
        if (type === "boolean") { if (el.checked) params[name] = true; return; }
        if (el.value === "") return;
        v = el.value;
        if (type === "integer") v = parseInt(v, 10);
        else if (type === "number") v = parseFloat(v);
        else if (type === "object" || type === "array") { try { v = JSON.parse(v); } catch (e) { say(name + ": " + e.message, true); throw e; } }
        params[name] = v;
      });
      // Later: START ?at=<RFC 3339> or ?delay=<duration> (202, fired by the server).
      var url = start.dataset.url, later = false;
      var at = document.getElementById("start-at"), delay = document.getElementById("start-delay");
      if (at && delay && at.value && delay.value.trim()) { say("Give a start time or a delay, not both", true); return; }
      if (at && at.value) {
        var v = at.value.length === 16 ? at.value + ":00" : at.value;
        url += "?at=" + encodeURIComponent(v + "Z"); later = true;
      } else if (delay && delay.value.trim()) {
        url += "?delay=" + encodeURIComponent(delay.value.trim()); later = true;
      }
      call("POST", url, { parameters: params }).then(function (j) {
        var id = j && j.executionId;
        if (!id) { say("No execution id in the answer", true); return; }
        if (later) { say("Scheduled: execution " + id + ", " + (j.message || "")); start.dataset.scheduled = id; return; }
        if (start.dataset.async === "true") {
          location.href = prefix + "/executions?job=" + encodeURIComponent(start.dataset.job) + "&new=" + encodeURIComponent(id);
        } else {
          location.href = prefix + "/executions/" + encodeURIComponent(start.dataset.job) + "/" + encodeURIComponent(id);
        }
      }).catch(function (e) { say(e.message, true); });
    });
  }

  // New schedule: POST {base}/schedules of the chosen job.
  var sn = document.getElementById("schedule-new");
  if (sn) {
    sn.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var job = document.getElementById("sc-job"), kind = document.getElementById("sc-kind").value;
      var body = { name: document.getElementById("sc-name").value.trim() };
      body[kind] = document.getElementById("sc-value").value.trim();
      var tz = document.getElementById("sc-tz").value.trim();
      if (tz) body.timeZone = tz;
      try {
        var raw = document.getElementById("sc-params").value.trim();
        var params = raw ? JSON.parse(raw) : {};
        if (typeof params !== "object" || Array.isArray(params)) throw new Error("not an object");
        if (Object.keys(params).length) body.parameters = params;
      } catch (e) { say("Parameters: " + e.message, true); return; }
      call("POST", job.options[job.selectedIndex].dataset.url, body).then(function () {
        say("Created schedule " + body.name + " of " + job.value);
        setTimeout(function () { location.reload(); }, 300);
      }).catch(function (e) { say(e.message, true); });
    });
  }

  // Open a saga by id.
  var so = document.querySelector("[data-saga-open]");
  if (so) {
    so.addEventListener("submit", function (ev) {
      ev.preventDefault();
      location.href = prefix + "/sagas/" + encodeURIComponent(document.getElementById("s-name").value) + "/" +
        encodeURIComponent(document.getElementById("s-id").value);
    });
  }

  // Live progress: one event stream for every live row of the page.
  var rows = document.querySelectorAll("[data-live][data-key]");
  if (rows.length && window.EventSource) {
    var byKey = {};
    var q = [];
    rows.forEach(function (r) { byKey[r.dataset.key] = r; q.push("e=" + encodeURIComponent(r.dataset.key)); });
    var es = new EventSource(prefix + "/live?" + q.join("&"));
    es.addEventListener("exec", function (m) {
      var s = JSON.parse(m.data);
      var r = byKey[s.jobType + "/" + s.executionId];
      if (!r) return;
      var p = r.querySelector("[data-progress]"), pct = r.querySelector("[data-pct]"), st = r.querySelector("[data-status]");
      if (p) p.value = s.progressPercentage;
      if (pct) pct.textContent = s.progressPercentage + "%";
      if (st) { st.textContent = s.status; st.className = "badge st st-" + s.status.toLowerCase(); }
      r.dataset.status = s.status;
    });
    es.addEventListener("done", function () { es.close(); });
    es.onerror = function () { if (es.readyState === 2) return; };
  }
})();
