// Show the answers the chosen use case asks for. The table comes from the server
// (requests_app/use_case_rules.py), which enforces the same rules on submit.
(function () {
  var form = document.getElementById("request-form");
  var rulesNode = document.getElementById("use-case-rules");
  if (!form || !rulesNode) return;
  var rules = JSON.parse(rulesNode.textContent);
  var conditional = rules.conditional;
  var useCase = form.elements["use_case"];
  var volume = form.elements["daily_volume"];
  var software = form.elements["mail_software"];

  function asked() {
    if (useCase.value === "personal" && Number(volume.value || 0) > rules.personal_volume_limit) {
      return rules.personal_above_limit;
    }
    return rules.by_use_case[useCase.value] || rules.before_a_use_case;
  }

  function show(name, mode) {
    var wrap = form.querySelector('[data-field="' + name + '"]');
    if (!wrap) return;
    wrap.hidden = !mode;
    wrap.classList.toggle("is-required", mode === "required");
    wrap.classList.toggle("is-optional", mode === "optional");
    form.elements[name].disabled = !mode;
    form.elements[name].setAttribute("aria-required", mode === "required" ? "true" : "false");
  }

  function update() {
    var fields = asked();
    conditional.forEach(function (name) { show(name, fields[name]); });
    show("mail_software_other", software.value === "other" ? "required" : undefined);
  }

  useCase.addEventListener("change", update);
  volume.addEventListener("input", update);
  software.addEventListener("change", update);
  update();
})();
