// Share section (templates/public/_share_links.html): the page works without this file; with it,
// a "copy link" button and, where the browser has it, the Web Share API's share sheet.
(function () {
  "use strict";
  document.querySelectorAll(".share").forEach(function (section) {
    var input = section.querySelector("#share-url");
    var copy = section.querySelector(".copy-link");
    var status = section.querySelector(".copy-status");
    var share = section.querySelector(".web-share");
    if (input && copy) {
      copy.hidden = false;
      copy.addEventListener("click", function () {
        var done = function () { status.textContent = copy.dataset.copied; };
        var failed = function () {
          input.focus();
          input.select();
          status.textContent = copy.dataset.failed;
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(done, failed);
        } else {
          input.select();
          try {
            if (document.execCommand("copy")) { done(); } else { failed(); }
          } catch (e) { failed(); }
        }
      });
    }
    if (share && navigator.share) {
      share.hidden = false;
      share.addEventListener("click", function () {
        navigator.share({ title: share.dataset.title, url: share.dataset.url }).catch(function () {});
      });
    }
  });
})();
