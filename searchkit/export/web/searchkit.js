// searchkit client: search a `searchkit export` folder in the browser.
// Plain ES module, no dependencies, no build step. Format: docs/export-format.md.
//
//   import { load } from "./searchkit.js";
//   const index = await load("/search/searchkit.json");
//   const { hits, total } = await index.search("gitops", { limit: 10, tags: ["flux"] });
//
// Every ranking parameter (analyser, combination rule, score scale) comes
// from the exported metadata; nothing about the site's ranking is fixed here.
// One file on purpose: a second module would cost the first query another
// round trip (imports are only discovered once the importer is parsed).

export const FORMAT_VERSION = 5;
const DAY_MS = 86400000; // display rows give dates as days since 1970-01-01
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/; // a row's URL with a scheme is whole (no urlBase)

// ---------------------------------------------------------------- packing

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVabcdefghijklmnopqrstuvwxyz!#$%&(";
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) DIGIT[ALPHABET.charCodeAt(i)] = i;

/** Decode a string of packed non-negative integers (searchkit/export/packing.py). */
export function unpack(text) {
  const out = [];
  let n = 0;
  let mul = 1;
  for (let i = 0; i < text.length; i++) {
    const d = DIGIT[text.charCodeAt(i)];
    if (d < 0) throw new Error("searchkit: corrupt packed data");
    if (d >= 32) {
      n += (d - 32) * mul;
      mul *= 32;
    } else {
      out.push(n + d * mul);
      n = 0;
      mul = 1;
    }
  }
  return out;
}

/** Ascending ids from gaps (each gap is the difference minus one). */
function undelta(gaps) {
  let prev = -1;
  for (let i = 0; i < gaps.length; i++) prev = gaps[i] = prev + gaps[i] + 1;
  return gaps;
}

/** Compare strings by code point, as Python does (not by UTF-16 unit). */
export function compareCodePoints(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (astral code points) sort above every BMP character.
      const xs = x >= 0xd800 && x <= 0xdfff;
      const ys = y >= 0xd800 && y <= 0xdfff;
      if (xs !== ys) return xs ? 1 : -1;
      return x < y ? -1 : 1;
    }
  }
  return a.length - b.length;
}

function cpLength(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}

// ---------------------------------------------------------------- analysis

// Python's \w: letters, numbers, underscore. JavaScript's Unicode tables may be
// newer than Python's; characters unassigned in Python's are the only difference.
const WORD = /[\p{L}\p{N}_]+(?:\.?[\p{L}\p{N}_]+)*/gu;
const PATTERN = "\\w+(\\.?\\w+)*";

/** Whoosh's Porter stemmer (whoosh.lang.porter.stem), quirks included. */
export function stem(word) {
  let w = word;
  if (cpLength(w) < 3) return w;
  const firstIsY = w[0] === "y";
  if (firstIsY) w = "Y" + w.slice(1);
  // Step 1a
  if (w.endsWith("s")) {
    if (w.endsWith("sses") || w.endsWith("ies")) w = w.slice(0, -2);
    else if (Array.from(w).at(-2) !== "s") w = w.slice(0, -1);
  }
  // Step 1b (Python's re.match anchors at the start: `(at|bl|iz)$` and the
  // double-consonant rule only match two-letter words, hence "runn").
  if (w.endsWith("eed")) {
    if (MGR0.test(w.slice(0, -3))) w = w.slice(0, -1);
  } else {
    const m = ED_ING.exec(w);
    if (m && S_V.test(m[1])) {
      w = m[1];
      if (AT_BL_IZ.test(w)) w += "e";
      else if (STEP1B.test(w)) w = Array.from(w).slice(0, -1).join("");
      else if (C_V.test(w)) w += "e";
    }
  }
  // Step 1c
  if (w.endsWith("y") && S_V.test(w.slice(0, -1))) w = w.slice(0, -1) + "i";
  // Steps 2 and 3
  for (const [re, list] of [
    [STEP2, STEP2_LIST],
    [STEP3, STEP3_LIST],
  ]) {
    const m = re.exec(w);
    if (m && MGR0.test(m[1])) w = m[1] + list[m[2]];
  }
  // Step 4
  let m = STEP4_1.exec(w);
  if (m) {
    if (MGR1.test(m[1])) w = m[1];
  } else {
    m = STEP4_2.exec(w);
    if (m && MGR1.test(m[1] + m[2])) w = m[1] + m[2];
  }
  // Step 5
  m = STEP5.exec(w);
  if (m) {
    const s = m[1];
    if (MGR1.test(s) || (MEQ1.test(s) && !C_V.test(s))) w = s;
  }
  if (w.endsWith("ll") && MGR1.test(w)) w = w.slice(0, -1);
  if (firstIsY) w = "y" + w.slice(1);
  return w;
}

const CS = "[^aeiouy]+";
const VS = "[aeiou]+";
const MGR0 = new RegExp(`^(${CS})?${VS}${CS}`, "u");
const MEQ1 = new RegExp(`^(${CS})?${VS}${CS}(${VS})?$`, "u");
const MGR1 = new RegExp(`^(${CS})?${VS}${CS}${VS}${CS}`, "u");
const S_V = new RegExp(`^(${CS})?[aeiouy]`, "u");
const C_V = new RegExp(`^${CS}[aeiouy][^aeiouwxy]$`, "u");
const ED_ING = /^(.*)(ed|ing)$/su;
const AT_BL_IZ = /^(at|bl|iz)$/u;
const STEP1B = /^([^aeiouylsz])\1$/u;
const STEP2_LIST = {
  ational: "ate", tional: "tion", enci: "ence", anci: "ance", izer: "ize", bli: "ble",
  alli: "al", entli: "ent", eli: "e", ousli: "ous", ization: "ize", ation: "ate",
  ator: "ate", alism: "al", iveness: "ive", fulness: "ful", ousness: "ous", aliti: "al",
  iviti: "ive", biliti: "ble", logi: "log",
};
const STEP3_LIST = { icate: "ic", ative: "", alize: "al", iciti: "ic", ical: "ic", ful: "", ness: "" };
const STEP2 = new RegExp(`^(.+?)(${Object.keys(STEP2_LIST).join("|")})$`, "su");
const STEP3 = new RegExp(`^(.+?)(${Object.keys(STEP3_LIST).join("|")})$`, "su");
const STEP4_1 = /^(.+?)(al|ance|ence|er|ic|able|ible|ant|ement|ment|ent|ou|ism|ate|iti|ous|ive|ize)$/su;
const STEP4_2 = /^(.+?)(s|t)(ion)$/su;
const STEP5 = /^(.+?)e$/su;

/** The analyser described by an export's metadata: text to index terms. */
export class Analyzer {
  constructor(spec) {
    if (spec.tokens !== PATTERN || spec.stem !== "whoosh-porter" || spec.lower !== "python-str-lower") {
      throw new Error("searchkit: this client cannot mirror the exported analyser");
    }
    this.stops = new Set(spec.stop);
    this.minsize = spec.minsize;
    this.folds = new Map();
    for (const entry of spec.fold.split("\t")) {
      if (!entry) continue;
      const key = String.fromCodePoint(entry.codePointAt(0));
      this.folds.set(key, entry.slice(key.length));
    }
    this.cache = new Map();
  }

  /** Words of `text` with their UTF-16 offsets: [{word, start, end}]. */
  tokens(text) {
    const out = [];
    for (const m of text.matchAll(WORD)) out.push({ word: m[0], start: m.index, end: m.index + m[0].length });
    return out;
  }

  /** Lower-case and fold accents (Python str.lower, then whoosh's accent_map). */
  fold(word) {
    const lower = word.toLowerCase();
    let out = "";
    for (const ch of lower) {
      const f = this.folds.get(ch);
      out += f === undefined ? ch : f;
    }
    return out;
  }

  /** The index term for one word, or null for a stop word or a too short one. */
  term(word) {
    let t = this.cache.get(word);
    if (t !== undefined) return t;
    const folded = this.fold(word);
    t = cpLength(folded) < this.minsize || this.stops.has(folded) ? null : stem(folded);
    if (this.cache.size > 100000) this.cache.clear();
    this.cache.set(word, t);
    return t;
  }

  /** All index terms of `text`, in order (stop words dropped). */
  analyze(text) {
    const out = [];
    for (const { word } of this.tokens(text)) {
      const t = this.term(word);
      if (t !== null) out.push(t);
    }
    return out;
  }
}

// ---------------------------------------------------------------- query syntax

const HYPHEN = /(?<=[\p{L}\p{N}_])-(?=[\p{L}\p{N}_])/gu;

/**
 * Split a query into units: words, "quoted phrases", -excluded words, and
 * tag:filters. Like the CLI, a hyphen inside a word separates two words
 * (`on-call` is `on call`), `-word` at a word's start excludes, and a query
 * joined only by AND (all required) or only by OR (no coordination) says so
 * in `operator`.
 */
export function parseQuery(text) {
  const units = [];
  const tags = [];
  const ops = new Set();
  const re = /(-?)"([^"]*)("|$)|(\S+)/g;
  const src = text.replace(HYPHEN, " ");
  let m;
  let negateNext = false;
  while ((m = re.exec(src)) !== null) {
    if (m[2] !== undefined) {
      units.push({ kind: "phrase", text: m[2], not: negateNext || m[1] === "-" });
      negateNext = false;
      continue;
    }
    let word = m[4];
    if (word === "AND" || word === "OR") {
      ops.add(word);
      continue;
    }
    if (word === "NOT") {
      negateNext = true;
      continue;
    }
    let not = negateNext;
    negateNext = false;
    if (word.startsWith("-") && word.length > 1) {
      not = true;
      word = word.slice(1);
    } else if (word.startsWith("+")) word = word.slice(1);
    const field = /^(tags?):(.+)$/i.exec(word);
    if (field && !not) {
      tags.push(field[2]);
      continue;
    }
    units.push({ kind: "word", text: word, not, end: m.index + m[0].length });
  }
  const last = units.at(-1);
  const open = last && last.kind === "word" && !last.not && last.end === src.length && !/\s$/.test(src);
  const operator = ops.size === 1 ? (ops.has("AND") ? "and" : "or") : "words";
  return { units, tags, operator, lastIsOpen: Boolean(open) };
}

// ---------------------------------------------------------------- edit distance

/** Optimal string alignment distance, or max+1 once it exceeds `max`. */
export function editDistance(a, b, max) {
  const s = Array.from(a);
  const t = Array.from(b);
  if (Math.abs(s.length - t.length) > max) return max + 1;
  let prev2 = null;
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur.push(v);
      if (v < best) best = v;
    }
    if (best > max) return max + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[t.length];
}

// ---------------------------------------------------------------- URLs

/** True for http(s) and relative URLs; `javascript:`, `data:` etc. are never links. */
export function isSafeUrl(url) {
  if (typeof url !== "string" || !url || /[\u0000-\u0020\u007f\\]/.test(url)) return false;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url);
  if (scheme) return /^https?$/i.test(scheme[1]) && url.slice(scheme[0].length).startsWith("//");
  return !url.split("/", 1)[0].includes(":");
}

// ---------------------------------------------------------------- the index

async function defaultFetchJSON(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`searchkit: cannot load ${url}: HTTP ${res.status}`);
  return res.json();
}

/** Load an export; `url` names its searchkit.json. */
export async function load(url, { fetchJSON = defaultFetchJSON } = {}) {
  const meta = await fetchJSON(url);
  return new SearchIndex(meta, url, fetchJSON);
}

export class SearchIndex {
  constructor(meta, url, fetchJSON = defaultFetchJSON) {
    if (meta.format !== "searchkit-export" || meta.version !== FORMAT_VERSION) {
      throw new Error(`searchkit: unsupported export format ${meta.format} v${meta.version}`);
    }
    this.meta = meta;
    this.analyzer = new Analyzer(meta.analysis);
    this.ranking = meta.ranking;
    this.options = meta.client;
    this.fetchJSON = fetchJSON;
    this.base = new URL(meta.data ? meta.data + "/" : ".", new URL(url, globalThis.location?.href ?? "file:///"));
    this.cache = new Map();
    this.rows = new Map(); // post id -> display row, from shards and chunks fetched so far
    const inline = meta.inline;
    this.first = inline ? [inline.t.t[0] ?? ""] : meta.shards.first;
    this.dfBits = inline ? [0] : Array.from(meta.shards.dfBits, (c) => DIGIT[c.charCodeAt(0)]);
    if (inline) {
      this.cache.set("t/0.json", Promise.resolve(this._prepare(inline.t)));
      this.cache.set("p/0.json", Promise.resolve(inline.x));
      this.cache.set("f.json", Promise.resolve(this._prepareFilters(inline.f)));
    }
    this.stats = { fetched: 0 };
  }

  get size() {
    return this.meta.posts;
  }

  _get(name, prepare = (x) => x) {
    let p = this.cache.get(name);
    if (!p) {
      this.stats.fetched++;
      p = this.fetchJSON(new URL(name, this.base).href).then(prepare);
      p.catch(() => this.cache.delete(name));
      this.cache.set(name, p);
    }
    return p;
  }

  _prepare(shard) {
    if (shard.i) {
      const ids = undelta(unpack(shard.i));
      for (let k = 0; k < ids.length; k++) this.rows.set(ids[k], shard.d[k]);
    }
    // q: each term's quantised idf (only with the long-query rule, combine.longIdf)
    return { terms: shard.t, packed: shard.p, idf: shard.q ? unpack(shard.q) : null, lists: new Map() };
  }

  _shard(i) {
    return this._get(`t/${i}.json`, (s) => this._prepare(s));
  }

  /** Index of the shard that would hold `term`. */
  _shardOf(term) {
    let lo = 0;
    let hi = this.first.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (compareCodePoints(this.first[mid], term) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** First and last shard that may hold terms starting with `prefix`. */
  _shardRange(prefix) {
    const a = this._shardOf(prefix);
    let b = a;
    while (b + 1 < this.first.length && this.first[b + 1].startsWith(prefix)) b++;
    return [a, b];
  }

  /**
   * The shards type-ahead reads for `prefix`: of those holding its terms, the
   * `prefixShards` with the longest postings lists (so "kube" reaches
   * "kubernet" however many rare "kube..." terms sort before it), on a tie
   * the shard of the word as typed. None when the word as typed has a shard
   * of its own with lists as long (a frequent word, "security" -> "secur",
   * is taken as finished: its shard is fetched anyway, and the shards after
   * it hold only rarer words such as "securitycontext").
   */
  _prefixShards(prefix) {
    const [a, b] = this._shardRange(prefix);
    const term = this.analyzer.term(prefix);
    const exact = term === null ? -1 : this._shardOf(term);
    const all = Array.from({ length: b - a + 1 }, (_, k) => a + k);
    all.sort((x, y) => this.dfBits[y] - this.dfBits[x] || (y === exact) - (x === exact) || x - y);
    if (exact >= 0 && (exact < a || exact > b) && this.dfBits[all[0]] <= this.dfBits[exact]) return [];
    return all.slice(0, this.options.prefixShards).sort((x, y) => x - y);
  }

  /**
   * The shards searched for typos of `term`: its own shard, widened towards
   * the nearer boundary (the one sharing more of its first letters), within
   * the shards holding terms with its first two letters `two`.
   */
  _fuzzyShards(term, two) {
    const [a, b] = this._shardRange(two);
    let lo = Math.min(Math.max(this._shardOf(term), a), b);
    let hi = lo;
    while (hi - lo + 1 < this.options.fuzzyShards && (lo > a || hi < b)) {
      const left = lo > a ? commonPrefix(term, this.first[lo]) : -1;
      const right = hi < b ? commonPrefix(term, this.first[hi + 1]) : -1;
      if (right > left) hi++;
      else lo--;
    }
    return Array.from({ length: hi - lo + 1 }, (_, k) => lo + k);
  }

  /** Postings of one term: {term, ids, values, shard, pos} or null. */
  async postings(term) {
    const si = this._shardOf(term);
    const shard = await this._shard(si);
    const k = findTerm(shard.terms, term);
    return k < 0 ? null : this._list(shard, si, k);
  }

  _list(shard, si, k) {
    let list = shard.lists.get(k);
    if (!list) {
      const nums = unpack(shard.packed[k]);
      const n = nums.length / 2;
      const ids = new Array(n);
      const values = new Array(n);
      for (let i = 0; i < n; i++) {
        ids[i] = nums[2 * i];
        values[i] = nums[2 * i + 1];
      }
      undelta(ids);
      const idf = shard.idf ? shard.idf[k] : 0;
      list = { term: shard.terms[k], ids, values, idf, shard: si, pos: k };
      shard.lists.set(k, list);
    }
    return list;
  }

  /** Terms starting with `prefix` (most postings first), at most `max`. */
  async expand(prefix, max) {
    const found = [];
    for (const si of this._prefixShards(prefix)) {
      const shard = await this._shard(si);
      let k = lowerBound(shard.terms, prefix);
      for (; k < shard.terms.length && shard.terms[k].startsWith(prefix); k++) {
        found.push([shard.packed[k].length, si, k, shard]);
      }
    }
    found.sort((x, y) => y[0] - x[0]);
    return found.slice(0, max).map(([, si, k, shard]) => this._list(shard, si, k));
  }

  /** Terms within the allowed edits of `term` that share its first two characters. */
  async similar(term) {
    const chars = Array.from(term);
    if (chars.length < 3) return [];
    const max = chars.length >= this.options.fuzzyLong ? 2 : 1;
    const shards = this._fuzzyShards(term, chars[0] + chars[1]);
    await Promise.all(shards.map((si) => this._shard(si)));
    const out = [];
    for (const si of shards) {
      const shard = await this._shard(si);
      for (let k = 0; k < shard.terms.length; k++) {
        const t = shard.terms[k];
        if (t.startsWith(chars[0] + chars[1]) && t !== term && editDistance(term, t, max) <= max) {
          out.push(this._list(shard, si, k));
        }
      }
    }
    return out;
  }

  async _positions(list) {
    const group = this.meta.shards ? this.meta.shards.posGroup : 1;
    const file = await this._get(`p/${Math.floor(list.shard / group)}.json`);
    if (!list.positions) {
      const nums = unpack(file.x[list.shard % group][list.pos]);
      const nf = this.ranking.fields.length;
      const per = new Map();
      let i = 0;
      for (const id of list.ids) {
        const fields = new Map();
        let more = 1;
        while (more) {
          const code = nums[i++];
          more = code % 2;
          const field = Math.floor(code / 2) % nf;
          const count = Math.floor(code / 2 / nf) + 1;
          fields.set(field, new Set(undelta(nums.slice(i, i + count))));
          i += count;
        }
        per.set(id, fields);
      }
      list.positions = per;
    }
    return list.positions;
  }

  _prepareFilters(f) {
    const gaps = unpack(f.d);
    const dates = new Array(gaps.length);
    let prev = 0;
    for (let i = 0; i < gaps.length; i++) {
      const z = gaps[i];
      prev += z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      dates[i] = prev;
    }
    for (const id of unpack(f.nd)) dates[id] = null;
    const tags = new Map();
    f.tags.forEach((t, i) => tags.set(t, f.tp[i]));
    return { dates, tags, tagNames: f.tags };
  }

  /** Filter data: post dates and tag lists (loaded on first use). */
  filters() {
    return this._get("f.json", (f) => this._prepareFilters(f));
  }

  /** Tags with their number of posts, most used first. */
  async tags() {
    const f = await this.filters();
    return f.tagNames.map((t) => ({ tag: t, count: unpack(f.tags.get(t)).length }));
  }

  /** Display rows of `ids`: from the shards already fetched, else from display chunks. */
  async _docs(ids) {
    const inline = this.meta.inline;
    const out = new Map();
    if (inline) {
      for (const id of ids) out.set(id, inline.d[id]);
      return out;
    }
    const chunk = this.meta.shards.chunk;
    const missing = ids.filter((id) => !this.rows.has(id));
    const need = [...new Set(missing.map((id) => Math.floor(id / chunk)))];
    const chunks = await Promise.all(need.map((c) => this._get(`d/${c}.json`)));
    need.forEach((c, i) => chunks[i].forEach((row, k) => this.rows.set(c * chunk + k, row)));
    for (const id of ids) out.set(id, this.rows.get(id));
    return out;
  }

  /**
   * Rank posts for `query`. Options: limit (10), tags ([]), since, until
   * (YYYY[-MM[-DD]]), sort ("relevance" | "date"), prefix and typo (true:
   * type-ahead on the last word, typo tolerance), facets (false: true adds
   * `facets`, the tag and year counts of the posts matching, below).
   * Returns {query, total, hits} (+ facets).
   */
  async search(query, opts = {}) {
    const { limit = 10, since, until, sort = "relevance", prefix = true, typo = true } = opts;
    const text = Array.from(String(query ?? ""), (c) => (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(c) ? " " : c))
      .join("")
      .slice(0, 1000);
    const parsed = parseQuery(text);
    const tags = [...(opts.tags ?? []), ...parsed.tags];
    const plan = await this._plan(parsed, { prefix, typo });
    const scoring = plan.clauses.length > 0;
    let allowed = null;
    if (tags.length || since || until || !scoring || sort === "date") {
      allowed = await this._filter(tags, since, until);
    }
    const scored = scoring ? this._score(plan) : null;
    let ids = scored ? scored.ids : Array.from({ length: this.size }, (_, i) => i);
    if (plan.excluded.size) ids = ids.filter((id) => !plan.excluded.has(id));
    const matched = ids; // before filters: the years facet ignores the date filter
    if (allowed) ids = ids.filter((id) => allowed.mask[id]);
    const score = scored ? (id) => scored.score[id] : () => 1; // no words: every post, like Whoosh's Every()
    // Posts matching every clause first (coord.py's ALL_WORDS_TIER), then by score; ties: ids follow paths.
    const all = scored?.all;
    const byScore = all ? (a, b) => all[b] - all[a] || score(b) - score(a) || a - b : (a, b) => score(b) - score(a) || a - b;
    let order = byScore;
    if (!scored || sort === "date") {
      const dates = allowed.dates;
      const d = (id) => (dates[id] === null ? -Infinity : dates[id]);
      order = (a, b) => d(b) - d(a) || byScore(a, b);
    }
    const top = firstInOrder(ids, order, limit);
    const docs = await this._docs(top);
    const hits = top.map((id, i) => this._hit(id, i + 1, score(id), docs.get(id), plan.highlight));
    const result = { query: String(query ?? ""), total: ids.length, hits };
    if (opts.facets) result.facets = await this._facets(matched, ids, tags);
    return result;
  }

  /**
   * Facet counts of a result: `tags`, [{tag, count}] over the posts matching
   * (every filter applied: the posts left if that tag were added), most first;
   * `years`, [{year, count}] newest first, over the posts matching the words
   * and tags but not the date filter (so other years stay selectable).
   */
  async _facets(matched, ids, tags) {
    const f = await this.filters();
    const size = this.size;
    const mask = new Uint8Array(size);
    for (const id of ids) mask[id] = 1;
    f.lists ??= new Map();
    const counts = [];
    for (const tag of f.tagNames) {
      let list = f.lists.get(tag);
      if (!list) f.lists.set(tag, (list = undelta(unpack(f.tags.get(tag)))));
      let n = 0;
      if (ids.length === size) n = list.length;
      else for (const id of list) n += mask[id];
      if (n) counts.push({ tag, count: n });
    }
    counts.sort((a, b) => b.count - a.count); // stable: ties keep the site's order
    let pool = matched;
    if (tags.length) {
      const { mask: tagMask } = await this._filter(tags);
      pool = matched.filter((id) => tagMask[id]);
    }
    f.years ??= f.dates.map((d) => (d === null ? null : new Date(d * 1000).getUTCFullYear()));
    const years = new Map();
    for (const id of pool) {
      const y = f.years[id];
      if (y !== null) years.set(y, (years.get(y) ?? 0) + 1);
    }
    const byYear = [...years].sort((a, b) => b[0] - a[0]).map(([year, count]) => ({ year, count }));
    return { tags: counts, years: byYear };
  }

  /** Clauses of the query: one per distinct analysed word or phrase. */
  async _plan(parsed, { prefix, typo }) {
    const plan = { clauses: [], operator: parsed.operator, excluded: new Set(), highlight: new Set() };
    const { units, lastIsOpen } = parsed;
    await this._prefetch(units, lastIsOpen && prefix);
    const seen = new Map();
    for (let u = 0; u < units.length; u++) {
      const unit = units[u];
      const terms = [...new Set(this.analyzer.analyze(unit.text))];
      if (unit.not) {
        const lists = await Promise.all(terms.map((t) => this.postings(t)));
        const phrase = unit.kind === "phrase" && terms.length > 1 ? await this._phraseMatches(lists) : null;
        for (const list of lists) {
          if (list) for (const id of list.ids) if (!phrase || phrase.has(id)) plan.excluded.add(id);
        }
        continue;
      }
      let open = null;
      if (prefix && lastIsOpen && u === units.length - 1) {
        const last = this.analyzer.tokens(unit.text).at(-1);
        const folded = last ? this.analyzer.fold(last.word) : "";
        if (cpLength(folded) >= this.options.prefixMin) open = folded;
      }
      if (!terms.length && !open) continue; // stop words only: no clause, as in the CLI
      const isPhrase = unit.kind === "phrase" && terms.length > 1;
      const key = `${isPhrase ? '"' : ""}${terms.join("\u0000")}\u0001${open ?? ""}`;
      if (seen.has(key)) {
        seen.get(key).count++; // a repeated word is one clause, typed twice
        continue;
      }
      const lists = (await Promise.all(terms.map((t) => this.postings(t)))).filter(Boolean);
      terms.forEach((t) => plan.highlight.add(t));
      // plain: one word, no phrase or type-ahead (the long-query rule weights only these)
      const plain = terms.length === 1 && !isPhrase && !open;
      const clause = { lists, extra: [], weight: 0, phrase: null, count: 1, plain };
      seen.set(key, clause);
      if (isPhrase) {
        clause.phrase = lists.length === terms.length ? await this._phraseMatches(lists) : new Set();
      } else if (open) {
        clause.extra = (await this.expand(open, this.options.prefixMax)).filter((l) => !terms.includes(l.term));
        clause.weight = this.options.prefixWeight;
      }
      if (!isPhrase && !lists.length && !clause.extra.length && typo) {
        for (const t of terms) clause.extra.push(...(await this.similar(t)));
        clause.weight = this.options.fuzzyWeight;
      }
      clause.extra.forEach((l) => plan.highlight.add(l.term));
      plan.clauses.push(clause);
    }
    return plan;
  }

  /** Fetch, in parallel, every term shard the query's words (and an open last word) need. */
  async _prefetch(units, open) {
    const need = new Set();
    units.forEach((unit, u) => {
      const tokens = this.analyzer.tokens(unit.text);
      for (const { word } of tokens) {
        const t = this.analyzer.term(word);
        if (t !== null) need.add(this._shardOf(t));
      }
      const last = tokens.at(-1);
      if (open && u === units.length - 1 && last) {
        const folded = this.analyzer.fold(last.word);
        if (cpLength(folded) >= this.options.prefixMin) {
          for (const i of this._prefixShards(folded)) need.add(i);
        }
      }
    });
    await Promise.all([...need].map((i) => this._shard(i)));
  }

  /**
   * Scores of every matching post, exactly as `searchkit query`: {ids, score,
   * all}, `score[id]` and `all[id]` (1: matches every clause, when that
   * sorts first) indexed by post id. Arrays indexed by id, not Maps: a query
   * touching thousands of posts is scored in about a millisecond.
   */
  _score(plan) {
    const scale = this.ranking.scoreScale;
    const rule = this.ranking.combine;
    const { clauses } = plan;
    const size = this.size;
    // Per post: the sum of its clauses' impacts (integers: exact in any
    // order), and how many clauses it matches.
    const total = new Float64Array(size);
    const matched = new Uint16Array(size);
    const touched = [];
    const mine = new Float64Array(size); // this clause's value per post
    const state = new Uint8Array(size); // 0: not in this clause, 1: exact match, 2: extra only
    const long = this._longWeights(plan);
    for (const [c, clause] of clauses.entries()) {
      const hit = [];
      for (const { ids, values } of clause.lists) {
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i];
          if (clause.phrase && !clause.phrase.has(id)) continue;
          if (state[id] === 0) {
            state[id] = 1;
            mine[id] = 0;
            hit.push(id);
          }
          mine[id] += values[i];
        }
      }
      // Type-ahead and typo matches: the best one per post, scaled down,
      // only for posts without an exact match of the clause.
      for (const { ids, values } of clause.extra) {
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i];
          const v = values[i] * clause.weight;
          if (state[id] === 0) {
            state[id] = 2;
            mine[id] = v;
            hit.push(id);
          } else if (state[id] === 2 && v > mine[id]) mine[id] = v;
        }
      }
      let times = rule.qtf ? clause.count : 1; // coord.WordsOr: query term frequency
      const w = long ? long[c] : undefined;
      if (w !== undefined) times = times * w; // a float: each product quantised, as CoordMatcher
      for (const id of hit) {
        if (matched[id] === 0) touched.push(id);
        total[id] += w === undefined ? mine[id] * times : Math.floor((mine[id] / scale) * times * scale + 0.5);
        matched[id]++;
        state[id] = 0;
      }
    }
    const n = clauses.length;
    const operator = plan.operator === "words" ? rule.rule : plan.operator === "or" ? "sum" : "and";
    const grouped = operator === "words" && (n > 1 || (rule.qtf && clauses[0].count > 1));
    const all = grouped && rule.allFirst ? new Uint8Array(size) : null;
    const score = total; // reused in place: each post's total is read once, then replaced
    const ids = [];
    for (const id of touched) {
      const m = matched[id];
      if (all && m === n) all[id] = 1;
      if (operator === "and" && m < n) continue;
      let s = total[id] / scale;
      if (grouped) {
        // coord.CoordMatcher.score: quantize(S * (1 + coord * m / n)), op for op.
        s = Math.floor(s * (1 + (rule.coord * m) / n) * scale + 0.5) / scale;
      }
      score[id] = s;
      ids.push(id);
    }
    return { ids, score, all };
  }

  /**
   * coord.WordsOr._long_query_weights: in a group of at least `combine.longIdf`
   * clauses, each plain word the export holds gets sqrt(idf / mean idf), the
   * mean over those words; null when the rule does not apply.
   */
  _longWeights(plan) {
    const rule = this.ranking.combine;
    const { clauses } = plan;
    if (!rule.longIdf || plan.operator !== "words" || clauses.length < rule.longIdf) return null;
    const scale = this.ranking.scoreScale;
    const idfs = new Map();
    let sum = 0;
    clauses.forEach((clause, c) => {
      if (clause.plain && clause.lists.length === 1) {
        const idf = clause.lists[0].idf / scale;
        idfs.set(c, idf);
        sum += idf;
      }
    });
    const mean = idfs.size ? sum / idfs.size : 0;
    if (mean === 0) return null;
    const out = [];
    for (const [c, idf] of idfs) out[c] = Math.sqrt(idf / mean);
    return out;
  }

  /** Posts holding the terms of `lists` at consecutive positions of one field. */
  async _phraseMatches(lists) {
    const found = new Set();
    if (lists.some((l) => !l)) return found;
    const [first, ...rest] = lists;
    const others = rest.map((l) => new Set(l.ids));
    const candidates = first.ids.filter((id) => others.every((s) => s.has(id)));
    if (!candidates.length) return found;
    const positions = await Promise.all(lists.map((l) => this._positions(l)));
    for (const id of candidates) {
      for (const [field, starts] of positions[0].get(id)) {
        const fieldsOf = positions.map((p) => p.get(id).get(field));
        if (fieldsOf.some((f) => !f)) continue;
        const hit = [...starts].some((p) => fieldsOf.every((f, k) => f.has(p + k)));
        if (hit) {
          found.add(id);
          break;
        }
      }
    }
    return found;
  }

  async _filter(tags, since, until) {
    const f = await this.filters();
    const mask = new Uint8Array(this.size).fill(1);
    for (const tag of tags) {
      const key = String(tag).trim().toLowerCase();
      if (!key) continue;
      const packed = f.tags.get(key);
      const has = new Uint8Array(this.size);
      if (packed) for (const id of undelta(unpack(packed))) has[id] = 1;
      for (let i = 0; i < mask.length; i++) mask[i] &= has[i];
    }
    const lo = since ? parseDay(since, false) : null;
    const hi = until ? parseDay(until, true) : null;
    if (lo !== null || hi !== null) {
      for (let i = 0; i < mask.length; i++) {
        const d = f.dates[i];
        if (d === null || (lo !== null && d < lo) || (hi !== null && d > hi)) mask[i] = 0;
      }
    }
    return { mask, dates: f.dates };
  }

  _hit(id, rank, score, doc, highlight) {
    const [short, title, day, tags, source, kind, snippet] = doc;
    const { labels, urlBase } = this.meta;
    const label = (v) => (typeof v === "number" ? labels[v] : v);
    const whole = !short || short[0] === "/" || SCHEME.test(short);
    const url = whole || !urlBase ? short : urlBase + short;
    return {
      rank,
      id,
      score,
      url: isSafeUrl(url) ? url : "",
      title,
      date: day === null ? null : new Date(day * DAY_MS).toISOString().slice(0, 10),
      tags: tags.map(label),
      source: label(source) || null,
      kind: label(kind) || null,
      snippet,
      titleHighlights: this._spans(title, highlight),
      highlights: this._spans(snippet, highlight),
    };
  }

  /** [start, end) offsets of the words of `text` whose terms are in `terms`. */
  _spans(text, terms) {
    const out = [];
    for (const { word, start, end } of this.analyzer.tokens(text)) {
      const t = this.analyzer.term(word);
      if (t !== null && terms.has(t)) out.push([start, end]);
    }
    return out;
  }
}

/** The first `k` of `items` in the order of `compare` (a total order), without sorting them all. */
function firstInOrder(items, compare, k) {
  if (!(Number.isInteger(k) && k >= 1 && k <= 64)) return [...items].sort(compare).slice(0, k);
  const best = [];
  for (const x of items) {
    if (best.length === k && compare(x, best[k - 1]) >= 0) continue;
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compare(best[mid], x) <= 0) lo = mid + 1;
      else hi = mid;
    }
    best.splice(lo, 0, x);
    if (best.length > k) best.pop();
  }
  return best;
}

/** Number of leading UTF-16 units `a` and `b` share. */
function commonPrefix(a, b) {
  let n = 0;
  while (n < a.length && n < b.length && a.charCodeAt(n) === b.charCodeAt(n)) n++;
  return n;
}

function lowerBound(terms, key) {
  let lo = 0;
  let hi = terms.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareCodePoints(terms[mid], key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function findTerm(terms, key) {
  const k = lowerBound(terms, key);
  return k < terms.length && terms[k] === key ? k : -1;
}

/** Unix seconds of YYYY, YYYY-MM, YYYY-MM-DD (start, or end with `end`) or an ISO time. */
export function parseDay(text, end) {
  const s = String(text).trim();
  let m;
  let a;
  let b;
  if ((m = /^(\d{4})$/.exec(s))) {
    a = Date.UTC(+m[1], 0, 1);
    b = Date.UTC(+m[1] + 1, 0, 1);
  } else if ((m = /^(\d{4})-(\d{2})$/.exec(s))) {
    a = Date.UTC(+m[1], +m[2] - 1, 1);
    b = Date.UTC(+m[1], +m[2], 1);
  } else if ((m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s))) {
    a = Date.UTC(+m[1], +m[2] - 1, +m[3]);
    b = a + DAY_MS;
  } else {
    const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : s + "Z");
    if (Number.isNaN(t)) throw new Error(`searchkit: not a date: ${s}`);
    return t / 1000;
  }
  return end ? (b - 1) / 1000 : a / 1000;
}
