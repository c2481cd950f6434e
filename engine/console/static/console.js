// Refreshes the overview's cards every few seconds; every page works without it.
"use strict";
(function () {
  const cards = document.getElementById("cards");
  if (!cards) {
    return;
  }
  const url = cards.dataset.refresh;
  const seconds = Number(cards.dataset.seconds) || 3;
  async function refresh() {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (response.ok && !response.redirected) {
        cards.innerHTML = await response.text(); // server-rendered and escaped
        cards.dataset.refreshed = String(Date.now());
      }
    } catch (error) {
      // The service is restarting or unreachable: keep showing the last view.
    }
  }
  setInterval(refresh, seconds * 1000);
})();
