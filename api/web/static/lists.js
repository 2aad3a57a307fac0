// The person's videos (newest first, a page at a time) and their token balance with the latest ledger rows.

import { $, h, plural, setText, when } from "./dom.js";

const PAGE = 5;
const STATUS_WORDS = { QUEUED: "Queued", PROCESSING: "Making", COMPLETED: "Ready", FAILED: "Failed", CANCELLED: "Cancelled" };
const LEDGER_WORDS = { grant: "Added", reserve: "Held for a video", charge: "Spent (was held)", release: "Given back" };

export class Library {
  constructor(client, { onOpen, onError }) {
    this.client = client;
    this.onOpen = onOpen;
    this.onError = onError;
    this.cursors = [null]; // cursors[i] fetches page i
    this.page = 0;
    this.thumbs = new Map(); // video id -> thumbnail URL (COMPLETED videos only)
    $("#older").addEventListener("click", () => this.go(this.page + 1));
    $("#newer").addEventListener("click", () => this.go(this.page - 1));
    $("#refresh").addEventListener("click", () => this.go(0));
  }

  async go(page) {
    const cursor = this.cursors[page];
    if (page < 0 || cursor === undefined) return;
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (cursor) query.set("cursor", cursor);
    let data;
    try {
      data = await this.client.get(`videos?${query}`);
    } catch (err) {
      this.onError(err);
      return;
    }
    this.page = page;
    this.cursors.length = page + 1;
    if (data.next_cursor) this.cursors.push(data.next_cursor);
    this.render(data.items);
  }

  refresh() {
    return this.go(this.page);
  }

  render(items) {
    const list = $("#videos");
    if (!items.length) {
      list.replaceChildren(h("li", { className: "empty" }, this.page ? "No older videos." : "No videos yet: make your first one."));
    } else {
      list.replaceChildren(...items.map((v) => this.item(v)));
    }
    $("#newer").disabled = this.page === 0;
    $("#older").disabled = this.cursors[this.page + 1] === undefined;
    setText($("#page-no"), `Page ${this.page + 1}`);
    items.filter((v) => v.status === "COMPLETED" && !this.thumbs.has(v.id)).forEach((v) => this.loadThumb(v.id));
  }

  item(v) {
    const thumb = h("span", { className: "thumb-box", dataset: { status: v.status } });
    const url = this.thumbs.get(v.id);
    if (url) thumb.append(h("img", { src: url, alt: "", loading: "lazy" }));
    else thumb.append(h("span", { className: "thumb-status" }, STATUS_WORDS[v.status] || v.status));
    const pct = v.status === "PROCESSING" ? ` ${Math.round(v.percent)}%` : "";
    return h("li", { dataset: { id: v.id } },
      h("button", { type: "button", className: "video-item", onclick: () => this.onOpen(v) },
        thumb,
        h("span", { className: "video-text" },
          h("span", { className: "video-prompt" }, v.prompt),
          h("span", { className: "video-meta" },
            h("span", { className: "badge", dataset: { status: v.status } }, `${STATUS_WORDS[v.status] || v.status}${pct}`),
            ` ${v.duration_seconds} s · ${v.resolution} · ${v.quality}` +
              (v.token_cost ? ` · ${plural(v.token_cost, "token")}` : "") + ` · ${when(v.created_at)}`))));
  }

  async loadThumb(id) {
    try {
      const video = await this.client.get(`videos/${encodeURIComponent(id)}`);
      const url = video.result && ((video.result.thumbnails || [])[0] || video.result.poster);
      if (!url) return;
      this.thumbs.set(id, url);
      const box = $(`#videos li[data-id="${CSS.escape(id)}"] .thumb-box`);
      if (box) box.replaceChildren(h("img", { src: url, alt: "", loading: "lazy" }));
    } catch {
      // a missing thumbnail is not worth an error message
    }
  }
}

export class Tokens {
  constructor(client, { onError, onLoaded }) {
    this.client = client;
    this.onError = onError;
    this.onLoaded = onLoaded;
  }

  async refresh() {
    let data;
    try {
      data = await this.client.get("tokens?limit=10");
    } catch (err) {
      this.onError(err);
      return null;
    }
    setText($("#tok-balance"), String(data.balance));
    setText($("#tok-reserved"), String(data.reserved));
    setText($("#tok-plan"), data.plan);
    $("#ledger").replaceChildren(...data.entries.map((e) => {
      // A charge spends tokens already held (the balance moved at the reservation): no sign, no colour.
      const sign = { grant: "+", release: "+", reserve: "−" }[e.kind] || "";
      return h("tr", { dataset: { kind: e.kind } },
        h("td", { className: "when" }, when(e.created_at)),
        h("td", {}, LEDGER_WORDS[e.kind] || e.kind, e.video_id ? h("span", { className: "muted mono" }, ` ${e.video_id.slice(0, 8)}`) : null,
          e.note && e.kind === "grant" ? h("span", { className: "muted" }, ` (${e.note})`) : null),
        h("td", { className: `num ${{ "+": "plus", "−": "minus" }[sign] || "muted"}` }, `${sign}${e.amount}`),
        h("td", { className: "num" }, String(e.balance_after)));
    }));
    if (!data.entries.length) $("#ledger").replaceChildren(h("tr", {}, h("td", { colSpan: 4, className: "empty" }, "No token movements yet.")));
    this.onLoaded(data);
    return data;
  }
}
