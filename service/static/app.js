// Hashtag Index dashboard: progressive enhancement only (the pages work without it).
// Tag autocomplete on the header's search box, from GET /v1/hashtags?prefix=.
(function () {
  "use strict";
  const input = document.querySelector("input[data-autocomplete]");
  if (input) autocomplete(input);
  const print = document.querySelector("button.print");
  if (print) { print.hidden = false; print.addEventListener("click", () => window.print()); }

  function autocomplete(input) {
    const list = document.getElementById(input.getAttribute("aria-controls"));
    let active = -1, timer = 0, asked = "";
    const items = () => Array.from(list.querySelectorAll("li"));
    function close() {
      list.hidden = true; list.replaceChildren(); active = -1;
      input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant");
    }
    function select(i) {
      const all = items();
      all.forEach((li, k) => li.setAttribute("aria-selected", String(k === i)));
      active = i;
      if (i >= 0) input.setAttribute("aria-activedescendant", all[i].id);
      else input.removeAttribute("aria-activedescendant");
    }
    async function suggest() {
      const prefix = input.value.trim().replace(/^[#＃]/, "");
      if (!prefix) { close(); return; }
      asked = prefix;
      const url = input.dataset.autocomplete + "?limit=8&prefix=" + encodeURIComponent(prefix);
      let body;
      try {
        const r = await fetch(url, { headers: { accept: "application/json" } });
        if (!r.ok) { close(); return; }
        body = await r.json();
      } catch (e) { close(); return; }
      if (asked !== prefix) return; // a newer request is on its way
      list.replaceChildren();
      body.items.forEach((t, k) => {
        const li = document.createElement("li");
        li.id = "suggestion-" + k; li.setAttribute("role", "option"); li.dataset.tag = t.tag;
        const a = document.createElement("a");
        a.href = "/tags/" + encodeURIComponent(t.tag); a.tabIndex = -1;
        const name = document.createElement("span"); name.className = "tag"; name.textContent = "#" + t.display;
        const n = document.createElement("small"); n.className = "muted";
        n.textContent = t.posts.toLocaleString("en") + " posts";
        a.append(name, n); li.append(a); list.append(li);
      });
      list.hidden = body.items.length === 0;
      input.setAttribute("aria-expanded", String(!list.hidden));
      active = -1;
    }
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(suggest, 120); });
    input.addEventListener("keydown", (e) => {
      const all = items();
      if (list.hidden || !all.length) return;
      if (e.key === "ArrowDown") { e.preventDefault(); select((active + 1) % all.length); }
      else if (e.key === "ArrowUp") { e.preventDefault(); select(active <= 0 ? all.length - 1 : active - 1); }
      else if (e.key === "Escape") { close(); }
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); all[active].querySelector("a").click(); }
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
  }
})();
