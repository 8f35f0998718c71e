// widget.js, written by `python -m llama_workbench.jupyter.widgets.build`: edit widget.js
import { h, svg } from "data:text/javascript;base64,Ly8gV2hhdCBldmVyeSBzdGFjayB3aWRnZXQncyB2aWV3IHNoYXJlczogYnVpbGRpbmcgRE9NIGFuZCBTVkcgbm9kZXMuIEFuIEVTIG1vZHVsZTogZWFjaCB2aWV3Ci8vIGltcG9ydHMgaXQgYnkgdmFsdWUgKGEgZGF0YTogVVJMIHRoYXQgYnVpbGQucHkgd3JpdGVzLCBweXRob24gLW0KLy8gbGxhbWFfd29ya2JlbmNoLmp1cHl0ZXIud2lkZ2V0cy5idWlsZCksIHNvIHRoZSB2aWV3IHN0YXlzIG9uZSBmaWxlIHRoYXQgYW55d2lkZ2V0IGNhbiB3YXRjaC4KCmNvbnN0IFNWRyA9ICJodHRwOi8vd3d3LnczLm9yZy8yMDAwL3N2ZyI7CgovLyBBbiBlbGVtZW50IHdpdGggYXR0cmlidXRlcyBhbmQgY2hpbGRyZW4uICJ0ZXN0aWQiIHNldHMgZGF0YS10ZXN0aWQsICJjbGFzcyIgdGhlIGNsYXNzIG5hbWUsCi8vICJvbjxldmVudD4iIGFkZHMgYSBsaXN0ZW5lcjsgYW55dGhpbmcgZWxzZSBpcyBhbiBhdHRyaWJ1dGUuCmV4cG9ydCBmdW5jdGlvbiBoKHRhZywgYXR0cnMgPSB7fSwgLi4uY2hpbGRyZW4pIHsKICBjb25zdCBub2RlID0gZG9jdW1lbnQuY3JlYXRlRWxlbWVudCh0YWcpOwogIGZvciAoY29uc3QgW2tleSwgdmFsdWVdIG9mIE9iamVjdC5lbnRyaWVzKGF0dHJzKSkgewogICAgaWYgKGtleSA9PT0gInRlc3RpZCIpIG5vZGUuZGF0YXNldC50ZXN0aWQgPSB2YWx1ZTsKICAgIGVsc2UgaWYgKGtleSA9PT0gImNsYXNzIikgbm9kZS5jbGFzc05hbWUgPSB2YWx1ZTsKICAgIGVsc2UgaWYgKGtleS5zdGFydHNXaXRoKCJvbiIpKSBub2RlLmFkZEV2ZW50TGlzdGVuZXIoa2V5LnNsaWNlKDIpLCB2YWx1ZSk7CiAgICBlbHNlIG5vZGUuc2V0QXR0cmlidXRlKGtleSwgdmFsdWUpOwogIH0KICBmb3IgKGNvbnN0IGNoaWxkIG9mIGNoaWxkcmVuKSBub2RlLmFwcGVuZChjaGlsZCk7CiAgcmV0dXJuIG5vZGU7Cn0KCi8vIEFuIFNWRyBlbGVtZW50IHdpdGggYXR0cmlidXRlcyAoYW5kIHRleHQsIGlmIGdpdmVuKS4KZXhwb3J0IGZ1bmN0aW9uIHN2Zyh0YWcsIGF0dHJzID0ge30sIHRleHQpIHsKICBjb25zdCBub2RlID0gZG9jdW1lbnQuY3JlYXRlRWxlbWVudE5TKFNWRywgdGFnKTsKICBmb3IgKGNvbnN0IFtrZXksIHZhbHVlXSBvZiBPYmplY3QuZW50cmllcyhhdHRycykpIHsKICAgIGlmIChrZXkgPT09ICJ0ZXN0aWQiKSBub2RlLmRhdGFzZXQudGVzdGlkID0gdmFsdWU7CiAgICBlbHNlIG5vZGUuc2V0QXR0cmlidXRlKGtleSwgU3RyaW5nKHZhbHVlKSk7CiAgfQogIGlmICh0ZXh0ICE9PSB1bmRlZmluZWQpIG5vZGUudGV4dENvbnRlbnQgPSB0ZXh0OwogIHJldHVybiBub2RlOwp9Cg==";
// FineTuneMonitor's view: one ES module for anywidget (its `_esm` file); the shared
// helpers h() and svg() are imported from widget.js on the lines above (build.py writes them).
//
// data-testid attributes (stable, for browser tests):
//   ft-root        the widget
//   ft-job         <select> of the stack's post-training jobs
//   ft-refresh     reload the jobs
//   ft-progress    <progress> steps done of the job's steps
//   ft-status      the job's id, status, step and loss (data-status = the status)
//   ft-cancel      Cancel button (while the job runs)
//   ft-resume      Resume button (a cancelled or failed job)
//   ft-curve       <svg> the loss per step (data-points = how many)
//   ft-line        its <polyline>
//   ft-model       the fine-tuned model's id, once served
//   ft-prompt      <input> a prompt for the fine-tuned model
//   ft-ask         Ask button
//   ft-answer      one prompt with the tuned (ft-tuned) and base (ft-base) answers
//   ft-mlflow      the MLflow run and the command that opens its UI
//   ft-error       the last error

const RUNNING = ["scheduled", "in_progress"];
const W = 460, H = 180, PAD = { left: 52, right: 12, top: 10, bottom: 28 };

function header(model) {
  const job = h("select", { testid: "ft-job", "aria-label": "Job" });
  const refresh = h("button", { testid: "ft-refresh", title: "Reload the jobs" }, "↻");
  const cancel = h("button", { testid: "ft-cancel" }, "Cancel");
  const resume = h("button", { testid: "ft-resume" }, "Resume");
  job.addEventListener("change", () => model.send({ type: "select", job_uuid: job.value }));
  refresh.addEventListener("click", () => model.send({ type: "refresh" }));
  cancel.addEventListener("click", () => model.send({ type: "cancel" }));
  resume.addEventListener("click", () => model.send({ type: "resume" }));
  const sync = () => {
    job.replaceChildren(...model.get("jobs").map((id) => h("option", { value: id }, id)));
    job.value = model.get("job_uuid");
    const status = model.get("job").status;
    cancel.hidden = !RUNNING.includes(status);
    resume.hidden = !["cancelled", "failed"].includes(status);
  };
  return { node: h("div", { class: "lw-row" }, h("label", {}, "Job ", job), refresh, cancel, resume), sync };
}

function progress(model) {
  const bar = h("progress", { testid: "ft-progress", value: "0", max: "1" });
  const status = h("span", { testid: "ft-status" });
  const sync = () => {
    const job = model.get("job");
    const shown = Boolean(job && job.job_uuid);
    bar.hidden = status.hidden = !shown;
    if (!shown) return;
    bar.max = job.total_steps || 1;
    bar.value = job.step || 0;
    status.dataset.status = job.status;
    const parts = [`${job.job_uuid}: ${job.status}`, `step ${job.step || 0}/${job.total_steps ?? "?"}`];
    if (typeof job.loss === "number") parts.push(`loss ${job.loss.toFixed(4)}`);
    if (typeof job.eval_loss === "number") parts.push(`eval loss ${job.eval_loss.toFixed(4)}`);
    if (RUNNING.includes(job.status) && typeof job.eta_s === "number") parts.push(`~${Math.round(job.eta_s)} s left`);
    if (job.error) parts.push(job.error);
    status.textContent = parts.join(", ");
  };
  return { node: h("div", { class: "lw-progress" }, bar, status), sync };
}

function fmt(value) {
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

function curve(model) {
  const box = h("div", { class: "lw-curve" });
  const sync = () => {
    const points = model.get("losses");
    const plot = svg("svg", { testid: "ft-curve", width: W, height: H, viewBox: `0 0 ${W} ${H}` });
    plot.dataset.points = String(points.length);
    box.hidden = points.length === 0;
    if (points.length) {
      const steps = points.map((p) => p[0]), values = points.map((p) => p[1]);
      const [x0, x1] = [Math.min(...steps), Math.max(...steps)];
      let [y0, y1] = [Math.min(...values), Math.max(...values)];
      if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
      const x = (s) => PAD.left + ((s - x0) / Math.max(1, x1 - x0)) * (W - PAD.left - PAD.right);
      const y = (v) => PAD.top + (1 - (v - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
      const bottom = H - PAD.bottom;
      plot.append(
        svg("line", { x1: PAD.left, y1: bottom, x2: W - PAD.right, y2: bottom, class: "lw-axis" }),
        svg("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: bottom, class: "lw-axis" }),
        svg("text", { x: PAD.left - 4, y: PAD.top + 10, class: "lw-tick", "text-anchor": "end" }, fmt(y1)),
        svg("text", { x: PAD.left - 4, y: bottom, class: "lw-tick", "text-anchor": "end" }, fmt(y0)),
        svg("text", { x: PAD.left, y: H - 8, class: "lw-tick" }, String(x0)),
        svg("text", { x: W - PAD.right, y: H - 8, class: "lw-tick", "text-anchor": "end" }, String(x1)),
        svg("text", { x: (W + PAD.left) / 2, y: H - 8, class: "lw-tick", "text-anchor": "middle" }, "step"),
        svg("text", { x: 12, y: (H - PAD.bottom) / 2, class: "lw-tick", transform: `rotate(-90 12 ${(H - PAD.bottom) / 2})`, "text-anchor": "middle" }, "loss"),
        svg("polyline", { testid: "ft-line", class: "lw-line", points: points.map(([s, v]) => `${x(s)},${y(v)}`).join(" ") }),
      );
      const [ls, lv] = points[points.length - 1];
      plot.append(svg("circle", { cx: x(ls), cy: y(lv), r: 3, class: "lw-dot" }));
    }
    box.replaceChildren(plot);
  };
  return { node: box, sync };
}

function chat(model) {
  const served = h("div", { testid: "ft-model", class: "lw-model" });
  const prompt = h("input", { testid: "ft-prompt", type: "text", placeholder: "Ask the fine-tuned model…", "aria-label": "Prompt" });
  const ask = h("button", { testid: "ft-ask", class: "lw-primary" }, "Ask");
  const answers = h("div", { class: "lw-answers" });
  const send = () => {
    if (!prompt.value.trim()) return;
    model.send({ type: "ask", prompt: prompt.value });
    prompt.value = "";
  };
  ask.addEventListener("click", send);
  prompt.addEventListener("keydown", (e) => { if (e.key === "Enter") send(); });
  const row = h("div", { class: "lw-row" }, prompt, ask);
  const sync = () => {
    const job = model.get("job");
    const ready = Boolean(job && job.model_id);
    served.hidden = row.hidden = !ready;
    if (ready) served.textContent = `Fine-tuned model: ${job.model_id} (base ${job.model})`;
    answers.replaceChildren(...model.get("answers").map((a) => h("div", { testid: "ft-answer", class: "lw-answer" },
      h("div", { class: "lw-q" }, a.prompt),
      h("div", { testid: "ft-tuned", class: "lw-a" }, h("b", {}, "tuned: "), a.tuned ?? "…"),
      h("div", { testid: "ft-base", class: "lw-a lw-base" }, h("b", {}, "base: "), a.base ?? "…"))));
    ask.disabled = model.get("busy");
  };
  return { node: h("div", { class: "lw-chat" }, served, row, answers), sync };
}

export default {
  render({ model, el }) {
    const parts = [header(model), progress(model), curve(model), chat(model)];
    const mlflow = h("div", { testid: "ft-mlflow", class: "lw-mlflow" });
    const error = h("div", { testid: "ft-error", class: "lw-error" });
    const sync = () => {
      parts.forEach((p) => p.sync());
      const job = model.get("job");
      mlflow.hidden = !(job && job.mlflow_command);
      if (!mlflow.hidden) mlflow.textContent = `MLflow run ${job.mlflow_run_id}: ${job.mlflow_command}`;
      error.textContent = model.get("error");
      error.hidden = !model.get("error");
    };
    el.append(h("div", { testid: "ft-root", class: "lw-widget lw-finetune" }, ...parts.map((p) => p.node), mlflow, error));
    sync();
    const events = ["jobs", "job_uuid", "job", "losses", "answers", "busy", "error"].map((n) => `change:${n}`);
    events.forEach((e) => model.on(e, sync));
    return () => events.forEach((e) => model.off(e, sync));
  },
};
