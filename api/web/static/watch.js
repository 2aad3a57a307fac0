// One video at a time: live progress from GET /videos/{id}/events (six phases, percent, elapsed time,
// cancel), then the finished video in a player with its thumbnails, captions and downloads.

import { describeError } from "./api.js";
import { $, clock, h, setText, show, when } from "./dom.js";

export const PHASES = ["script", "assets", "compositing", "rendering", "encoding", "finalization"];
const PHASE_LABELS = {
  script: "Script", assets: "Images, voice and music", compositing: "Compositing", rendering: "Rendering",
  encoding: "Encoding", finalization: "Finishing",
};
const STATUS_WORDS = {
  QUEUED: "Waiting in the queue", PROCESSING: "Being made", COMPLETED: "Ready", FAILED: "Failed",
  CANCELLED: "Cancelled",
};
const FINAL = new Set(["COMPLETED", "FAILED", "CANCELLED"]);

const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const clampPct = (v) => Math.max(0, Math.min(100, v));

export class Watcher {
  constructor(client, { onFinal, onError, onStatus }) {
    this.client = client;
    this.onFinal = onFinal;
    this.onStatus = onStatus || (() => {});
    this.onError = onError;
    this.controller = null;
    this.tick = null;
    this.video = null;
    $("#cancel").addEventListener("click", () => this.cancel());
  }

  stop() {
    if (this.controller) this.controller.abort();
    this.controller = null;
    clearInterval(this.tick);
  }

  reset(video) {
    this.stop();
    this.video = video;
    this.status = null;
    this.overall = 0;
    this.phasePct = Object.fromEntries(PHASES.map((p) => [p, 0]));
    this.seen = new Set();
    $("#phases").replaceChildren(...PHASES.map((p) => h("li", { className: "phase", dataset: { phase: p, state: "pending" } },
      h("span", { className: "phase-name" }, PHASE_LABELS[p]),
      h("progress", { max: 100, value: 0, "aria-label": `${PHASE_LABELS[p]} progress` }),
      h("span", { className: "phase-pct" }, "0%"))));
    setText($("#progress-prompt"), video.prompt ?? (video.request && video.request.prompt) ?? "");
    setText($("#progress-error"), "");
    show($("#progress"));
  }

  /** Follow a video until it is final (reconnecting if the stream drops), then show the result. */
  async follow(videoId, known = null) {
    this.reset(known || { id: videoId });
    const controller = new AbortController();
    this.controller = controller;
    const { signal } = controller;
    const video = await this.load(videoId, signal);
    if (!video) return;
    setText($("#progress-prompt"), video.request.prompt);
    this.apply({ status: video.status, phase: video.phase, percent: video.percent });
    this.startClock();
    $("#progress-title").focus();
    let failures = 0;
    while (!signal.aborted && !FINAL.has(this.status)) {
      try {
        await this.client.stream(`videos/${encodeURIComponent(videoId)}/events`, (name, data) => {
          failures = 0;
          this.apply(data);
        }, signal);
      } catch (err) {
        if (signal.aborted) return;
        failures += 1;
        if (err.status && err.status !== 429 && err.status < 500) {
          this.onError(err);
          return;
        }
        setText($("#progress-error"), `${describeError(err)} Reconnecting…`);
        await new Promise((r) => setTimeout(r, Math.min(10, err.retryAfter || failures) * 1000));
      }
      if (signal.aborted) return;
      if (!FINAL.has(this.status)) {
        try {
          const now = await this.client.get(`videos/${encodeURIComponent(videoId)}`, { signal });
          this.apply({ status: now.status, phase: now.phase, percent: now.percent, error: now.error });
        } catch (err) {
          if (signal.aborted) return;
        }
      }
    }
    if (signal.aborted) return;
    clearInterval(this.tick);
    await this.finish(videoId, signal);
  }

  /** Reads the stream's fields defensively: `percent` is the phase's percent, unless `phase_percent` is
   * there too (then `percent` is the whole video's). Phases before the current one are done. */
  apply(data) {
    const previous = this.status;
    this.status = data.status || this.status;
    if (previous && previous !== this.status && !FINAL.has(this.status)) this.onStatus(this.status);
    setText($("#progress-error"), "");
    const index = PHASES.indexOf(data.phase);
    const hasPhasePct = Object.prototype.hasOwnProperty.call(data, "phase_percent");
    const phasePct = clampPct(num(hasPhasePct ? data.phase_percent : data.percent) ?? 0);
    if (index >= 0) {
      this.seen.add(data.phase);
      for (let i = 0; i < index; i += 1) this.phasePct[PHASES[i]] = 100;
      this.phasePct[data.phase] = Math.max(this.phasePct[data.phase], phasePct);
    }
    let overall = hasPhasePct ? num(data.percent) : null;
    if (overall === null) overall = index >= 0 ? ((index + this.phasePct[data.phase] / 100) / PHASES.length) * 100 : 0;
    if (this.status === "COMPLETED") {
      PHASES.forEach((p) => { this.phasePct[p] = 100; });
      overall = 100;
    }
    this.overall = Math.max(this.overall, clampPct(overall));
    const eta = num(data.eta_s);
    setText($("#eta"), eta !== null && !FINAL.has(this.status) ? `· about ${clock(eta)} left` : "");
    this.render(index, data.error);
  }

  render(index, error) {
    const running = !FINAL.has(this.status);
    for (const li of $("#phases").children) {
      const phase = li.dataset.phase;
      const pct = Math.round(this.phasePct[phase]);
      const i = PHASES.indexOf(phase);
      let state = pct >= 100 ? "done" : "pending";
      if (i === index && running && pct < 100) state = "active";
      if (!running && this.status !== "COMPLETED" && i === index) state = this.status.toLowerCase();
      li.dataset.state = state;
      if (this.seen.has(phase)) li.dataset.seen = "true";
      li.querySelector("progress").value = pct;
      setText(li.querySelector(".phase-pct"), `${pct}%`);
    }
    $("#overall").value = Math.round(this.overall);
    setText($("#overall-pct"), `${Math.round(this.overall)}%`);
    const status = $("#progress-status");
    status.dataset.status = this.status;
    setText(status, STATUS_WORDS[this.status] || this.status);
    if (error) setText($("#progress-error"), error);
    $("#cancel").disabled = !running;
    show($("#cancel"), running);
  }

  startClock() {
    clearInterval(this.tick);
    const update = () => {
      const v = this.video;
      const start = Date.parse(v.created_at);
      const end = FINAL.has(this.status) ? Date.parse(v.completed_at || v.updated_at) || Date.now() : Date.now();
      setText($("#elapsed"), Number.isFinite(start) ? clock((end - start) / 1000) : "–");
    };
    update();
    this.tick = setInterval(update, 1000);
  }

  async cancel() {
    const video = this.video;
    if (!video || !video.id) return;
    $("#cancel").disabled = true;
    try {
      const after = await this.client.post(`videos/${encodeURIComponent(video.id)}/cancel`);
      this.apply({ status: after.status, phase: after.phase, percent: after.percent });
    } catch (err) {
      $("#cancel").disabled = false;
      this.onError(err);
    }
  }

  /** The video's record, kept as this.video; null (the error shown unless aborted) when it cannot be read. */
  async load(videoId, signal) {
    try {
      this.video = await this.client.get(`videos/${encodeURIComponent(videoId)}`, { signal });
      return this.video;
    } catch (err) {
      if (!signal.aborted) this.onError(err);
      return null;
    }
  }

  async finish(videoId, signal) {
    const video = await this.load(videoId, signal);
    if (!video) return;
    this.apply({ status: video.status, phase: video.phase, percent: video.percent, error: video.error });
    setText($("#elapsed"), clock((Date.parse(video.completed_at || video.updated_at) - Date.parse(video.created_at)) / 1000));
    if (video.status === "CANCELLED") {
      setText($("#progress-error"), video.token_cost ? `Cancelled: the ${video.token_cost} tokens held for it are back in your balance.` : "Cancelled.");
    } else if (video.status === "FAILED") {
      setText($("#progress-error"), `It failed: ${video.error || "no reason given"}. Its tokens are back in your balance.`);
    }
    if (video.status === "COMPLETED") {
      showPlayer(video);
      show($("#progress"), false); // the player says it all now
      $("#player-title").focus();
    }
    this.onFinal(video);
  }
}

function download(label, url, note) {
  return h("li", {}, h("a", { href: url, download: "", rel: "noopener" }, label), note ? h("span", { className: "muted" }, ` ${note}`) : null);
}

/** The finished video: player with captions, thumbnails, renditions and caption files to download. */
export function showPlayer(video) {
  const result = video.result;
  if (!result) return;
  const section = $("#player");
  setText($("#player-prompt"), video.request.prompt);
  const took = (Date.parse(video.completed_at) - Date.parse(video.created_at)) / 1000;
  const meta = [`${Math.round((result.duration_s || 0) * 10) / 10} s`, video.request.resolution, video.request.aspect,
    video.request.quality, Number.isFinite(took) ? `made in ${clock(took)}` : "", when(video.completed_at)];
  setText($("#player-meta"), meta.filter(Boolean).join(" · "));
  const player = h("video", { id: "video", controls: true, preload: "auto", playsInline: true,
    poster: result.poster || (result.thumbnails || [])[0] || "" },
    h("source", { src: result.video_url, type: "video/mp4" }));
  if (result.captions && result.captions.vtt) {
    // Captions are burned into the picture unless the request asked for none: then the track is on by default,
    // otherwise it is there to switch on (or for a screen reader) without doubling the text on screen.
    player.append(h("track", { kind: "captions", src: result.captions.vtt, srclang: video.request.language || "en",
      label: "Captions", default: video.request.caption_style === "none" }));
  }
  $("#player-frame").replaceChildren(player);
  $("#player-frame").dataset.aspect = video.request.aspect;

  $("#thumbs").replaceChildren(...(result.thumbnails || []).map((src, i) => h("li", {},
    h("button", { type: "button", className: "thumb", "aria-label": `Thumbnail ${i + 1}: show as the poster`,
      onclick: () => { player.poster = src; } }, h("img", { src, alt: "", loading: "lazy" })))));

  const items = [];
  for (const [name, url] of Object.entries(result.renditions || {})) items.push(download(`Video (${name.toUpperCase()})`, url, name === "h265" ? "smaller, not every browser plays it" : ""));
  if (!Object.keys(result.renditions || {}).length && result.video_url) items.push(download("Video (MP4)", result.video_url));
  for (const [name, url] of Object.entries(result.captions || {})) items.push(download(`Captions (.${name})`, url));
  (result.thumbnails || []).forEach((url, i) => items.push(download(`Thumbnail ${i + 1} (JPEG)`, url)));
  if (result.poster) items.push(download("Title card (JPEG)", result.poster));
  if (result.credits_url) items.push(download("Credits (text)", result.credits_url));
  $("#downloads").replaceChildren(...items);
  setText($("#links-expire"), result.urls_expire_at ? `Links work until ${when(result.urls_expire_at)}.` : "");
  show(section);
}
