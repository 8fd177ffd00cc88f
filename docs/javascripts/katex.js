// Typesets the formulas that pymdownx.arithmatex (generic mode) leaves in the pages: inline
// <span class="arithmatex">\( ... \)</span> and display <div class="arithmatex">\[ ... \]</div>.
// KaTeX itself is vendored in docs/vendor/katex (npm package "katex"), so the site reads offline.
// A formula KaTeX cannot parse is reported on the console (the browser check of the site fails on
// console errors) and left as its source text.
(function () {
  function typeset(root) {
    root.querySelectorAll(".arithmatex").forEach(function (element) {
      if (element.dataset.typeset === "1") return;
      var text = element.textContent.trim();
      var display = text.startsWith("\\[");
      var source = text.replace(/^\\[\[(]/, "").replace(/\\[\])]$/, "");
      try {
        katex.render(source, element, { displayMode: display, throwOnError: true });
        element.dataset.typeset = "1";
      } catch (error) {
        console.error("KaTeX could not typeset: " + source + " (" + error.message + ")");
      }
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(function () { typeset(document); });  // Material's instant navigation
  } else {
    document.addEventListener("DOMContentLoaded", function () { typeset(document); });
  }
})();
