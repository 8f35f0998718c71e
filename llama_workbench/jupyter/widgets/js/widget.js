// What every stack widget's view shares: building DOM and SVG nodes. An ES module: each view
// imports it by value (a data: URL that build.py writes, python -m
// llama_workbench.jupyter.widgets.build), so the view stays one file that anywidget can watch.

const SVG = "http://www.w3.org/2000/svg";

// An element with attributes and children. "testid" sets data-testid, "class" the class name,
// "on<event>" adds a listener; anything else is an attribute.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "testid") node.dataset.testid = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// An SVG element with attributes (and text, if given).
export function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "testid") node.dataset.testid = value;
    else node.setAttribute(key, String(value));
  }
  if (text !== undefined) node.textContent = text;
  return node;
}
