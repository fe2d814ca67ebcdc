// DOM helpers shared by the pages (main.js) and the preview's extensions.
// Every value from the server goes into the page as text (textContent), never as HTML.

// An element with attributes (on* → listeners, dataset, booleans) and children (nodes or text).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const iso = (ms) => (ms === null || ms === undefined ? '—' : new Date(ms).toISOString());
