// The request form: its choices and limits come from the API's OpenAPI schema (VideoRequest); the cost,
// the plan check and the balance from POST /videos/estimate before anything is submitted.

import { ApiError, describeError } from "./api.js";
import { $, $$, h, plural, setText } from "./dom.js";

const LABELS = {
  quality: { STANDARD: "Standard", HD: "HD", ULTRA: "Ultra" },
  music_style: { ambient: "Ambient", upbeat: "Upbeat", cinematic: "Cinematic", none: "No music" },
  caption_style: { phrase: "Phrases", karaoke: "Karaoke (word by word)", none: "No captions" },
  aspect: { "16:9": "Landscape 16:9", "9:16": "Portrait 9:16", "1:1": "Square 1:1" },
  language: {
    en: "English", fr: "French", es: "Spanish", de: "German", it: "Italian", pt: "Portuguese", el: "Greek",
    ru: "Russian", zh: "Chinese", ja: "Japanese", ar: "Arabic", hi: "Hindi",
  },
};
const FALLBACK_PROMPT_MAX = 2000;

function resolve(schema, node) {
  if (node && node.$ref) return resolve(schema, node.$ref.split("/").slice(1).reduce((o, k) => o[k], schema));
  if (node && Array.isArray(node.allOf) && node.allOf.length === 1) return resolve(schema, node.allOf[0]);
  return node || {};
}

/** The limits and choices of VideoRequest from the OpenAPI document. */
export function readSchema(openapi) {
  const request = openapi.components.schemas.VideoRequest;
  const prop = (name) => ({ ...resolve(openapi, request.properties[name]), default: request.properties[name].default });
  const prompt = prop("prompt");
  const described = /(\d+)\s*-\s*(\d+)\s*characters/.exec(prompt.description || "");
  return {
    promptMin: prompt.minLength ?? (described ? Number(described[1]) : 1),
    promptMax: prompt.maxLength ?? (described ? Number(described[2]) : FALLBACK_PROMPT_MAX),
    duration: prop("duration_seconds"),
    voice: prop("voice"),
    enums: Object.fromEntries(
      ["quality", "resolution", "aspect", "music_style", "language", "caption_style", "frame_rate"].map((name) => {
        const p = prop(name);
        return [name, { values: p.enum || [], default: p.default }];
      }),
    ),
  };
}

/** (width, height) of a frame: the resolution is the short side (as nexus_core.models.frame_size). */
export function frameSize(resolution, aspect) {
  const short = parseInt(resolution, 10) || 720;
  if (aspect === "1:1") return [short, short];
  const long = Math.max(2, Math.round((short * 16) / 9 / 2) * 2);
  return aspect === "9:16" ? [short, long] : [long, short];
}

export class RequestForm {
  constructor(root, client, { onSubmitted, onError }) {
    this.root = root;
    this.client = client;
    this.onSubmitted = onSubmitted;
    this.onError = onError;
    this.touched = new Set();
    this.timer = null;
    this.estimating = null;
    this.idempotencyKey = null;
    this.lastEstimate = null;
  }

  build(limits) {
    this.limits = limits;
    const form = this.root;
    const fill = (name) => {
      const select = form.elements[name];
      const { values, default: chosen } = limits.enums[name];
      select.replaceChildren(
        ...values.map((v) => h("option", { value: v, selected: v === chosen }, (LABELS[name] || {})[v] || v)),
      );
    };
    ["quality", "resolution", "music_style", "caption_style", "frame_rate"].forEach(fill);
    const language = form.elements.language;
    language.replaceChildren(
      h("option", { value: "" }, "Auto-detect"),
      ...limits.enums.language.values.map((v) => h("option", { value: v }, `${LABELS.language[v] || v} (${v})`)),
    );
    const prompt = form.elements.prompt;
    prompt.maxLength = limits.promptMax;
    const duration = form.elements.duration_seconds;
    duration.min = limits.duration.minimum ?? 5;
    duration.max = limits.duration.maximum ?? 600;
    duration.value = limits.duration.default ?? 30;
    setText($("#duration-range"), `${duration.min}–${duration.max} s`);
    const voice = form.elements.voice;
    voice.value = limits.voice.default || "default";
    if (limits.voice.maxLength) voice.maxLength = limits.voice.maxLength;

    const aspects = $("#aspects");
    aspects.replaceChildren(
      ...limits.enums.aspect.values.map((v) => {
        const id = `aspect-${v.replace(":", "-")}`;
        return h("label", { className: "aspect-option", htmlFor: id },
          h("input", { type: "radio", name: "aspect", id, value: v, checked: v === limits.enums.aspect.default }),
          h("span", { className: `shape shape-${v.replace(":", "-")}`, "aria-hidden": "true" }),
          h("span", {}, LABELS.aspect[v] || v));
      }),
    );

    form.addEventListener("input", (e) => this.changed(e));
    form.addEventListener("change", (e) => this.changed(e));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    this.updateCount();
    this.updatePreview();
  }

  changed(event) {
    if (event.target && event.target.name) this.touched.add(event.target.name);
    this.idempotencyKey = null; // a changed request is a new request
    this.updateCount();
    this.updatePreview();
    this.scheduleEstimate();
  }

  body() {
    const f = this.root.elements;
    const body = {
      prompt: f.prompt.value,
      duration_seconds: f.duration_seconds.value === "" ? null : Number(f.duration_seconds.value),
      aspect: f.aspect.value,
      resolution: f.resolution.value,
      quality: f.quality.value,
      music_style: f.music_style.value,
      voice: f.voice.value,
      caption_style: f.caption_style.value,
      frame_rate: Number(f.frame_rate.value),
    };
    if (f.language.value) body.language = f.language.value;
    return body;
  }

  updateCount() {
    const count = [...this.root.elements.prompt.value].length;
    const el = $("#prompt-count");
    setText(el, `${count} / ${this.limits.promptMax}`);
    el.classList.toggle("over", count > this.limits.promptMax);
  }

  updatePreview() {
    const f = this.root.elements;
    const [w, hgt] = frameSize(f.resolution.value, f.aspect.value);
    const frame = $("#frame-preview");
    frame.dataset.aspect = f.aspect.value;
    setText($("#frame-size"), `${w} × ${hgt} px`);
  }

  clearErrors() {
    $$("[data-error-for]", this.root).forEach((el) => setText(el, ""));
    $$("[aria-invalid]", this.root).forEach((el) => el.removeAttribute("aria-invalid"));
  }

  /** Puts each message next to its field (the form's general slot when the field is not on the form). */
  showFieldErrors(pairs, { onlyTouched = false } = {}) {
    for (const [field, message] of pairs) {
      const name = field.split(".")[0];
      if (onlyTouched && !this.touched.has(name)) continue;
      const slot = $(`[data-error-for="${CSS.escape(name)}"]`, this.root) || $('[data-error-for="body"]', this.root);
      setText(slot, slot.textContent ? `${slot.textContent} ${message}` : message);
      const input = this.root.elements[name];
      if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
    }
  }

  scheduleEstimate() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.estimate(), 250);
  }

  async estimate() {
    if (this.estimating) this.estimating.abort();
    const controller = new AbortController();
    this.estimating = controller;
    const box = $("#estimate");
    box.dataset.state = "busy";
    try {
      const est = await this.client.post("videos/estimate", this.body(), { signal: controller.signal });
      if (controller.signal.aborted) return;
      this.lastEstimate = est;
      this.clearErrors();
      this.renderEstimate(est);
      this.showFieldErrors(est.plan.violations.map((v) => [v.field, v.message]));
    } catch (err) {
      if (controller.signal.aborted || (err && err.name === "AbortError")) return;
      this.lastEstimate = null;
      this.clearErrors();
      box.dataset.state = "error";
      setText($("#est-cost"), "–");
      setText($("#est-after"), "");
      setText($("#est-time"), "");
      if (err instanceof ApiError && err.status === 422) {
        setText($("#est-note"), "The cost shows once the form is valid.");
        this.showFieldErrors(err.fieldErrors(), { onlyTouched: true });
      } else {
        setText($("#est-note"), describeError(err));
      }
    }
  }

  renderEstimate(est) {
    const box = $("#estimate");
    setText($("#est-cost"), plural(est.token_cost, "token"));
    setText($("#est-balance"), String(est.balance));
    setText($("#est-after"), est.enough_tokens ? `→ ${est.balance - est.token_cost} after this video` : "");
    const secs = Math.round(est.generation.expected_s);
    const ahead = est.generation.queue_ahead;
    setText($("#est-time"),
      `Ready in about ${secs < 90 ? `${secs} s` : `${Math.round(secs / 60)} min`}` +
      (ahead ? ` after the ${plural(ahead, "video")} queued ahead` : ""));
    let note = "";
    let state = "ok";
    if (!est.plan.allowed) {
      state = "error";
      note = `Your ${est.plan.name} plan does not allow this request (see the marked fields).`;
    } else if (!est.enough_tokens) {
      state = "error";
      note = `Not enough tokens: this video costs ${est.token_cost} tokens and your balance is ${est.balance}.`;
    }
    setText($("#est-note"), note);
    box.dataset.state = state;
  }

  async submit() {
    const button = $("#submit");
    ["prompt", "duration_seconds", "voice"].forEach((n) => this.touched.add(n));
    this.clearErrors();
    button.disabled = true;
    setText($("#submit-status"), "Sending…");
    this.idempotencyKey = this.idempotencyKey || crypto.randomUUID();
    try {
      const accepted = await this.client.post("videos/generate", this.body(), {
        headers: { "Idempotency-Key": this.idempotencyKey },
      });
      this.idempotencyKey = null;
      setText($("#submit-status"), "");
      this.onSubmitted(accepted, this.body());
    } catch (err) {
      setText($("#submit-status"), "");
      if (err instanceof ApiError) {
        this.idempotencyKey = null; // answered: a retry is a new request (a network error keeps the key)
        this.showFieldErrors(err.fieldErrors());
      }
      if (err instanceof ApiError && err.status === 401) {
        this.onError(err);
        return;
      }
      const text = describeError(err);
      const slot = $("#form-error");
      if (!(err instanceof ApiError && err.status === 422) || !err.fieldErrors().length) setText(slot, text);
      if ($("#est-note").textContent === text) setText($("#est-note"), ""); // said once, by the API's answer
      const invalid = $("[aria-invalid]", this.root);
      if (invalid) invalid.focus();
    } finally {
      button.disabled = false;
    }
  }
}
