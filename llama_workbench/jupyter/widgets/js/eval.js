// widget.js, written by `python -m llama_workbench.jupyter.widgets.build`: edit widget.js
import { h, svg } from "data:text/javascript;base64,Ly8gV2hhdCBldmVyeSBzdGFjayB3aWRnZXQncyB2aWV3IHNoYXJlczogYnVpbGRpbmcgRE9NIGFuZCBTVkcgbm9kZXMuIEFuIEVTIG1vZHVsZTogZWFjaCB2aWV3Ci8vIGltcG9ydHMgaXQgYnkgdmFsdWUgKGEgZGF0YTogVVJMIHRoYXQgYnVpbGQucHkgd3JpdGVzLCBweXRob24gLW0KLy8gbGxhbWFfd29ya2JlbmNoLmp1cHl0ZXIud2lkZ2V0cy5idWlsZCksIHNvIHRoZSB2aWV3IHN0YXlzIG9uZSBmaWxlIHRoYXQgYW55d2lkZ2V0IGNhbiB3YXRjaC4KCmNvbnN0IFNWRyA9ICJodHRwOi8vd3d3LnczLm9yZy8yMDAwL3N2ZyI7CgovLyBBbiBlbGVtZW50IHdpdGggYXR0cmlidXRlcyBhbmQgY2hpbGRyZW4uICJ0ZXN0aWQiIHNldHMgZGF0YS10ZXN0aWQsICJjbGFzcyIgdGhlIGNsYXNzIG5hbWUsCi8vICJvbjxldmVudD4iIGFkZHMgYSBsaXN0ZW5lcjsgYW55dGhpbmcgZWxzZSBpcyBhbiBhdHRyaWJ1dGUuCmV4cG9ydCBmdW5jdGlvbiBoKHRhZywgYXR0cnMgPSB7fSwgLi4uY2hpbGRyZW4pIHsKICBjb25zdCBub2RlID0gZG9jdW1lbnQuY3JlYXRlRWxlbWVudCh0YWcpOwogIGZvciAoY29uc3QgW2tleSwgdmFsdWVdIG9mIE9iamVjdC5lbnRyaWVzKGF0dHJzKSkgewogICAgaWYgKGtleSA9PT0gInRlc3RpZCIpIG5vZGUuZGF0YXNldC50ZXN0aWQgPSB2YWx1ZTsKICAgIGVsc2UgaWYgKGtleSA9PT0gImNsYXNzIikgbm9kZS5jbGFzc05hbWUgPSB2YWx1ZTsKICAgIGVsc2UgaWYgKGtleS5zdGFydHNXaXRoKCJvbiIpKSBub2RlLmFkZEV2ZW50TGlzdGVuZXIoa2V5LnNsaWNlKDIpLCB2YWx1ZSk7CiAgICBlbHNlIG5vZGUuc2V0QXR0cmlidXRlKGtleSwgdmFsdWUpOwogIH0KICBmb3IgKGNvbnN0IGNoaWxkIG9mIGNoaWxkcmVuKSBub2RlLmFwcGVuZChjaGlsZCk7CiAgcmV0dXJuIG5vZGU7Cn0KCi8vIEFuIFNWRyBlbGVtZW50IHdpdGggYXR0cmlidXRlcyAoYW5kIHRleHQsIGlmIGdpdmVuKS4KZXhwb3J0IGZ1bmN0aW9uIHN2Zyh0YWcsIGF0dHJzID0ge30sIHRleHQpIHsKICBjb25zdCBub2RlID0gZG9jdW1lbnQuY3JlYXRlRWxlbWVudE5TKFNWRywgdGFnKTsKICBmb3IgKGNvbnN0IFtrZXksIHZhbHVlXSBvZiBPYmplY3QuZW50cmllcyhhdHRycykpIHsKICAgIGlmIChrZXkgPT09ICJ0ZXN0aWQiKSBub2RlLmRhdGFzZXQudGVzdGlkID0gdmFsdWU7CiAgICBlbHNlIG5vZGUuc2V0QXR0cmlidXRlKGtleSwgU3RyaW5nKHZhbHVlKSk7CiAgfQogIGlmICh0ZXh0ICE9PSB1bmRlZmluZWQpIG5vZGUudGV4dENvbnRlbnQgPSB0ZXh0OwogIHJldHVybiBub2RlOwp9Cg==";
// EvalDashboard's view: one ES module for anywidget (its `_esm` file); the shared
// helpers h() and svg() are imported from widget.js on the lines above (build.py writes them).
//
// data-testid attributes (stable, for browser tests):
//   eval-root            the widget
//   eval-benchmark       <select> of the stack's benchmarks
//   eval-model           <select> of its chat models
//   eval-examples        <input> rows to run (0: all)
//   eval-run             Run button
//   eval-cancel          Cancel button (while a job runs)
//   eval-progress        <progress> rows done of the job's rows
//   eval-status          the job's id, status and row count (data-status = the status)
//   eval-chart           <svg> one bar per rate or mean (accuracy, average, median...)
//   eval-bar             one bar (data-metric = "function/metric", data-value)
//   eval-table           <table> one eval-row per example
//   eval-row
//   eval-mlflow          the MLflow run and the command that opens its UI
//   eval-error           the last error

function options(select, values, current) {
  select.replaceChildren(...values.map((v) => h("option", { value: v }, v)));
  select.value = current;
}

function controls(model) {
  const benchmark = h("select", { testid: "eval-benchmark", "aria-label": "Benchmark" });
  const llm = h("select", { testid: "eval-model", "aria-label": "Model" });
  const examples = h("input", { testid: "eval-examples", type: "number", min: "0", size: "4" });
  const run = h("button", { testid: "eval-run", class: "lw-primary" }, "Run");
  const cancel = h("button", { testid: "eval-cancel" }, "Cancel");
  const save = (name, value) => { model.set(name, value); model.save_changes(); };
  benchmark.addEventListener("change", () => save("benchmark_id", benchmark.value));
  llm.addEventListener("change", () => save("model", llm.value));
  examples.addEventListener("change", () => save("num_examples", Number(examples.value) || 0));
  run.addEventListener("click", () => model.send({
    type: "run", benchmark_id: benchmark.value, model: llm.value,
    num_examples: Number(examples.value) || 0,
  }));
  cancel.addEventListener("click", () => model.send({ type: "cancel" }));
  const sync = () => {
    options(benchmark, model.get("benchmarks"), model.get("benchmark_id"));
    options(llm, model.get("models"), model.get("model"));
    if (document.activeElement !== examples) examples.value = model.get("num_examples");
    const running = ["scheduled", "in_progress"].includes(model.get("job").status);
    run.disabled = running || !model.get("benchmark_id") || !model.get("model");
    cancel.hidden = !running;
  };
  const node = h("div", { class: "lw-row" }, h("label", {}, "Benchmark ", benchmark),
    h("label", {}, "Model ", llm), h("label", {}, "Rows ", examples), run, cancel);
  return { node, sync };
}

function progress(model) {
  const bar = h("progress", { testid: "eval-progress", value: "0", max: "1" });
  const status = h("span", { testid: "eval-status" });
  const mlflow = h("div", { testid: "eval-mlflow", class: "lw-mlflow" });
  const sync = () => {
    const job = model.get("job");
    const shown = Boolean(job && job.job_id);
    bar.hidden = status.hidden = !shown;
    mlflow.hidden = !(job && job.mlflow_command);
    if (!shown) return;
    bar.max = job.total_rows || 1;
    bar.value = job.completed_rows || 0;
    status.dataset.status = job.status;
    status.textContent = `${job.job_id}: ${job.status}, ${job.completed_rows || 0}/${job.total_rows ?? "?"} rows`;
    if (job.mlflow_command) mlflow.textContent = `MLflow run ${job.mlflow_run_id}: ${job.mlflow_command}`;
  };
  return { node: h("div", { class: "lw-progress" }, bar, status, mlflow), sync };
}

function chart(model) {
  const box = h("div", { class: "lw-chart" });
  const sync = () => {
    const bars = [];
    for (const [fn, metrics] of Object.entries(model.get("aggregates"))) {
      for (const [metric, value] of Object.entries(metrics)) {
        // Rates and means; counts (num_correct, num_total) would dwarf them.
        if (typeof value === "number" && !metric.startsWith("num_")) bars.push([`${fn}/${metric}`, value]);
      }
    }
    box.hidden = bars.length === 0;
    const top = Math.max(1, ...bars.map(([, v]) => v));
    const plot = svg("svg", { testid: "eval-chart", width: 420, height: 24 * bars.length + 8 });
    bars.forEach(([name, value], i) => {
      const width = Math.max(2, (value / top) * 220);
      const bar = svg("rect", { testid: "eval-bar", x: 190, y: 4 + i * 24, width, height: 18, class: "lw-bar" });
      bar.dataset.metric = name;
      bar.dataset.value = String(value);
      const label = svg("text", { x: 0, y: 17 + i * 24, class: "lw-bar-label" });
      label.textContent = name.length > 28 ? `${name.slice(0, 27)}…` : name;
      const number = svg("text", { x: 195 + width, y: 17 + i * 24, class: "lw-bar-value" });
      number.textContent = Number.isInteger(value) ? value : value.toFixed(3);
      plot.append(bar, label, number);
    });
    box.replaceChildren(plot);
  };
  return { node: box, sync };
}

function table(model) {
  const node = h("table", { testid: "eval-table", class: "lw-table" });
  const sync = () => {
    const rows = model.get("rows");
    node.hidden = rows.length === 0;
    if (node.hidden) return;
    const columns = Object.keys(rows[0]);
    const head = h("tr", {}, ...columns.map((c) => h("th", {}, c)));
    const body = rows.map((row) => h("tr", { testid: "eval-row" },
      ...columns.map((c) => h("td", {}, row[c] === null ? "" : String(row[c])))));
    node.replaceChildren(head, ...body);
  };
  return { node, sync };
}

export default {
  render({ model, el }) {
    const parts = [controls(model), progress(model), chart(model), table(model)];
    const error = h("div", { testid: "eval-error", class: "lw-error" });
    const sync = () => {
      parts.forEach((p) => p.sync());
      error.textContent = model.get("error");
      error.hidden = !model.get("error");
    };
    el.append(h("div", { testid: "eval-root", class: "lw-widget lw-eval" }, ...parts.map((p) => p.node), error));
    sync();
    const events = ["benchmarks", "benchmark_id", "models", "model", "num_examples", "job",
      "rows", "aggregates", "busy", "error"].map((name) => `change:${name}`);
    events.forEach((e) => model.on(e, sync));
    return () => events.forEach((e) => model.off(e, sync));
  },
};
