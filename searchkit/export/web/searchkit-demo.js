// The demo search page written by `searchkit export --demo`.
// Every value from a post is inserted as text (textContent / text nodes);
// highlights are <mark> elements built here, never parsed HTML.
import { isSafeUrl, load } from "./searchkit.js";

const DEBOUNCE_MS = 60; // one frame or so after the last key: feels instant, skips bursts
const LIMIT = 10;
const TAG_CHIPS = 12;

const $ = (id) => document.getElementById(id);
const input = $("sk-q");
const status = $("sk-status");
const list = $("sk-results");
const chips = $("sk-tags");
const state = { index: null, tags: new Set(), selected: -1, timer: 0, seq: 0, last: null };
window.searchkitDemo = state;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** `text` with the [start, end) spans wrapped in <mark>, as DOM nodes. */
function highlighted(parent, text, spans) {
  let at = 0;
  for (const [start, end] of spans) {
    if (start < at) continue;
    parent.append(document.createTextNode(text.slice(at, start)), el("mark", "", text.slice(start, end)));
    at = end;
  }
  parent.append(document.createTextNode(text.slice(at)));
  return parent;
}

function render(result, ms) {
  list.replaceChildren();
  state.selected = -1;
  const q = input.value.trim();
  if (!q && !state.tags.size) {
    status.textContent = `${state.index.size} posts indexed. Type to search.`;
    return;
  }
  const n = result.total;
  status.textContent = `${n === 0 ? "No" : n} result${n === 1 ? "" : "s"} (${ms.toFixed(1)} ms)`;
  result.hits.forEach((hit, i) => {
    const li = el("li", "sk-hit");
    li.id = `sk-hit-${i}`;
    li.dataset.id = String(hit.id);
    li.setAttribute("aria-selected", "false");
    const title = isSafeUrl(hit.url) ? el("a", "sk-title") : el("span", "sk-title");
    if (title.tagName === "A") title.href = hit.url;
    highlighted(title, hit.title, hit.titleHighlights);
    const meta = [hit.date, hit.source, hit.tags.join(", ")].filter(Boolean).join(" · ");
    li.append(title, el("div", "sk-meta", meta), highlighted(el("p", "sk-snippet"), hit.snippet, hit.highlights));
    list.append(li);
  });
}

async function run() {
  const seq = ++state.seq;
  const t0 = performance.now();
  const result = await state.index.search(input.value, { limit: LIMIT, tags: [...state.tags] });
  if (seq !== state.seq) return; // a newer query finished first
  state.last = result;
  render(result, performance.now() - t0);
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(() => run().catch(fail), DEBOUNCE_MS);
}

function select(i) {
  const items = list.children;
  if (!items.length) return;
  state.selected = (i + items.length) % items.length;
  for (const [k, item] of [...items].entries()) item.setAttribute("aria-selected", String(k === state.selected));
  const current = items[state.selected];
  input.setAttribute("aria-activedescendant", current.id);
  current.scrollIntoView({ block: "nearest" });
}

input.addEventListener("input", schedule);
input.addEventListener("keydown", (e) => {
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    select(state.selected + (e.key === "ArrowDown" ? 1 : -1));
  } else if (e.key === "Enter") {
    e.preventDefault();
    const link = list.children[Math.max(state.selected, 0)]?.querySelector("a");
    if (link) link.click();
  } else if (e.key === "Escape") {
    input.value = "";
    schedule();
  }
});
$("sk-form").addEventListener("submit", (e) => e.preventDefault());

function fail(err) {
  status.textContent = `Search failed: ${err.message}`;
}

async function showTags() {
  for (const { tag, count } of (await state.index.tags()).slice(0, TAG_CHIPS)) {
    const chip = el("button", "sk-tag", `${tag} (${count})`);
    chip.type = "button";
    chip.setAttribute("aria-pressed", "false");
    chip.dataset.tag = tag;
    chip.addEventListener("click", () => {
      const on = !state.tags.has(tag);
      if (on) state.tags.add(tag);
      else state.tags.delete(tag);
      chip.setAttribute("aria-pressed", String(on));
      schedule();
    });
    chips.append(chip);
  }
}

try {
  state.index = await load(new URL("searchkit.json", import.meta.url).href);
  input.disabled = false;
  input.focus();
  status.textContent = `${state.index.size} posts indexed. Type to search.`;
  document.documentElement.dataset.ready = "true";
  if (input.value) schedule();
  showTags().catch(fail);
} catch (err) {
  fail(err);
}
