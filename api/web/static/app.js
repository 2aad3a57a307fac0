// Nexus Video for people: sign in, ask for a video, watch it being made, play and download it.
// Only the public REST API is used; the token lives in sessionStorage (this tab) and never in a URL.

import { API, ApiError, Client, describeError } from "./api.js";
import { $, setText, show } from "./dom.js";
import { RequestForm, readSchema } from "./form.js";
import { Library, Tokens } from "./lists.js";
import { Watcher, showPlayer } from "./watch.js";

const client = new Client();

function alertError(err) {
  const text = describeError(err);
  if (!text) return;
  const box = $("#alert");
  setText(box, text);
  show(box);
}

function clearAlert() {
  setText($("#alert"), "");
  show($("#alert"), false);
}

const tokens = new Tokens(client, {
  onError: alertError,
  onLoaded: (data) => {
    setText($("#who"), `${data.user_id} · ${data.plan}`);
    setText($("#balance-chip"), `${data.balance} tokens`);
  },
});
const library = new Library(client, {
  onError: alertError,
  onOpen: (summary) => open(summary),
});
const watcher = new Watcher(client, {
  onError: alertError,
  onStatus: () => library.refresh(), // QUEUED -> PROCESSING shows in the list too
  onFinal: () => {
    tokens.refresh();
    library.refresh();
    form.scheduleEstimate();
  },
});
const form = new RequestForm($("#request-form"), client, {
  onError: alertError,
  onSubmitted: (accepted, body) => {
    clearAlert();
    show($("#player"), false);
    watcher.follow(accepted.id, { id: accepted.id, prompt: body.prompt, created_at: accepted.created_at });
    tokens.refresh();
    library.go(0);
  },
});

async function open(summary) {
  clearAlert();
  if (summary.status === "COMPLETED") {
    watcher.stop();
    show($("#progress"), false);
    try {
      const video = await client.get(`videos/${encodeURIComponent(summary.id)}`);
      showPlayer(video);
      $("#player-title").focus();
    } catch (err) {
      alertError(err);
    }
    return;
  }
  show($("#player"), false);
  watcher.follow(summary.id, summary);
}

function signedOut(message = "") {
  watcher.stop();
  client.setToken(null);
  show($("#progress"), false);
  show($("#player"), false);
  $("#player-frame").replaceChildren(); // nothing of the last person stays on the page
  $("#videos").replaceChildren();
  $("#ledger").replaceChildren();
  show($("#app"), false);
  show($("#account"), false);
  show($("#signin"));
  setText($("#signin-error"), message);
}

async function signedIn() {
  const data = await tokens.refresh();
  if (!data) return false;
  clearAlert();
  show($("#signin"), false);
  show($("#account"));
  show($("#app"));
  library.go(0);
  form.scheduleEstimate();
  $("#f-prompt").focus();
  return true;
}

async function signInWith(token) {
  client.setToken(token);
  try {
    await client.get("tokens?limit=1");
  } catch (err) {
    client.setToken(null);
    setText($("#signin-error"), err instanceof ApiError && err.status === 401
      ? `That token was refused: ${err.message}.` : describeError(err));
    return;
  }
  setText($("#signin-error"), "");
  $("#token-input").value = "";
  await signedIn();
}

async function main() {
  client.onUnauthorized = (err) => signedOut(`You are signed out: ${err.message}. Sign in again.`);
  $("#sign-out").addEventListener("click", () => signedOut());
  $("#token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("#token-input").value.trim().replace(/^Bearer\s+/i, "");
    if (token) signInWith(token);
  });
  $("#dev-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const minted = await client.post(`${API}/dev/sign-in`, {
        user_id: $("#dev-user").value.trim(), plan: $("#dev-plan").value,
      });
      await signInWith(minted.access_token);
    } catch (err) {
      const field = err instanceof ApiError && err.field === "user_id" ? "User name: " : "";
      setText($("#signin-error"), field + describeError(err));
    }
  });

  try {
    form.build(readSchema(await client.get(`${API}/openapi.json`)));
  } catch (err) {
    alertError(err);
    return;
  }
  try {
    await client.get(`${API}/dev/sign-in`);
    show($("#dev-form"));
  } catch {
    show($("#dev-form"), false); // not a local API: bearer tokens only
  }
  if (client.token && (await signedIn())) return;
  signedOut();
  ($("#dev-form").hidden ? $("#token-input") : $("#dev-user")).focus();
}

main();
