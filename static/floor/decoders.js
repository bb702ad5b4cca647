/* Camera decoding where the browser has no BarcodeDetector: QR codes with the
 * vendored jsQR, Code 128 with the small scan-line reader below. Loaded only
 * when the camera is opened on such a browser.
 *
 * window.FloorDecoders.decode(imageData) -> the text of the first symbol found, or null.
 */
(function () {
  "use strict";

  // Bar and space widths (in modules) of the Code 128 values 0-105, as in the standard.
  var PATTERNS = (
    "212222,222122,222221,121223,121322,131222,122213,122312,132212,221213,221312,231212," +
    "112232,122132,122231,113222,123122,123221,223211,221132,221231,213212,223112,312131," +
    "311222,321122,321221,312212,322112,322211,212123,212321,232121,111323,131123,131321," +
    "112313,132113,132311,211313,231113,231311,112133,112331,132131,113123,113321,133121," +
    "313121,211331,231131,213113,213311,213131,311123,311321,331121,312113,312311,332111," +
    "314111,221411,431111,111224,111422,121124,121421,141122,141221,112214,112412,122114," +
    "122411,142112,142211,241211,221114,413111,241112,134111,111242,121142,121241,114212," +
    "124112,124211,411212,421112,421211,212141,214121,412121,111143,111341,131141,114113," +
    "114311,411113,411311,113141,114131,311141,411131,211412,211214,211232"
  ).split(",").map(function (text) { return text.split("").map(Number); });
  var STOP = [2, 3, 3, 1, 1, 1, 2];
  var START_A = 103;
  var START_B = 104;
  var START_C = 105;

  function luminance(image) {
    var data = image.data;
    var gray = new Uint8ClampedArray(image.width * image.height);
    for (var i = 0, j = 0; j < gray.length; i += 4, j++) {
      gray[j] = (data[i] * 77 + data[i + 1] * 150 + data[i + 2] * 29) >> 8;
    }
    return gray;
  }

  // Alternating run lengths of one row, starting with a dark run.
  function runs(gray, width, row) {
    var offset = row * width;
    var min = 255;
    var max = 0;
    for (var x = 0; x < width; x++) {
      var value = gray[offset + x];
      if (value < min) min = value;
      if (value > max) max = value;
    }
    if (max - min < 40) return null;
    var threshold = (min + max) / 2;
    var result = [];
    var dark = gray[offset] < threshold;
    var length = 0;
    var leading = 0;
    for (x = 0; x < width; x++) {
      var isDark = gray[offset + x] < threshold;
      if (isDark === dark) {
        length += 1;
      } else {
        if (dark || result.length) result.push(length);
        else leading = length;
        dark = isDark;
        length = 1;
      }
    }
    if (dark) result.push(length);
    return { widths: result, leading: leading };
  }

  function match(widths, at, pattern) {
    var total = 0;
    var modules = 0;
    for (var i = 0; i < pattern.length; i++) {
      total += widths[at + i];
      modules += pattern[i];
    }
    var unit = total / modules;
    var error = 0;
    for (i = 0; i < pattern.length; i++) error += Math.abs(widths[at + i] / unit - pattern[i]);
    return error;
  }

  function best(widths, at) {
    if (at + 6 > widths.length) return -1;
    var bestValue = -1;
    var bestError = 2.2; // the largest total deviation still read as a symbol
    for (var value = 0; value < PATTERNS.length; value++) {
      var error = match(widths, at, PATTERNS[value]);
      if (error < bestError) {
        bestError = error;
        bestValue = value;
      }
    }
    return bestValue;
  }

  function decodeValues(values) {
    var set = values[0] === START_A ? "A" : values[0] === START_B ? "B" : "C";
    var text = "";
    var shift = false;
    for (var i = 1; i < values.length; i++) {
      var value = values[i];
      var current = shift ? (set === "A" ? "B" : "A") : set;
      shift = false;
      if (current === "C") {
        if (value < 100) text += (value < 10 ? "0" : "") + value;
        else if (value === 100) set = "B";
        else if (value === 101) set = "A";
        continue;
      }
      if (value < 96) {
        if (current === "A") text += String.fromCharCode(value < 64 ? value + 32 : value - 64);
        else text += String.fromCharCode(value + 32);
      } else if (value === 98) {
        shift = true;
      } else if (value === 99) {
        set = "C";
      } else if (value === 100 && current === "A") {
        set = "B";
      } else if (value === 101 && current === "B") {
        set = "A";
      }
    }
    return text;
  }

  function readRuns(widths) {
    for (var start = 0; start + 6 <= widths.length; start += 2) {
      var first = best(widths, start);
      if (first !== START_A && first !== START_B && first !== START_C) continue;
      var values = [first];
      var at = start + 6;
      while (at + 7 <= widths.length) {
        if (match(widths, at, STOP) < 2.2) {
          var check = values.pop();
          var sum = values[0];
          for (var i = 1; i < values.length; i++) sum += values[i] * i;
          if (values.length > 1 && sum % 103 === check) return decodeValues(values);
          break;
        }
        var value = best(widths, at);
        if (value < 0 || value > 102) break;
        values.push(value);
        at += 6;
      }
    }
    return null;
  }

  function code128(image) {
    var gray = luminance(image);
    var rows = 24;
    for (var step = 0; step < rows; step++) {
      // From the middle outwards: labels are usually held in the centre.
      var offset = Math.ceil(step / 2) * (step % 2 ? 1 : -1);
      var row = Math.floor(image.height / 2 + offset * image.height / (rows + 2));
      if (row < 0 || row >= image.height) continue;
      var line = runs(gray, image.width, row);
      if (!line || line.widths.length < 31) continue;
      var text = readRuns(line.widths) || readRuns(line.widths.slice().reverse());
      if (text) return text;
    }
    return null;
  }

  function decode(image) {
    if (window.jsQR) {
      var qr = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      if (qr && qr.data) return qr.data;
    }
    return code128(image);
  }

  window.FloorDecoders = { decode: decode, code128: code128 };
})();
