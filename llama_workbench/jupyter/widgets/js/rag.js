// widget.js, written by `python -m llama_workbench.jupyter.widgets.build`: edit widget.js
import { h, svg } from "data:text/javascript;base64,Ly8gV2hhdCBldmVyeSBzdGFjayB3aWRnZXQncyB2aWV3IHNoYXJlczogYnVpbGRpbmcgRE9NIGFuZCBTVkcgbm9kZXMuIEFuIEVTIG1vZHVsZTogZWFjaCB2aWV3Ci8vIGltcG9ydHMgaXQgYnkgdmFsdWUgKGEgZGF0YTogVVJMIHRoYXQgYnVpbGQucHkgd3JpdGVzLCBweXRob24gLW0KLy8gbGxhbWFfd29ya2JlbmNoLmp1cHl0ZXIud2lkZ2V0cy5idWlsZCksIHNvIHRoZSB2aWV3IHN0YXlzIG9uZSBmaWxlIHRoYXQgYW55d2lkZ2V0IGNhbiB3YXRjaC4KCmNvbnN0IFNWRyA9ICJodHRwOi8vd3d3LnczLm9yZy8yMDAwL3N2ZyI7CgovLyBBbiBlbGVtZW50IHdpdGggYXR0cmlidXRlcyBhbmQgY2hpbGRyZW4uICJ0ZXN0aWQiIHNldHMgZGF0YS10ZXN0aWQsICJjbGFzcyIgdGhlIGNsYXNzIG5hbWUsCi8vICJvbjxldmVudD4iIGFkZHMgYSBsaXN0ZW5lcjsgYW55dGhpbmcgZWxzZSBpcyBhbiBhdHRyaWJ1dGUuCmV4cG9ydCBmdW5jdGlvbiBoKHRhZywgYXR0cnMgPSB7fSwgLi4uY2hpbGRyZW4pIHsKICBjb25zdCBub2RlID0gZG9jdW1lbnQuY3JlYXRlRWxlbWVudCh0YWcpOwogIGZvciAoY29uc3QgW2tleSwgdmFsdWVdIG9mIE9iamVjdC5lbnRyaWVzKGF0dHJzKSkgewogICAgaWYgKGtleSA9PT0gInRlc3RpZCIpIG5vZGUuZGF0YXNldC50ZXN0aWQgPSB2YWx1ZTsKICAgIGVsc2UgaWYgKGtleSA9PT0gImNsYXNzIikgbm9kZS5jbGFzc05hbWUgPSB2YWx1ZTsKICAgIGVsc2UgaWYgKGtleS5zdGFydHNXaXRoKCJvbiIpKSBub2RlLmFkZEV2ZW50TGlzdGVuZXIoa2V5LnNsaWNlKDIpLCB2YWx1ZSk7CiAgICBlbHNlIG5vZGUuc2V0QXR0cmlidXRlKGtleSwgdmFsdWUpOwogIH0KICBmb3IgKGNvbnN0IGNoaWxkIG9mIGNoaWxkcmVuKSBub2RlLmFwcGVuZChjaGlsZCk7CiAgcmV0dXJuIG5vZGU7Cn0KCi8vIEFuIFNWRyBlbGVtZW50IHdpdGggYXR0cmlidXRlcyAoYW5kIHRleHQsIGlmIGdpdmVuKS4KZXhwb3J0IGZ1bmN0aW9uIHN2Zyh0YWcsIGF0dHJzID0ge30sIHRleHQpIHsKICBjb25zdCBub2RlID0gZG9jdW1lbnQuY3JlYXRlRWxlbWVudE5TKFNWRywgdGFnKTsKICBmb3IgKGNvbnN0IFtrZXksIHZhbHVlXSBvZiBPYmplY3QuZW50cmllcyhhdHRycykpIHsKICAgIGlmIChrZXkgPT09ICJ0ZXN0aWQiKSBub2RlLmRhdGFzZXQudGVzdGlkID0gdmFsdWU7CiAgICBlbHNlIG5vZGUuc2V0QXR0cmlidXRlKGtleSwgU3RyaW5nKHZhbHVlKSk7CiAgfQogIGlmICh0ZXh0ICE9PSB1bmRlZmluZWQpIG5vZGUudGV4dENvbnRlbnQgPSB0ZXh0OwogIHJldHVybiBub2RlOwp9Cg==";
// RAGExplorer's view: one ES module for anywidget (its `_esm` file); the shared
// helpers h() and svg() are imported from widget.js on the lines above (build.py writes them).
//
// data-testid attributes (stable, for browser tests):
//   rag-root             the widget
//   rag-refresh          Refresh button (stores and files)
//   rag-stores           the stores table
//   rag-store            one store row, clickable (data-store-id, data-selected = true|false)
//   rag-files            the selected store's files table
//   rag-file             one file row (data-file-id, data-status)
//   rag-file-error       a file's error message (inside its row)
//   rag-query            <input> the query (Enter searches)
//   rag-mode             the mode switch
//   rag-mode-vector      mode buttons (aria-pressed = true on the active one)
//   rag-mode-keyword
//   rag-mode-hybrid
//   rag-top-k            <input type=number> results wanted
//   rag-search           Search button
//   rag-results          the ranked results
//   rag-result           one result (data-rank, data-file-id)
//   rag-result-score, rag-result-filename, rag-result-page, rag-result-text   its parts
//   rag-busy             shown while loading or searching
//   rag-error            the last error

const MODES = ["vector", "keyword", "hybrid"];

function table(testid, headers, rows) {
  const head = h("tr", {}, ...headers.map((x) => h("th", {}, x)));
  return h("table", { testid, class: "lw-table" }, h("thead", {}, head), h("tbody", {}, ...rows));
}

function storesView(model) {
  const box = h("div", { class: "lw-section" });
  const sync = () => {
    const selected = model.get("store_id");
    const rows = model.get("stores").map((s) => {
      const row = h("tr", {
        testid: "rag-store", "data-store-id": s.id, "data-selected": String(s.id === selected),
        class: s.id === selected ? "lw-selected" : "", tabindex: "0",
      }, h("td", {}, s.name || "(unnamed)"), h("td", { class: "lw-mono" }, s.id),
      h("td", {}, `${s.completed}/${s.total}`), h("td", {}, String(s.failed)),
      h("td", {}, String(s.in_progress)), h("td", {}, s.provider_id));
      const pick = () => model.send({ type: "select", store_id: s.id });
      row.addEventListener("click", pick);
      row.addEventListener("keydown", (e) => { if (e.key === "Enter") pick(); });
      return row;
    });
    box.replaceChildren(h("h4", {}, "Vector stores"), rows.length
      ? table("rag-stores", ["name", "id", "indexed", "failed", "in progress", "provider"], rows)
      : h("div", { testid: "rag-stores", class: "lw-empty" }, "No vector stores."));
  };
  return { node: box, sync };
}

function filesView(model) {
  const box = h("div", { class: "lw-section" });
  const sync = () => {
    const rows = model.get("files").map((f) => h("tr", {
      testid: "rag-file", "data-file-id": f.id, "data-status": f.status,
    }, h("td", {}, f.filename), h("td", { class: `lw-status-${f.status}` }, f.status),
    h("td", { testid: "rag-file-error", class: "lw-error" }, f.error)));
    box.replaceChildren(h("h4", {}, "Files"), rows.length
      ? table("rag-files", ["file", "status", "error"], rows)
      : h("div", { testid: "rag-files", class: "lw-empty" }, "No files in this store."));
    box.hidden = !model.get("store_id");
  };
  return { node: box, sync };
}

function searchBar(model) {
  const query = h("input", { testid: "rag-query", type: "text", placeholder: "Ask the store" });
  const topK = h("input", { testid: "rag-top-k", type: "number", min: "1", max: "50" });
  const search = h("button", { testid: "rag-search", class: "lw-primary" }, "Search");
  const modeButtons = MODES.map((m) => {
    const b = h("button", { testid: `rag-mode-${m}`, "data-mode": m }, m);
    b.addEventListener("click", () => { model.set("mode", m); model.save_changes(); });
    return b;
  });
  const run = () => {
    const k = Math.floor(Number(topK.value));
    model.send({ type: "search", query: query.value, mode: model.get("mode"),
      top_k: k >= 1 && k <= 50 ? k : model.get("top_k") });
  };
  search.addEventListener("click", run);
  query.addEventListener("keydown", (e) => { if (e.key === "Enter") run(); });
  const sync = () => {
    if (document.activeElement !== query) query.value = model.get("query");
    if (document.activeElement !== topK) topK.value = String(model.get("top_k"));
    for (const b of modeButtons) {
      b.setAttribute("aria-pressed", String(b.dataset.mode === model.get("mode")));
    }
    search.disabled = !model.get("store_id");
  };
  const modes = h("span", { testid: "rag-mode", class: "lw-modes", role: "group" }, ...modeButtons);
  const bar = h("div", { class: "lw-search" }, query, modes, h("label", {}, "top ", topK), search);
  return { node: bar, sync };
}

function pages(r) {
  if (r.page === null || r.page === undefined) return "";
  return r.page_end === null || r.page_end === undefined || r.page_end === r.page
    ? `p. ${r.page}` : `pp. ${r.page}–${r.page_end}`;
}

function resultsView(model) {
  const box = h("ol", { testid: "rag-results", class: "lw-results" });
  const sync = () => {
    box.replaceChildren(...model.get("results").map((r) => h("li", {
      testid: "rag-result", "data-rank": r.rank, "data-file-id": r.file_id,
    }, h("div", { class: "lw-result-head" },
      h("span", { testid: "rag-result-score", class: "lw-score" }, r.score.toFixed(3)),
      h("span", { testid: "rag-result-filename" }, r.filename),
      h("span", { testid: "rag-result-page" }, pages(r))),
    h("div", { testid: "rag-result-text", class: "lw-result-text" }, r.text))));
    const asked = model.get("searched");
    if (asked && asked.query && !model.get("results").length) {
      box.replaceChildren(h("li", { class: "lw-empty" }, "No results."));
    }
  };
  return { node: box, sync };
}

export default {
  render({ model, el }) {
    const refresh = h("button", { testid: "rag-refresh" }, "Refresh");
    refresh.addEventListener("click", () => model.send({ type: "refresh" }));
    const busy = h("span", { testid: "rag-busy", class: "lw-busy" }, "working…");
    const error = h("div", { testid: "rag-error", class: "lw-error" });
    const parts = [storesView(model), filesView(model), searchBar(model), resultsView(model)];
    const syncState = () => {
      busy.hidden = !model.get("busy");
      error.textContent = model.get("error");
      error.hidden = !model.get("error");
    };
    el.append(h("div", { testid: "rag-root", class: "lw-widget lw-rag" },
      h("div", { class: "lw-toolbar" }, refresh, busy), ...parts.map((p) => p.node), error));
    const syncAll = () => { parts.forEach((p) => p.sync()); syncState(); };
    syncAll();
    const events = ["stores", "store_id", "files", "query", "mode", "top_k", "results", "searched"]
      .map((name) => `change:${name}`);
    events.forEach((e) => model.on(e, syncAll));
    ["change:busy", "change:error"].forEach((e) => model.on(e, syncState));
    return () => {
      events.forEach((e) => model.off(e, syncAll));
      ["change:busy", "change:error"].forEach((e) => model.off(e, syncState));
    };
  },
};
