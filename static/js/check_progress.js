// Live progress of a request's automated checks: polls the JSON endpoint while they run and
// redraws the list, the counter and the request's status badge (no inline script, no reload).
(function () {
  var section = document.querySelector("[data-progress-url]");
  if (!section) return;
  var list = section.querySelector("[data-role=checks]");
  var counter = section.querySelector("[data-role=progress]");
  var badge = document.querySelector("[data-testid=request-status]");
  var rerun = section.querySelector("[data-role=rerun]");
  var rerunWait = section.querySelector("[data-role=rerun-wait]");
  var RUNNING = ["submitted", "checking"];

  function row(check) {
    var li = document.createElement("li");
    li.setAttribute("data-check", check.name);
    var status = document.createElement("span");
    status.className = "badge badge-" + check.status;
    status.setAttribute("data-role", "status");
    status.textContent = check.status_label;
    var label = document.createElement("strong");
    label.textContent = " " + check.label;
    li.append(status, label);
    if (check.summary) {
      var summary = document.createElement("p");
      summary.setAttribute("data-role", "summary");
      summary.textContent = check.summary;
      li.append(summary);
    }
    return li;
  }

  function draw(data) {
    if (badge) {
      badge.textContent = data.status_label;
      badge.className = "badge badge-" + data.status;
    }
    if (rerun) rerun.hidden = !data.can_rerun;
    if (rerunWait) {
      rerunWait.textContent = data.rerun_wait;
      rerunWait.hidden = !data.rerun_wait;
    }
    if (!data.run) return;
    var open = {};
    list.querySelectorAll("li[data-check] details[open]").forEach(function (d) {
      open[d.closest("li").getAttribute("data-check")] = true;
    });
    list.replaceChildren.apply(list, data.run.checks.map(function (check) {
      var li = row(check);
      var details = li.querySelector("details");
      if (details && open[check.name]) details.open = true;
      return li;
    }));
    counter.textContent = section.getAttribute("data-text-progress")
      .replace("{done}", data.run.done).replace("{total}", data.run.total);
    counter.hidden = false;
  }

  function poll() {
    fetch(section.getAttribute("data-progress-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (data) {
        draw(data);
        if (RUNNING.indexOf(data.status) !== -1 || (data.run && !data.run.finished)) setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 10000); });
  }

  if (section.getAttribute("data-running") === "true") setTimeout(poll, 1000);
})();
