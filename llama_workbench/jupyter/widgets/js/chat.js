// widget.js, written by `python -m llama_workbench.jupyter.widgets.build`: edit widget.js
import { h, svg } from "data:text/javascript;base64,Ly8gV2hhdCBldmVyeSBzdGFjayB3aWRnZXQncyB2aWV3IHNoYXJlczogYnVpbGRpbmcgRE9NIGFuZCBTVkcgbm9kZXMuIEFuIEVTIG1vZHVsZTogZWFjaCB2aWV3Ci8vIGltcG9ydHMgaXQgYnkgdmFsdWUgKGEgZGF0YTogVVJMIHRoYXQgYnVpbGQucHkgd3JpdGVzLCBweXRob24gLW0KLy8gbGxhbWFfd29ya2JlbmNoLmp1cHl0ZXIud2lkZ2V0cy5idWlsZCksIHNvIHRoZSB2aWV3IHN0YXlzIG9uZSBmaWxlIHRoYXQgYW55d2lkZ2V0IGNhbiB3YXRjaC4KCmNvbnN0IFNWRyA9ICJodHRwOi8vd3d3LnczLm9yZy8yMDAwL3N2ZyI7CgovLyBBbiBlbGVtZW50IHdpdGggYXR0cmlidXRlcyBhbmQgY2hpbGRyZW4uICJ0ZXN0aWQiIHNldHMgZGF0YS10ZXN0aWQsICJjbGFzcyIgdGhlIGNsYXNzIG5hbWUsCi8vICJvbjxldmVudD4iIGFkZHMgYSBsaXN0ZW5lcjsgYW55dGhpbmcgZWxzZSBpcyBhbiBhdHRyaWJ1dGUuCmV4cG9ydCBmdW5jdGlvbiBoKHRhZywgYXR0cnMgPSB7fSwgLi4uY2hpbGRyZW4pIHsKICBjb25zdCBub2RlID0gZG9jdW1lbnQuY3JlYXRlRWxlbWVudCh0YWcpOwogIGZvciAoY29uc3QgW2tleSwgdmFsdWVdIG9mIE9iamVjdC5lbnRyaWVzKGF0dHJzKSkgewogICAgaWYgKGtleSA9PT0gInRlc3RpZCIpIG5vZGUuZGF0YXNldC50ZXN0aWQgPSB2YWx1ZTsKICAgIGVsc2UgaWYgKGtleSA9PT0gImNsYXNzIikgbm9kZS5jbGFzc05hbWUgPSB2YWx1ZTsKICAgIGVsc2UgaWYgKGtleS5zdGFydHNXaXRoKCJvbiIpKSBub2RlLmFkZEV2ZW50TGlzdGVuZXIoa2V5LnNsaWNlKDIpLCB2YWx1ZSk7CiAgICBlbHNlIG5vZGUuc2V0QXR0cmlidXRlKGtleSwgdmFsdWUpOwogIH0KICBmb3IgKGNvbnN0IGNoaWxkIG9mIGNoaWxkcmVuKSBub2RlLmFwcGVuZChjaGlsZCk7CiAgcmV0dXJuIG5vZGU7Cn0KCi8vIEFuIFNWRyBlbGVtZW50IHdpdGggYXR0cmlidXRlcyAoYW5kIHRleHQsIGlmIGdpdmVuKS4KZXhwb3J0IGZ1bmN0aW9uIHN2Zyh0YWcsIGF0dHJzID0ge30sIHRleHQpIHsKICBjb25zdCBub2RlID0gZG9jdW1lbnQuY3JlYXRlRWxlbWVudE5TKFNWRywgdGFnKTsKICBmb3IgKGNvbnN0IFtrZXksIHZhbHVlXSBvZiBPYmplY3QuZW50cmllcyhhdHRycykpIHsKICAgIGlmIChrZXkgPT09ICJ0ZXN0aWQiKSBub2RlLmRhdGFzZXQudGVzdGlkID0gdmFsdWU7CiAgICBlbHNlIG5vZGUuc2V0QXR0cmlidXRlKGtleSwgU3RyaW5nKHZhbHVlKSk7CiAgfQogIGlmICh0ZXh0ICE9PSB1bmRlZmluZWQpIG5vZGUudGV4dENvbnRlbnQgPSB0ZXh0OwogIHJldHVybiBub2RlOwp9Cg==";
// ChatWidget's view: one ES module for anywidget (its `_esm` file); the shared
// helpers h() and svg() are imported from widget.js on the lines above (build.py writes them).
//
// data-testid attributes (stable, for browser tests):
//   chat-root            the widget
//   chat-model           <select> of the stack's chat models
//   chat-system          <textarea> system prompt
//   chat-temperature     <input type=number> temperature (0..2)
//   chat-max-tokens      <input type=number> max tokens
//   chat-shields         the shield checkboxes' container
//   chat-shield          one <input type=checkbox> per shield (data-shield = its id)
//   chat-messages        the conversation
//   chat-message         one message (data-role = user|assistant, data-index = position)
//   chat-copy            copy button of an assistant message (data-index = its position)
//   chat-pending         the prompt being answered
//   chat-streaming       the answer being streamed (data-streaming = true|false)
//   chat-violation       a shield's finding (data-blocked = true|false, data-stage = prompt|answer)
//   chat-violation-text  the blocked prompt, quoted inside chat-violation
//   chat-error           the last error
//   chat-status          what the widget is doing
//   chat-input           <textarea> the prompt (Enter sends, Shift+Enter is a new line)
//   chat-send            Send button
//   chat-stop            Stop button (enabled while answering)
//   chat-clear           Clear button
//   chat-copy-all        copies the whole conversation

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard permission (plain http, headless browsers): the old selection route.
    const area = h("textarea", { class: "lw-offscreen" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  button.textContent = "Copied";
  setTimeout(() => (button.textContent = button.dataset.label), 1200);
}

function settings(model) {
  const select = h("select", { testid: "chat-model", "aria-label": "Model" });
  const system = h("textarea", { testid: "chat-system", rows: "2", placeholder: "System prompt" });
  const temperature = h("input", {
    testid: "chat-temperature", type: "number", min: "0", max: "2", step: "0.1",
    "aria-label": "Temperature",
  });
  const maxTokens = h("input", {
    testid: "chat-max-tokens", type: "number", min: "1", step: "1", "aria-label": "Max tokens",
  });
  const shields = h("div", { testid: "chat-shields", class: "lw-shields" });
  const save = (name, value) => { model.set(name, value); model.save_changes(); };
  select.addEventListener("change", () => save("model", select.value));
  system.addEventListener("change", () => save("system", system.value));
  temperature.addEventListener("change", () => {
    const value = Number(temperature.value);
    if (temperature.value !== "" && value >= 0 && value <= 2) save("temperature", value);
  });
  maxTokens.addEventListener("change", () => {
    const value = Math.floor(Number(maxTokens.value));
    if (value >= 1) save("max_tokens", value);
  });
  const sync = () => {
    select.replaceChildren(...model.get("models").map((m) => h("option", { value: m }, m)));
    select.value = model.get("model");
    system.value = model.get("system");
    temperature.value = String(model.get("temperature"));
    maxTokens.value = String(model.get("max_tokens"));
    const chosen = new Set(model.get("selected_shields"));
    shields.replaceChildren(...model.get("shields").map((id) => {
      const box = h("input", { type: "checkbox", testid: "chat-shield", "data-shield": id });
      box.checked = chosen.has(id);
      box.addEventListener("change", () => {
        const picked = [...shields.querySelectorAll("input:checked")].map((b) => b.dataset.shield);
        save("selected_shields", picked);
      });
      return h("label", { class: "lw-shield" }, box, ` ${id}`);
    }));
  };
  const row = h("div", { class: "lw-settings" },
    h("label", {}, "Model ", select), h("label", {}, "Temperature ", temperature),
    h("label", {}, "Max tokens ", maxTokens),
    h("span", { class: "lw-label" }, "Shields:"), shields);
  return { node: h("div", {}, row, system), sync };
}

function messageNode(m, i) {
  const node = h("div", {
    testid: "chat-message", class: `lw-msg lw-${m.role}`, "data-role": m.role, "data-index": i,
  }, h("div", { class: "lw-text" }, m.content));
  if (m.role === "assistant") {
    const copy = h("button", { testid: "chat-copy", class: "lw-copy", "data-index": i,
      "data-label": "Copy", title: "Copy this answer" }, "Copy");
    copy.addEventListener("click", () => copyText(m.content, copy));
    node.append(copy);
  }
  return node;
}

function conversation(model) {
  const list = h("div", { testid: "chat-messages", class: "lw-messages" });
  const pending = h("div", { testid: "chat-pending", class: "lw-msg lw-user" });
  const live = h("div", { testid: "chat-streaming", class: "lw-msg lw-assistant lw-live" });
  const violation = h("div", { testid: "chat-violation", class: "lw-violation" });
  let text = "";
  const showLive = () => {
    live.textContent = text;
    live.hidden = !model.get("pending");
    live.dataset.streaming = String(model.get("streaming"));
  };
  const syncMessages = () => list.replaceChildren(...model.get("messages").map(messageNode));
  const syncTurn = () => {
    pending.textContent = model.get("pending");
    pending.hidden = !model.get("pending");
    text = model.get("partial");
    showLive();
    const v = model.get("violation");
    violation.hidden = !v || !v.shield_id;
    if (v && v.shield_id) {
      violation.dataset.blocked = String(Boolean(v.blocked));
      violation.dataset.stage = v.stage;
      const what = v.blocked ? `Blocked the ${v.stage}` : `Flagged the ${v.stage}`;
      const cats = v.categories && v.categories.length ? ` [${v.categories.join(", ")}]` : "";
      violation.replaceChildren(`${what}: ${v.shield_id} (${v.level})${cats}: ${v.user_message}`);
      if (v.blocked && v.stage === "prompt") {
        // The prompt left the conversation: show it, so it can be copied and reworded.
        violation.append(h("q", { testid: "chat-violation-text", class: "lw-quote" }, v.text));
      }
    }
  };
  // Tokens arrive as custom messages; `partial` (synced every 0.1 s) is the authority.
  const onToken = (msg) => {
    if (!msg || msg.type !== "token") return;
    if (msg.offset === text.length) text += msg.text;
    else if (msg.offset < text.length) text = text.slice(0, msg.offset) + msg.text;
    else return; // a gap: wait for the next `partial`
    showLive();
    list.parentElement?.scrollTo?.({ top: list.parentElement.scrollHeight });
  };
  const node = h("div", { class: "lw-scroll" }, list, pending, live, violation);
  return { node, syncMessages, syncTurn, onToken };
}

function composer(model) {
  const input = h("textarea", { testid: "chat-input", rows: "2", placeholder: "Message" });
  const send = h("button", { testid: "chat-send", class: "lw-primary" }, "Send");
  const stop = h("button", { testid: "chat-stop" }, "Stop");
  const clear = h("button", { testid: "chat-clear" }, "Clear");
  const copyAll = h("button", { testid: "chat-copy-all", "data-label": "Copy all" }, "Copy all");
  const submit = () => {
    const prompt = input.value.trim();
    if (!prompt || model.get("busy")) return;
    model.send({ type: "send", prompt });
    input.value = "";
  };
  send.addEventListener("click", submit);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); }
  });
  stop.addEventListener("click", () => model.send({ type: "stop" }));
  clear.addEventListener("click", () => model.send({ type: "clear" }));
  copyAll.addEventListener("click", () => {
    const all = model.get("messages").map((m) => `${m.role}: ${m.content}`).join("\n\n");
    copyText(all, copyAll);
  });
  const sync = () => {
    const busy = model.get("busy");
    send.disabled = busy;
    stop.disabled = !busy;
  };
  return { node: h("div", { class: "lw-composer" }, input, send, stop, clear, copyAll), sync };
}

export default {
  render({ model, el }) {
    const top = settings(model);
    const talk = conversation(model);
    const bottom = composer(model);
    const status = h("div", { testid: "chat-status", class: "lw-status" });
    const error = h("div", { testid: "chat-error", class: "lw-error" });
    const syncStatus = () => {
      status.textContent = model.get("status");
      error.textContent = model.get("error");
      error.hidden = !model.get("error");
      bottom.sync();
    };
    el.append(h("div", { testid: "chat-root", class: "lw-widget lw-chat" },
      top.node, talk.node, status, error, bottom.node));
    top.sync(); talk.syncMessages(); talk.syncTurn(); syncStatus();
    const handlers = [
      ["change:models change:model change:system change:temperature change:max_tokens " +
        "change:shields change:selected_shields", top.sync],
      ["change:messages", talk.syncMessages],
      ["change:pending change:partial change:streaming change:violation", talk.syncTurn],
      ["change:status change:error change:busy", syncStatus],
      ["msg:custom", talk.onToken],
    ];
    // One event per call: not every anywidget host splits space-separated event names.
    const each = (act) =>
      handlers.forEach(([events, fn]) => events.split(" ").forEach((e) => act(e, fn)));
    each((e, fn) => model.on(e, fn));
    return () => each((e, fn) => model.off(e, fn));
  },
};
