// A hint while typing, never a gate: the server checks every field again. Nothing typed here
// is stored or sent anywhere but the form's own POST.
(function () {
  "use strict";
  function luhn(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = digits.charCodeAt(digits.length - 1 - i) - 48;
      if (i % 2) { d = d * 2 > 9 ? d * 2 - 9 : d * 2; }
      sum += d;
    }
    return sum % 10 === 0;
  }
  var input = document.getElementById("number");
  var hint = document.getElementById("number-luhn");
  if (!input || !hint) { return; }
  function check() {
    var digits = input.value.replace(/[\s-]/g, "");
    var wrong = /^\d{12,19}$/.test(digits) ? !luhn(digits) : digits.length > 19 || /\D/.test(digits);
    hint.textContent = wrong ? hint.getAttribute("data-message") : "";
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
      return id && id !== "number-luhn";
    });
    if (wrong) { described.push("number-luhn"); }
    if (described.length) { input.setAttribute("aria-describedby", described.join(" ")); }
    else { input.removeAttribute("aria-describedby"); }
  }
  input.addEventListener("blur", check);
  input.addEventListener("input", function () { if (hint.textContent) { check(); } });
  var problem = document.getElementById("problem");
  if (problem) { problem.focus(); }
})();
