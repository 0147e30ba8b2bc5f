// searchkit-ui: a drop-in search box for a `searchkit export` folder.
// Plain ES module, no dependencies, built only on searchkit.js's public API.
//
//   <link rel="stylesheet" href="/search/searchkit-ui.css">
//   <div id="search"></div>
//   <script type="module">
//     import { mount } from "/search/searchkit-ui.js";
//     mount(document.getElementById("search"), { index: "/search/searchkit.json" });
//   </script>
//
// Markup follows the ARIA combobox pattern: the input is a combobox owning a
// listbox of results, arrow keys move the active option (aria-activedescendant),
// Enter follows its link, Escape clears. Every value from a post is inserted as
// text (textContent); highlights are <mark> elements built here, never parsed
// HTML, and only http(s) or relative URLs become links. Docs: docs/search-box.md.
import { isSafeUrl, load } from "./searchkit.js";

const DEFAULTS = {
  index: new URL("searchkit.json", import.meta.url).href,
  limit: 10, // hits per page; "More results" adds a page
  tagLimit: 12, // tag buttons shown: the most frequent among the current results
  filters: true, // tag buttons and the year menu
  debounce: 60, // ms after the last key: feels instant, skips bursts of keys
  query: "", // initial text (e.g. from the page's ?q=)
  autofocus: false,
  label: "Search",
  placeholder: "Search…",
};

let mounted = 0;

/** Build a search box inside `element` (an Element or a CSS selector); returns its controller. */
export function mount(element, options = {}) {
  const root = typeof element === "string" ? document.querySelector(element) : element;
  if (!root) throw new Error(`searchkit-ui: no element ${element}`);
  return new SearchBox(root, { ...DEFAULTS, ...options });
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** `text` with its [start, end) spans wrapped in <mark>, appended to `parent` as DOM nodes. */
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

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

class SearchBox {
  constructor(root, opts) {
    this.root = root;
    this.opts = opts;
    this.index = null;
    this.last = null; // the result shown: {query, total, hits, facets}
    this.tags = new Set(); // selected tag filters
    this.year = ""; // selected year, "" for any
    this.pages = 1;
    this.active = -1;
    this.seq = 0;
    this.timer = 0;
    this._build();
    this.ready = load(opts.index)
      .then((index) => {
        this.index = index;
        this.input.disabled = false;
        this.root.dataset.searchkit = "ready";
        if (opts.autofocus) this.input.focus();
        return this.run();
      })
      .catch((err) => this._fail(err));
  }

  _build() {
    const p = `searchkit-${++mounted}`;
    const o = this.opts;
    this.box = el("div", "searchkit");
    this.root.dataset.searchkit = "loading";
    const form = el("form", "searchkit-form");
    form.setAttribute("role", "search");
    form.addEventListener("submit", (e) => e.preventDefault());
    const label = el("label", "searchkit-label", o.label);
    label.htmlFor = `${p}-input`;
    const input = (this.input = el("input", "searchkit-input"));
    Object.assign(input, { id: `${p}-input`, type: "search", value: o.query, disabled: true });
    input.placeholder = o.placeholder;
    for (const [k, v] of Object.entries({
      role: "combobox",
      "aria-autocomplete": "list",
      "aria-expanded": "false",
      "aria-controls": `${p}-list`,
      "aria-describedby": `${p}-help`,
      autocomplete: "off",
      autocapitalize: "off",
      spellcheck: "false",
      enterkeyhint: "go",
    })) {
      input.setAttribute(k, v);
    }
    const help = el(
      "p",
      "searchkit-help",
      'Words match any field; "quoted words" a phrase; -word excludes. ' +
        "Arrow keys choose a result, Enter opens it, Escape clears.",
    );
    help.id = `${p}-help`;
    form.append(label, input, help);

    this.filterBox = el("div", "searchkit-filters");
    this.filterBox.hidden = !o.filters;
    this.chips = el("div", "searchkit-tags");
    this.chips.setAttribute("role", "group");
    this.chips.setAttribute("aria-label", "Filter by tag");
    const yearLabel = el("label", "searchkit-year-label", "Year ");
    this.yearMenu = el("select", "searchkit-year");
    yearLabel.append(this.yearMenu);
    this.filterBox.append(this.chips, yearLabel);

    this.status = el("p", "searchkit-status", "Loading the search index…");
    this.status.setAttribute("role", "status");
    this.status.setAttribute("aria-live", "polite");
    this.list = el("ul", "searchkit-results");
    this.list.id = `${p}-list`;
    this.list.setAttribute("role", "listbox");
    this.list.setAttribute("aria-label", "Search results");
    this.more = el("button", "searchkit-more", "More results");
    this.more.type = "button";
    this.more.hidden = true;
    this.prefix = p;
    this.box.append(form, this.filterBox, this.status, this.list, this.more);
    this.root.replaceChildren(this.box);

    input.addEventListener("input", () => {
      this.pages = 1;
      this._schedule();
    });
    input.addEventListener("keydown", (e) => this._key(e));
    this.yearMenu.addEventListener("change", () => {
      this.year = this.yearMenu.value;
      this.pages = 1;
      this._schedule(0);
    });
    this.more.addEventListener("click", () => {
      this.pages++;
      this._schedule(0);
    });
    this.list.addEventListener("click", (e) => {
      // A click anywhere on an option follows its link.
      const option = e.target.closest?.("[role=option]");
      const link = option?.querySelector("a");
      if (link && !e.target.closest("a")) link.click();
    });
  }

  /** Set the query text and search now. */
  search(text) {
    this.input.value = text;
    this.pages = 1;
    return this.run();
  }

  /** Remove the search box from the page. */
  destroy() {
    clearTimeout(this.timer);
    this.seq++;
    this.box.remove();
    delete this.root.dataset.searchkit;
  }

  _schedule(ms = this.opts.debounce) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run().catch((err) => this._fail(err)), ms);
  }

  async run() {
    if (!this.index) return;
    const seq = ++this.seq;
    const text = this.input.value;
    const year = this.year;
    const result = await this.index.search(text, {
      limit: this.opts.limit * this.pages,
      tags: [...this.tags],
      since: year || undefined,
      until: year || undefined,
      facets: true,
    });
    if (seq !== this.seq) return; // a newer search started meanwhile
    this.last = result;
    this._render(result);
    this.root.dispatchEvent(new CustomEvent("searchkit:results", { detail: result }));
  }

  _filtering() {
    return this.tags.size > 0 || this.year !== "";
  }

  _render(result) {
    const searching = result.query.trim() !== "" || this._filtering();
    this._renderFilters(result.facets);
    this.list.replaceChildren();
    this._activate(-1);
    const n = result.total;
    if (!searching) {
      this.status.textContent = `${plural(this.index.size, "post")}. Type to search.`;
    } else {
      this.status.textContent = n === 0 ? "No results" : plural(n, "result");
    }
    const hits = searching ? result.hits : [];
    hits.forEach((hit, i) => this.list.append(this._option(hit, i)));
    this.input.setAttribute("aria-expanded", String(hits.length > 0));
    this.more.hidden = !searching || hits.length >= n;
  }

  _option(hit, i) {
    const li = el("li", "searchkit-hit");
    li.id = `${this.prefix}-opt-${i}`;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", "false");
    li.dataset.id = String(hit.id);
    const safe = isSafeUrl(hit.url);
    const title = el(safe ? "a" : "span", "searchkit-title");
    if (safe) {
      title.href = hit.url;
      title.tabIndex = -1; // options are reached with the arrow keys, not Tab
    }
    highlighted(title, hit.title, hit.titleHighlights);
    const meta = [hit.date, hit.source, hit.tags.join(", ")].filter(Boolean).join(" · ");
    li.append(title);
    if (meta) li.append(el("div", "searchkit-meta", meta));
    if (hit.snippet) li.append(highlighted(el("p", "searchkit-snippet"), hit.snippet, hit.highlights));
    return li;
  }

  _renderFilters(facets) {
    if (!this.opts.filters || !facets) return;
    // Tag buttons: the selected ones first, then the most frequent in the current results.
    const focused = this.chips.contains(document.activeElement) ? document.activeElement.dataset.tag : null;
    const counts = new Map(facets.tags.map(({ tag, count }) => [tag, count]));
    const shown = [...this.tags];
    for (const { tag } of facets.tags) {
      if (shown.length >= Math.max(this.opts.tagLimit, this.tags.size)) break;
      if (!this.tags.has(tag)) shown.push(tag);
    }
    this.chips.replaceChildren(
      ...shown.map((tag) => {
        const chip = el("button", "searchkit-tag");
        chip.type = "button";
        chip.dataset.tag = tag;
        chip.setAttribute("aria-pressed", String(this.tags.has(tag)));
        chip.append(el("span", "searchkit-tag-name", tag), el("span", "searchkit-count", String(counts.get(tag) ?? 0)));
        chip.setAttribute("aria-label", `${tag} (${plural(counts.get(tag) ?? 0, "result")})`);
        chip.addEventListener("click", () => this._toggle(tag));
        return chip;
      }),
    );
    if (focused !== null) [...this.chips.children].find((c) => c.dataset.tag === focused)?.focus();
    // Years of the posts matching the words and tags (not the year itself).
    const years = facets.years.map(({ year, count }) => [String(year), count]);
    if (this.year && !years.some(([y]) => y === this.year)) years.unshift([this.year, 0]);
    const any = el("option", "", "Any year");
    any.value = "";
    this.yearMenu.replaceChildren(
      any,
      ...years.map(([year, count]) => {
        const option = el("option", "", `${year} (${count})`);
        option.value = year;
        return option;
      }),
    );
    this.yearMenu.value = this.year;
  }

  _toggle(tag) {
    if (this.tags.has(tag)) this.tags.delete(tag);
    else this.tags.add(tag);
    this.pages = 1;
    this._schedule(0);
  }

  _activate(i) {
    const options = this.list.children;
    this.active = i;
    for (const [k, option] of [...options].entries()) option.setAttribute("aria-selected", String(k === i));
    if (i < 0) {
      this.input.removeAttribute("aria-activedescendant");
      return;
    }
    this.input.setAttribute("aria-activedescendant", options[i].id);
    options[i].scrollIntoView?.({ block: "nearest" });
  }

  _key(e) {
    const n = this.list.children.length;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!n) return;
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      this._activate(this.active < 0 ? (step > 0 ? 0 : n - 1) : (this.active + step + n) % n);
    } else if (e.key === "Enter") {
      e.preventDefault();
      // Enter opens the active result, or the first one when none is active.
      this.list.children[Math.max(this.active, 0)]?.querySelector("a")?.click();
    } else if (e.key === "Escape") {
      e.preventDefault();
      if (this.active >= 0) this._activate(-1);
      else if (this.input.value) this.search("").catch((err) => this._fail(err));
    }
  }

  _fail(err) {
    this.root.dataset.searchkit = "error";
    this.status.textContent = `Search is unavailable: ${err.message}`;
  }
}
