// widget.js, written by `python -m llama_workbench.jupyter.widgets.build`: edit widget.js
import { h, svg } from "data:text/javascript;base64,Ly8gV2hhdCBldmVyeSBzdGFjayB3aWRnZXQncyB2aWV3IHNoYXJlczogYnVpbGRpbmcgRE9NIGFuZCBTVkcgbm9kZXMuIEFuIEVTIG1vZHVsZTogZWFjaCB2aWV3Ci8vIGltcG9ydHMgaXQgYnkgdmFsdWUgKGEgZGF0YTogVVJMIHRoYXQgYnVpbGQucHkgd3JpdGVzLCBweXRob24gLW0KLy8gbGxhbWFfd29ya2JlbmNoLmp1cHl0ZXIud2lkZ2V0cy5idWlsZCksIHNvIHRoZSB2aWV3IHN0YXlzIG9uZSBmaWxlIHRoYXQgYW55d2lkZ2V0IGNhbiB3YXRjaC4KCmNvbnN0IFNWRyA9ICJodHRwOi8vd3d3LnczLm9yZy8yMDAwL3N2ZyI7CgovLyBBbiBlbGVtZW50IHdpdGggYXR0cmlidXRlcyBhbmQgY2hpbGRyZW4uICJ0ZXN0aWQiIHNldHMgZGF0YS10ZXN0aWQsICJjbGFzcyIgdGhlIGNsYXNzIG5hbWUsCi8vICJvbjxldmVudD4iIGFkZHMgYSBsaXN0ZW5lcjsgYW55dGhpbmcgZWxzZSBpcyBhbiBhdHRyaWJ1dGUuCmV4cG9ydCBmdW5jdGlvbiBoKHRhZywgYXR0cnMgPSB7fSwgLi4uY2hpbGRyZW4pIHsKICBjb25zdCBub2RlID0gZG9jdW1lbnQuY3JlYXRlRWxlbWVudCh0YWcpOwogIGZvciAoY29uc3QgW2tleSwgdmFsdWVdIG9mIE9iamVjdC5lbnRyaWVzKGF0dHJzKSkgewogICAgaWYgKGtleSA9PT0gInRlc3RpZCIpIG5vZGUuZGF0YXNldC50ZXN0aWQgPSB2YWx1ZTsKICAgIGVsc2UgaWYgKGtleSA9PT0gImNsYXNzIikgbm9kZS5jbGFzc05hbWUgPSB2YWx1ZTsKICAgIGVsc2UgaWYgKGtleS5zdGFydHNXaXRoKCJvbiIpKSBub2RlLmFkZEV2ZW50TGlzdGVuZXIoa2V5LnNsaWNlKDIpLCB2YWx1ZSk7CiAgICBlbHNlIG5vZGUuc2V0QXR0cmlidXRlKGtleSwgdmFsdWUpOwogIH0KICBmb3IgKGNvbnN0IGNoaWxkIG9mIGNoaWxkcmVuKSBub2RlLmFwcGVuZChjaGlsZCk7CiAgcmV0dXJuIG5vZGU7Cn0KCi8vIEFuIFNWRyBlbGVtZW50IHdpdGggYXR0cmlidXRlcyAoYW5kIHRleHQsIGlmIGdpdmVuKS4KZXhwb3J0IGZ1bmN0aW9uIHN2Zyh0YWcsIGF0dHJzID0ge30sIHRleHQpIHsKICBjb25zdCBub2RlID0gZG9jdW1lbnQuY3JlYXRlRWxlbWVudE5TKFNWRywgdGFnKTsKICBmb3IgKGNvbnN0IFtrZXksIHZhbHVlXSBvZiBPYmplY3QuZW50cmllcyhhdHRycykpIHsKICAgIGlmIChrZXkgPT09ICJ0ZXN0aWQiKSBub2RlLmRhdGFzZXQudGVzdGlkID0gdmFsdWU7CiAgICBlbHNlIG5vZGUuc2V0QXR0cmlidXRlKGtleSwgU3RyaW5nKHZhbHVlKSk7CiAgfQogIGlmICh0ZXh0ICE9PSB1bmRlZmluZWQpIG5vZGUudGV4dENvbnRlbnQgPSB0ZXh0OwogIHJldHVybiBub2RlOwp9Cg==";
// SafetyPanel's view: one ES module for anywidget (its `_esm` file); the shared
// helpers h() and svg() are imported from widget.js on the lines above (build.py writes them).
//
// data-testid attributes (stable, for browser tests):
//   safety-root          the widget
//   safety-shield        <select> of the stack's shields
//   safety-role          <select> whose message the text is: user | assistant
//   safety-text          <textarea> the text to check
//   safety-run           Run button (Ctrl/Cmd+Enter in the text runs too)
//   safety-busy          shown while the shield runs
//   safety-result        the verdict (data-level = none|info|warn|error, data-safe = true|false)
//   safety-level         its level
//   safety-message       the message for the user
//   safety-categories    the categories, one safety-category chip each
//   safety-category
//   safety-metadata      <pre> the shield's metadata as JSON
//   safety-error         the last error

function form(model) {
  const shield = h("select", { testid: "safety-shield", "aria-label": "Shield" });
  const role = h("select", { testid: "safety-role", "aria-label": "Role" },
    h("option", { value: "user" }, "user"), h("option", { value: "assistant" }, "assistant"));
  const text = h("textarea", { testid: "safety-text", rows: "4", placeholder: "Text to check" });
  const run = h("button", { testid: "safety-run", class: "lw-primary" }, "Run shield");
  const save = (name, value) => { model.set(name, value); model.save_changes(); };
  shield.addEventListener("change", () => save("shield_id", shield.value));
  role.addEventListener("change", () => save("role", role.value));
  text.addEventListener("change", () => save("text", text.value));
  const go = () => model.send({
    type: "run", text: text.value, shield_id: shield.value, role: role.value,
  });
  run.addEventListener("click", go);
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); go(); }
  });
  const sync = () => {
    shield.replaceChildren(...model.get("shields").map((s) => h("option", { value: s }, s)));
    shield.value = model.get("shield_id");
    role.value = model.get("role");
    if (document.activeElement !== text) text.value = model.get("text");
    run.disabled = model.get("busy") || !model.get("shield_id");
  };
  const row = h("div", { class: "lw-row" },
    h("label", {}, "Shield ", shield), h("label", {}, "Role ", role), run);
  return { node: h("div", {}, row, text), sync };
}

function verdict(model) {
  const box = h("div", { testid: "safety-result", class: "lw-result" });
  const sync = () => {
    const r = model.get("result");
    box.hidden = !r || !r.shield_id;
    if (box.hidden) return;
    box.dataset.level = r.level;
    box.dataset.safe = String(r.safe);
    const level = h("span", { testid: "safety-level", class: `lw-level lw-level-${r.level}` },
      r.safe ? "no violation" : r.level);
    const message = h("div", { testid: "safety-message" }, r.user_message || "");
    const cats = h("div", { testid: "safety-categories", class: "lw-cats" },
      ...r.categories.map((c) => h("span", { testid: "safety-category", class: "lw-cat" }, c)));
    const meta = h("pre", { testid: "safety-metadata", class: "lw-meta" },
      JSON.stringify(r.metadata, null, 2));
    meta.hidden = r.safe;
    box.replaceChildren(h("div", {}, `${r.shield_id}: `, level), message, cats, meta);
  };
  return { node: box, sync };
}

export default {
  render({ model, el }) {
    const top = form(model);
    const result = verdict(model);
    const busy = h("div", { testid: "safety-busy", class: "lw-busy" }, "checking…");
    const error = h("div", { testid: "safety-error", class: "lw-error" });
    const sync = () => {
      top.sync();
      result.sync();
      busy.hidden = !model.get("busy");
      error.textContent = model.get("error");
      error.hidden = !model.get("error");
    };
    el.append(h("div", { testid: "safety-root", class: "lw-widget lw-safety" },
      top.node, busy, result.node, error));
    sync();
    const events = ["shields", "shield_id", "role", "text", "result", "busy", "error"]
      .map((name) => `change:${name}`);
    events.forEach((e) => model.on(e, sync));
    return () => events.forEach((e) => model.off(e, sync));
  },
};
