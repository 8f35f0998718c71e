// widget.js, written by `python -m llama_workbench.jupyter.widgets.build`: edit widget.js
import { h, svg } from "data:text/javascript;base64,Ly8gV2hhdCBldmVyeSBzdGFjayB3aWRnZXQncyB2aWV3IHNoYXJlczogYnVpbGRpbmcgRE9NIGFuZCBTVkcgbm9kZXMuIEFuIEVTIG1vZHVsZTogZWFjaCB2aWV3Ci8vIGltcG9ydHMgaXQgYnkgdmFsdWUgKGEgZGF0YTogVVJMIHRoYXQgYnVpbGQucHkgd3JpdGVzLCBweXRob24gLW0KLy8gbGxhbWFfd29ya2JlbmNoLmp1cHl0ZXIud2lkZ2V0cy5idWlsZCksIHNvIHRoZSB2aWV3IHN0YXlzIG9uZSBmaWxlIHRoYXQgYW55d2lkZ2V0IGNhbiB3YXRjaC4KCmNvbnN0IFNWRyA9ICJodHRwOi8vd3d3LnczLm9yZy8yMDAwL3N2ZyI7CgovLyBBbiBlbGVtZW50IHdpdGggYXR0cmlidXRlcyBhbmQgY2hpbGRyZW4uICJ0ZXN0aWQiIHNldHMgZGF0YS10ZXN0aWQsICJjbGFzcyIgdGhlIGNsYXNzIG5hbWUsCi8vICJvbjxldmVudD4iIGFkZHMgYSBsaXN0ZW5lcjsgYW55dGhpbmcgZWxzZSBpcyBhbiBhdHRyaWJ1dGUuCmV4cG9ydCBmdW5jdGlvbiBoKHRhZywgYXR0cnMgPSB7fSwgLi4uY2hpbGRyZW4pIHsKICBjb25zdCBub2RlID0gZG9jdW1lbnQuY3JlYXRlRWxlbWVudCh0YWcpOwogIGZvciAoY29uc3QgW2tleSwgdmFsdWVdIG9mIE9iamVjdC5lbnRyaWVzKGF0dHJzKSkgewogICAgaWYgKGtleSA9PT0gInRlc3RpZCIpIG5vZGUuZGF0YXNldC50ZXN0aWQgPSB2YWx1ZTsKICAgIGVsc2UgaWYgKGtleSA9PT0gImNsYXNzIikgbm9kZS5jbGFzc05hbWUgPSB2YWx1ZTsKICAgIGVsc2UgaWYgKGtleS5zdGFydHNXaXRoKCJvbiIpKSBub2RlLmFkZEV2ZW50TGlzdGVuZXIoa2V5LnNsaWNlKDIpLCB2YWx1ZSk7CiAgICBlbHNlIG5vZGUuc2V0QXR0cmlidXRlKGtleSwgdmFsdWUpOwogIH0KICBmb3IgKGNvbnN0IGNoaWxkIG9mIGNoaWxkcmVuKSBub2RlLmFwcGVuZChjaGlsZCk7CiAgcmV0dXJuIG5vZGU7Cn0KCi8vIEFuIFNWRyBlbGVtZW50IHdpdGggYXR0cmlidXRlcyAoYW5kIHRleHQsIGlmIGdpdmVuKS4KZXhwb3J0IGZ1bmN0aW9uIHN2Zyh0YWcsIGF0dHJzID0ge30sIHRleHQpIHsKICBjb25zdCBub2RlID0gZG9jdW1lbnQuY3JlYXRlRWxlbWVudE5TKFNWRywgdGFnKTsKICBmb3IgKGNvbnN0IFtrZXksIHZhbHVlXSBvZiBPYmplY3QuZW50cmllcyhhdHRycykpIHsKICAgIGlmIChrZXkgPT09ICJ0ZXN0aWQiKSBub2RlLmRhdGFzZXQudGVzdGlkID0gdmFsdWU7CiAgICBlbHNlIG5vZGUuc2V0QXR0cmlidXRlKGtleSwgU3RyaW5nKHZhbHVlKSk7CiAgfQogIGlmICh0ZXh0ICE9PSB1bmRlZmluZWQpIG5vZGUudGV4dENvbnRlbnQgPSB0ZXh0OwogIHJldHVybiBub2RlOwp9Cg==";
// StackInspector's view: one ES module for anywidget (its `_esm` file); the shared
// helpers h() and svg() are imported from widget.js on the lines above (build.py writes them).
//
// data-testid attributes (stable, for browser tests):
//   inspector-root       the widget
//   inspector-refresh    Refresh button
//   inspector-busy       shown while reloading
//   inspector-health     the stack's health (data-status = OK|Error|...)
//   inspector-summary    distro, version and resource counts
//   inspector-engine     where jobs run (in-process, or a Ray cluster with its free CPUs/GPUs)
//   inspector-api        one <details> per API (data-api = its name)
//   inspector-provider   one <details> per provider (data-provider-id, data-health)
//   inspector-config     a provider's config (secrets arrive masked from Python)
//   inspector-resource   one resource (data-kind = model|shield|vector_store, data-id)
//   inspector-error      the last error

function configTable(config) {
  const shown = (v) => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v));
  const rows = Object.entries(config).map(([key, value]) =>
    h("tr", {}, h("th", {}, key), h("td", {}, shown(value))));
  return rows.length
    ? h("table", { testid: "inspector-config", class: "lw-config" }, h("tbody", {}, ...rows))
    : h("div", { testid: "inspector-config", class: "lw-empty" }, "(no settings)");
}

function providerNode(p, open) {
  const status = (p.health && p.health.status) || "?";
  const node = h("details", {
    testid: "inspector-provider", "data-provider-id": p.provider_id, "data-health": status,
  }, h("summary", {}, h("b", {}, p.provider_id), ` ${p.provider_type} `,
    h("span", { class: `lw-health lw-health-${status}` }, status)),
  configTable(p.config),
  h("ul", { class: "lw-resources" }, ...p.resources.map((r) => h("li", {
    testid: "inspector-resource", "data-kind": r.kind, "data-id": r.id,
  }, h("span", { class: "lw-kind" }, r.kind), ` ${r.id} `,
  h("span", { class: "lw-detail" }, r.detail)))));
  node.open = open.has(`provider:${p.provider_id}`);
  return node;
}

function tree(model, open) {
  return model.get("tree").map((api) => {
    const count = api.providers.length;
    const node = h("details", { testid: "inspector-api", "data-api": api.api },
      h("summary", {}, h("b", {}, api.api), count ? ` (${count} providers)` : " (built in)"),
      ...api.providers.map((p) => providerNode(p, open)));
    node.open = open.has(`api:${api.api}`);
    return node;
  });
}

export default {
  render({ model, el }) {
    const refresh = h("button", { testid: "inspector-refresh" }, "Refresh");
    refresh.addEventListener("click", () => model.send({ type: "refresh" }));
    const busy = h("span", { testid: "inspector-busy", class: "lw-busy" }, "refreshing…");
    const health = h("span", { testid: "inspector-health", class: "lw-health" });
    const summary = h("span", { testid: "inspector-summary" });
    const engine = h("div", { testid: "inspector-engine", class: "lw-engine" });
    const body = h("div", { class: "lw-tree" });
    const error = h("div", { testid: "inspector-error", class: "lw-error" });
    // Which <details> are open survives a refresh.
    const open = new Set();
    body.addEventListener("toggle", (e) => {
      const d = e.target;
      const key = d.dataset.api ? `api:${d.dataset.api}` : `provider:${d.dataset.providerId}`;
      if (d.open) open.add(key); else open.delete(key);
    }, true);
    const sync = () => {
      health.textContent = `health: ${model.get("health")}`;
      health.dataset.status = model.get("health");
      health.className = `lw-health lw-health-${model.get("health")}`;
      const counts = Object.entries(model.get("counts")).map(([k, n]) => `${n} ${k}s`).join(", ");
      const distro = model.get("distro") || "stack";
      summary.textContent = `${distro} ${model.get("version")} · ${counts}`;
      engine.textContent = `jobs: ${model.get("engine")}`;
      body.replaceChildren(...tree(model, open));
      busy.hidden = !model.get("busy");
      error.textContent = model.get("error");
      error.hidden = !model.get("error");
    };
    el.append(h("div", { testid: "inspector-root", class: "lw-widget lw-inspector" },
      h("div", { class: "lw-toolbar" }, refresh, health, summary, busy), engine, body, error));
    sync();
    const events = ["tree", "counts", "health", "distro", "version", "engine", "busy", "error"]
      .map((name) => `change:${name}`);
    events.forEach((e) => model.on(e, sync));
    return () => events.forEach((e) => model.off(e, sync));
  },
};
