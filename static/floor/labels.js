/* Label sheets: the print button (no inline handlers). */
(function () {
  "use strict";
  var button = document.getElementById("print-labels");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
