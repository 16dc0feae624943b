// The query editor of GET /sparql (templates/query.html): Yasgui, vendored in static/yasgui, pointed at this
// endpoint only, with the dataset's prefixes, the example queries one click away, and results as a table
// (the default) or as a bar chart drawn here in SVG. Nothing is fetched from another host: no CDN, no
// prefix.cc, no LOV, no Google Charts. Without JavaScript the page keeps its links and its plain form.
(function () {
  "use strict";
  const host = document.getElementById("query-editor");
  const configEl = document.getElementById("query-editor-config");
  if (!host || !configEl || typeof window.Yasgui !== "function") return; // the plain page stays as it is
  const Yasgui = window.Yasgui;
  const config = JSON.parse(configEl.textContent);
  const words = config.words;
  const endpoint = config.endpoint;
  const status = document.getElementById("query-editor-status");
  const SVG = "http://www.w3.org/2000/svg";
  const XSD = "http://www.w3.org/2001/XMLSchema#";
  const NUMERIC = new Set(["integer", "decimal", "double", "float", "long", "int", "short", "byte",
    "nonNegativeInteger", "nonPositiveInteger", "negativeInteger", "positiveInteger",
    "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte"].map((name) => XSD + name));
  const MAX_BARS = 100;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
  }

  function announce(text) {
    if (status) status.textContent = text;
  }

  // ---- The chart: a Yasr plugin, bars of the first numeric column against the first other column ----

  function isNumber(term) {
    if (!term || (term.type !== "literal" && term.type !== "typed-literal")) return false;
    if (term.datatype) return NUMERIC.has(term.datatype) && Number.isFinite(Number(term.value));
    // untyped (CSV, TSV): a plain number without a language tag
    return !term["xml:lang"] && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(term.value);
  }

  function shorten(iri, prefixes) {
    let best = "";
    for (const prefix in prefixes) {
      const ns = prefixes[prefix];
      if (ns && iri.startsWith(ns) && ns.length > (prefixes[best] || "").length) best = prefix;
    }
    if (best) return best + ":" + iri.slice(prefixes[best].length);
    const tail = iri.replace(/[/#]+$/, "").split(/[/#]/).pop();
    return tail || iri;
  }

  function termText(term, prefixes) {
    if (!term) return "";
    if (term.type === "uri") return shorten(term.value, prefixes);
    if (term.type === "bnode") return "_:" + term.value;
    return term.value;
  }

  function el(name, attributes, text) {
    const node = document.createElementNS(SVG, name);
    for (const key in attributes) node.setAttribute(key, attributes[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** What to draw: {valueVar, labelVar, bars: [{label, value}], total}, or null when nothing is numeric. */
  function chartData(results, prefixes) {
    const vars = results.getVariables() || [];
    const rows = results.getBindings() || [];
    const numeric = (name) => rows.some((row) => row[name]) && rows.every((row) => !row[name] || isNumber(row[name]));
    const valueVar = vars.find(numeric);
    if (!valueVar) return null;
    const labelVar = vars.find((name) => name !== valueVar && !numeric(name));
    const bars = [];
    rows.forEach((row, index) => {
      if (!row[valueVar]) return;
      const label = labelVar ? termText(row[labelVar], prefixes) : String(index + 1);
      bars.push({ label: label || "—", value: Number(row[valueVar].value) });
    });
    return { valueVar, labelVar, bars: bars.slice(0, MAX_BARS), total: bars.length };
  }

  function drawBars(data, width) {
    const rowHeight = 26, barHeight = 18, top = 6, valueRoom = 72, fontSize = 13;
    const context = document.createElement("canvas").getContext("2d");
    const measure = (text) => (context ? context.measureText(text).width : text.length * 7.5);
    if (context) context.font = `${fontSize}px system-ui, sans-serif`;
    const longest = Math.max(...data.bars.map((bar) => measure(bar.label)), 30);
    const labelWidth = Math.round(Math.min(width * 0.45, longest + 14));
    const clip = (text) => { // a label longer than its room ends in "…" (the bar's tooltip has it whole)
      if (measure(text) <= labelWidth - 14) return text;
      let cut = text;
      while (cut.length > 1 && measure(cut + "…") > labelWidth - 14) cut = cut.slice(0, -1);
      return cut + "…";
    };
    const plotWidth = Math.max(60, width - labelWidth - valueRoom);
    const values = data.bars.map((bar) => bar.value);
    const low = Math.min(0, ...values), high = Math.max(0, ...values);
    const scale = (v) => labelWidth + ((v - low) / (high - low || 1)) * plotWidth;
    const height = top * 2 + data.bars.length * rowHeight;
    const title = fill(words.chart_title, { value: data.valueVar, label: data.labelVar || "#" });
    const titleId = "chart-title-" + Math.random().toString(36).slice(2, 9);
    const svg = el("svg", { xmlns: SVG, class: "bar-chart", role: "img", "aria-labelledby": titleId,
      viewBox: `0 0 ${width} ${height}`, width: "100%", "font-size": fontSize, "font-family": "system-ui, sans-serif" });
    svg.appendChild(el("title", { id: titleId }, `${title} (${data.bars.length})`));
    const zero = scale(0);
    data.bars.forEach((bar, i) => {
      const y = top + i * rowHeight;
      const x = scale(bar.value);
      const group = el("g", { class: "bar-row" });
      group.appendChild(el("title", {}, `${bar.label}: ${bar.value.toLocaleString()}`));
      group.appendChild(el("text", { class: "bar-label", x: labelWidth - 8, y: y + barHeight / 2,
        "text-anchor": "end", "dominant-baseline": "central", fill: "#1b1f24" }, clip(bar.label)));
      group.appendChild(el("rect", { class: "bar", x: Math.min(x, zero), y,
        width: Math.max(Math.abs(x - zero), 1), height: barHeight, rx: 2, fill: "#0b57a4" }));
      group.appendChild(el("text", { class: "bar-value", x: Math.max(x, zero) + 6, y: y + barHeight / 2,
        "dominant-baseline": "central", fill: "#1b1f24" }, bar.value.toLocaleString()));
      svg.appendChild(group);
    });
    svg.appendChild(el("line", { class: "baseline", x1: zero, x2: zero, y1: 0, y2: height, stroke: "#4a5360" }));
    return svg; // colours are attributes too, so a downloaded SVG looks the same; the page's CSS may restyle
  }

  class BarChart {
    constructor(yasr) {
      this.yasr = yasr;
      this.label = words.chart;
      this.priority = 5; // below the table (10): never chosen unless asked for
      this.svg = null;
    }

    canHandleResults() {
      const results = this.yasr.results;
      if (!results || results.hasError()) return false;
      return (results.getVariables() || []).length > 0 && Array.isArray(results.getBindings());
    }

    draw() {
      this.svg = null;
      const box = document.createElement("div");
      box.className = "chart-view";
      const data = chartData(this.yasr.results, this.yasr.getPrefixes());
      if (!data || !data.bars.length) {
        const note = document.createElement("p");
        note.className = "chart-message";
        note.textContent = words.no_numeric;
        box.appendChild(note);
      } else {
        if (data.total > data.bars.length) {
          const note = document.createElement("p");
          note.className = "chart-note";
          note.textContent = fill(words.first_rows, { n: data.bars.length, total: data.total });
          box.appendChild(note);
        }
        this.svg = drawBars(data, Math.max(300, Math.min(this.yasr.resultsEl.clientWidth || 760, 1100)));
        box.appendChild(this.svg);
      }
      this.yasr.resultsEl.appendChild(box);
    }

    download(filename) {
      const svg = this.svg;
      if (!svg) return undefined;
      return {
        contentType: "image/svg+xml",
        filename: (filename || "chart") + ".svg",
        title: words.download_chart,
        getData: () => new XMLSerializer().serializeToString(svg),
      };
    }

    getIcon() {
      const icon = document.createElement("div");
      icon.className = "svgImg";
      const svg = el("svg", { viewBox: "0 0 16 16", "aria-hidden": "true", focusable: "false" });
      svg.appendChild(el("rect", { x: 1, y: 8, width: 3, height: 7 }));
      svg.appendChild(el("rect", { x: 6.5, y: 3, width: 3, height: 12 }));
      svg.appendChild(el("rect", { x: 12, y: 6, width: 3, height: 9 }));
      icon.appendChild(svg);
      return icon;
    }
  }
  Yasgui.Yasr.registerPlugin("chart", BarChart);

  // ---- Completion from this dataset only ----

  const Yasqe = Yasgui.Yasqe;
  const prefixLines = Object.keys(config.prefixes).sort().map((p) => `${p}: <${config.prefixes[p]}>`);
  // the prefix completer (and the automatic PREFIX line on typing `skos:`) knows the dataset's prefixes
  Yasqe.registerAutocompleter({ ...Yasqe.Autocompleters.prefixes, name: "prefixes", get: () => prefixLines,
    persistenceId: null });
  // classes and properties come from this endpoint, not from LOV on the internet
  const termLists = {};
  function termsOf(kind) {
    if (!termLists[kind]) {
      const query = kind === "class" ? "SELECT DISTINCT ?t WHERE { [] a ?t } LIMIT 2000"
        : "SELECT DISTINCT ?t WHERE { [] ?t [] } LIMIT 2000";
      termLists[kind] = fetch(endpoint, {
        method: "POST",
        headers: { Accept: "application/sparql-results+json", "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ query }),
      }).then((response) => (response.ok ? response.json() : { results: { bindings: [] } }))
        .then((json) => json.results.bindings.map((row) => row.t && row.t.value).filter(Boolean).sort())
        .catch(() => { delete termLists[kind]; return []; });
    }
    return termLists[kind];
  }
  for (const [kind, from] of [["class", "class"], ["property", "property"]]) {
    Yasqe.forkAutocompleter(from, {
      name: "dataset-" + kind,
      get: (yasqe, token) => termsOf(kind).then((iris) => {
        const typed = (token && (token.autocompletionString || token.string)) || "";
        if (/[:/]/.test(typed)) return iris.filter((iri) => iri.startsWith(typed)).slice(0, 100);
        const word = typed.toLowerCase(); // a bare word: the terms whose local name starts with it
        return iris.filter((iri) => iri.split(/[/#]/).pop().toLowerCase().startsWith(word)).slice(0, 100);
      }),
    }, false);
  }
  const completers = ["prefixes", "variables", "dataset-class", "dataset-property"];
  Yasqe.defaults.autocompleters = completers.slice();
  Yasgui.defaults.yasqe.autocompleters = completers.slice();

  // ---- Yasgui, for this endpoint only ----

  const examples = config.examples || [];
  const yasgui = new Yasgui(host, {
    autofocus: false,
    persistenceId: null, // no tabs, queries or other endpoints remembered from an earlier visit
    copyEndpointOnNewTab: false,
    tabName: words.query,
    // a shared link (#query=...) opens its query, but always against this endpoint
    populateFromUrl: (tab) => ({ ...tab, requestConfig: { ...tab.requestConfig, endpoint } }),
    endpointCatalogueOptions: { getData: () => [{ endpoint }] },
    requestConfig: {
      endpoint,
      method: "POST",
      acceptHeaderSelect: "application/sparql-results+json,*/*;q=0.9",
      acceptHeaderGraph: "text/turtle,*/*;q=0.9",
    },
    yasqe: {
      value: examples.length ? examples[0].query : "SELECT * WHERE { ?s ?p ?o } LIMIT 10\n",
      prefixCcApi: null,
      editorHeight: "280px",
    },
    yasr: {
      defaultPlugin: "table",
      pluginOrder: ["table", "chart", "response"],
      prefixes: config.prefixes,
    },
  });
  window.queryEditor = yasgui; // for the browser tests and the curious

  // the editor's text fields get names, and the query field the page's hint
  function label(tab) {
    const yasqe = tab && tab.getYasqe && tab.getYasqe();
    if (yasqe) {
      const field = yasqe.getInputField();
      field.setAttribute("aria-label", words.query);
      if (document.getElementById("editor-hint")) field.setAttribute("aria-describedby", "editor-hint");
    }
    for (const input of host.querySelectorAll(".controlbar input.autocomplete")) {
      input.setAttribute("aria-label", words.endpoint);
    }
    for (const button of host.querySelectorAll(".controlbar .clearEndpointBtn")) {
      button.setAttribute("aria-label", words.clear_endpoint);
      button.title = words.clear_endpoint;
    }
  }
  label(yasgui.getTab());
  yasgui.on("tabSelect", (_y, tabId) => setTimeout(() => label(yasgui.getTab(tabId)), 0));
  yasgui.on("tabAdd", (_y, tabId) => setTimeout(() => label(yasgui.getTab(tabId)), 0));

  yasgui.on("queryResponse", (_y, tab) => {
    setTimeout(() => {
      const results = tab.getYasr && tab.getYasr().results;
      if (!results) return;
      if (results.hasError()) announce(words.failed);
      else if (Array.isArray(results.getBindings())) announce(fill(words.results, { n: results.getBindings().length }));
      else announce(words.answered);
    }, 0);
  });

  // ---- The examples: each link opens its query in a tab of its own and runs it ----

  function openExample(example) {
    const id = "example-" + example.slug;
    const name = example.title.length > 34 ? example.title.slice(0, 33) + "…" : example.title;
    let tab = yasgui.getTab(id);
    if (tab) {
      yasgui.selectTabId(id);
    } else {
      tab = yasgui.addTab(true, { id, name, yasqe: { value: example.query }, requestConfig: { endpoint } });
    }
    tab.setQuery(example.query);
    announce(fill(words.running, { title: example.title }));
    host.scrollIntoView({ block: "start" });
    tab.query().catch(() => announce(words.failed));
  }

  for (const link of document.querySelectorAll("a[data-example]")) {
    const example = examples.find((e) => e.slug === link.dataset.example);
    if (!example) continue;
    link.addEventListener("click", (event) => {
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      event.preventDefault(); // a new tab or window still gets the plain results page
      openExample(example);
    });
  }
  for (const hint of document.querySelectorAll(".editor-only")) hint.hidden = false;
})();
