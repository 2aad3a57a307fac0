"""The web page at / in a real browser (Debian's headless Chromium driven by Playwright) against the API on
loopback with the local pipeline: sign in, ask for a 5 s 360p video, watch its six phases, play it, cancel a
second one and get the tokens back, a prompt with <script> shown as text, a phone-sized screen.

Screenshots of each step go to $NEXUS_TEST_ARTIFACTS/web (default tests/.artifacts/web)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.support import API, SHORT, ApiServer, Keys, make_settings, new_user
from tests.browser import chromium, screenshots

pytestmark = pytest.mark.slow
PHASES = ["script", "assets", "compositing", "rendering", "encoding", "finalization"]
XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> Robots dancing at night'

# Records every change of the phase rows (state and percent) in the page, so no short phase is missed.
OBSERVE_PHASES = """() => {
  window.__phaseLog = [];
  const record = () => {
    for (const li of document.querySelectorAll('#phases li')) {
      window.__phaseLog.push([li.dataset.phase, li.dataset.state, Number(li.querySelector('progress').value),
                              Number(document.querySelector('#overall').value)]);
    }
  };
  new MutationObserver(record).observe(document.querySelector('#progress'),
                                       {subtree: true, attributes: true, childList: true, characterData: true});
}"""


PAGE_STATE = """() => ({
  status: document.querySelector('#progress-status').dataset.status,
  progressError: document.querySelector('#progress-error').textContent,
  alert: document.querySelector('#alert').textContent,
  formError: document.querySelector('#form-error').textContent,
  cues: (() => { const v = document.querySelector('#video'); const t = v && v.textTracks[0];
                 return t && t.cues ? [...t.cues].map(c => [c.startTime, c.endTime, c.text]) : null; })(),
  phaseLog: (window.__phaseLog || []).slice(-12),
})"""


@pytest.fixture(scope="module")
def playwright_browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def local_api(
    serve: Callable[..., ApiServer], new_postgres_database: Callable[[], str], keys: Keys,
    tmp_path_factory: pytest.TempPathFactory,
) -> ApiServer:
    """A local API as `nexus api` runs it: the dev key pair (dev sign-in on), the subprocess pipeline."""
    home = tmp_path_factory.mktemp("web-home")
    settings = make_settings(home, new_postgres_database(), keys, dispatcher="subprocess", cancel_grace_s=5.0,
                             jwt_public_key_file=None, dev_keys=True)
    assert settings.core.environment == "local"
    return serve(settings)


@pytest.fixture(scope="module")
def shots() -> Path:
    return screenshots("web")


def _text(page: Any, selector: str) -> str:
    return str(page.locator(selector).text_content() or "").strip()


def test_page_is_served_with_a_strict_content_security_policy(pg_api: ApiServer) -> None:
    with pg_api.client() as client:
        page = client.get("/")
        script = client.get("/web/app.js")
        assert client.get("/web/__init__.py").status_code == 404  # only the static folder is served
        dev = client.get(f"{API}/dev/sign-in")  # this API trusts a configured key: no dev sign-in
        minted = client.post(f"{API}/dev/sign-in", json={"user_id": "mallory", "plan": "VIP"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert '<script type="module" src="web/app.js">' in page.text
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert dev.status_code == 404 and minted.status_code == 404


def test_dev_sign_in_mints_a_token_the_local_api_trusts(local_api: ApiServer) -> None:
    with local_api.client() as client:
        assert client.get(f"{API}/dev/sign-in").json()["available"] is True
        bad = client.post(f"{API}/dev/sign-in", json={"user_id": "no spaces please"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "user_id"
        minted = client.post(f"{API}/dev/sign-in", json={"user_id": "carol", "plan": "PREMIUM"}).json()
    with local_api.client(minted["access_token"]) as client:
        tokens = client.get(f"{API}/tokens").json()
    assert (tokens["user_id"], tokens["plan"]) == ("carol", "PREMIUM")


def test_a_person_makes_watches_plays_and_cancels_videos_in_a_browser(
    local_api: ApiServer, playwright_browser: Any, shots: Path
) -> None:
    context = playwright_browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_default_timeout(20_000)
    try:
        _sign_in_with_the_keyboard(page, local_api, shots)
        _fill_the_form_and_see_the_cost(page, shots)
        video = _submit_and_watch_the_six_phases(page, local_api, shots)
        _play_the_result(page, video, shots)
        _cancel_a_second_video_and_get_the_tokens_back(page, shots)
        _phone_sized_screen(page, shots)
    except Exception:
        page.screenshot(path=shots / "failure.png", full_page=True)
        print("page state at the failure:", page.evaluate(PAGE_STATE))
        raise
    finally:
        context.close()
    # The only console errors allowed are the refused requests the test provoked (402, 422).
    unexpected = [e for e in errors if "402" not in e and "422" not in e]
    assert not unexpected, unexpected


def _sign_in_with_the_keyboard(page: Any, api: ApiServer, shots: Path) -> None:
    page.goto(api.base_url + "/")
    page.wait_for_selector("#dev-form:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "dev-user"  # focus starts on the user name
    page.screenshot(path=shots / "01-sign-in.png")
    page.keyboard.type(new_user("web"))
    page.keyboard.press("Enter")
    page.wait_for_selector("#app:not([hidden])")
    page.wait_for_function("() => document.querySelector('#balance-chip').textContent.includes('100 tokens')")
    assert "nexus.token" in page.evaluate("Object.keys(sessionStorage)")
    assert "eyJ" not in page.url  # the token is never in a URL


def _fill_the_form_and_see_the_cost(page: Any, shots: Path) -> None:
    page.keyboard.type("A quiet park in autumn")  # the prompt has the focus after signing in
    assert _text(page, "#prompt-count") == "22 / 2000"
    page.fill("#f-duration", "3")  # below the schema's minimum: the field's own message, next to it
    page.wait_for_function("() => document.querySelector('#duration-error').textContent"
                           ".includes('greater than or equal to 5')")
    assert page.get_attribute("#f-duration", "aria-invalid") == "true"
    page.fill("#f-duration", "120")
    page.select_option("#f-resolution", "1080p")
    page.select_option("#f-quality", "HD")  # 270 tokens on a 100-token FREE balance
    page.wait_for_function("() => document.querySelector('#est-cost').textContent === '270 tokens'")
    assert "costs 270 tokens and your balance is 100" in _text(page, "#est-note")
    page.click("#submit")  # the API's 402, in words next to the button
    page.wait_for_function("() => document.querySelector('#form-error').textContent !== ''")
    assert _text(page, "#form-error") == "Not enough tokens: this video costs 270 tokens and your balance is 100."
    page.screenshot(path=shots / "02-not-enough-tokens.png")

    page.fill("#f-duration", "5")
    page.select_option("#f-resolution", "360p")
    page.select_option("#f-quality", "STANDARD")
    page.select_option("#f-music", "none")
    page.check("#aspect-9-16")
    assert _text(page, "#frame-size") == "360 × 640 px"
    page.check("#aspect-16-9")
    page.wait_for_function("() => document.querySelector('#est-cost').textContent === '3 tokens'")
    assert _text(page, "#est-balance") == "100" and "97 after" in _text(page, "#est-after")
    assert _text(page, "#duration-error") == ""
    assert "Ready in about" in _text(page, "#est-time")
    # Errors in words for what the test cannot provoke cheaply: a rate limit's wait.
    words = page.evaluate("""async () => {
        const m = await import('/web/api.js');
        const limited = new m.ApiError(429, {error: {code: 'rate_limited', message: 'too many'}},
                                       new Headers({'Retry-After': '7'}));
        return m.describeError(limited);
    }""")
    assert words == "Too many requests. Try again in 7 s."
    page.screenshot(path=shots / "03-form-with-cost.png")


def _submit_and_watch_the_six_phases(page: Any, api: ApiServer, shots: Path) -> dict[str, Any]:
    page.evaluate(OBSERVE_PHASES)
    page.focus("#submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("#progress:not([hidden])")
    # A loaded 2-core machine may take a while to start the pipeline's process.
    page.wait_for_function("() => document.querySelector('#overall').value > 0", timeout=120_000)
    page.screenshot(path=shots / "04-progress.png")
    page.wait_for_function("() => document.querySelector('#progress-status').dataset.status === 'COMPLETED'",
                           timeout=180_000)
    log: list[list[Any]] = page.evaluate("window.__phaseLog")
    states = {phase: [row[1] for row in log if row[0] == phase] for phase in PHASES}
    active = [phase for phase in PHASES if "active" in states[phase]]
    overall = [row[3] for row in log]
    print(f"phases seen running: {active}; progress rows recorded: {len(log)}")
    assert len(active) >= 3, f"too few phases seen running: {active}"
    assert [p for p in PHASES if p in active] == active
    assert overall == sorted(overall), "the overall percent went backwards"
    for li in page.locator("#phases li").all():
        assert li.get_attribute("data-state") == "done"
        assert li.locator("progress").evaluate("p => p.value") == 100
    assert _text(page, "#overall-pct") == "100%"
    assert _text(page, "#elapsed") not in ("", "0:00")
    assert page.locator("#cancel").is_hidden()
    video_id = page.locator("#videos li").first.get_attribute("data-id")
    with api.client() as client:
        token = page.evaluate("sessionStorage.getItem('nexus.token')")
        auth = {"Authorization": f"Bearer {token}"}
        video: dict[str, Any] = client.get(f"{API}/videos/{video_id}", headers=auth).json()
    assert video["status"] == "COMPLETED"
    return video


def _play_the_result(page: Any, video: dict[str, Any], shots: Path) -> None:
    page.wait_for_selector("#player:not([hidden]) video")
    page.evaluate("() => { const v = document.querySelector('#video'); v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('#video').readyState === 4", timeout=30_000)
    page.wait_for_function("() => document.querySelector('#video').currentTime > 0.3", timeout=15_000)
    duration = page.evaluate("document.querySelector('#video').duration")
    assert abs(duration - 5.0) <= 0.5 and abs(duration - video["result"]["duration_s"]) <= 0.5
    page.evaluate("document.querySelector('#video').textTracks[0].mode = 'hidden'")  # burned in: off by default
    page.wait_for_function("() => { const t = document.querySelector('#video').textTracks[0];"
                           " return t.cues && t.cues.length > 0; }")
    assert page.locator("#video track").get_attribute("kind") == "captions"
    page.wait_for_function("() => [...document.querySelectorAll('#thumbs img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator("#thumbs img").count() == len(video["result"]["thumbnails"]) >= 1
    links = {a.text_content(): a.get_attribute("href") for a in page.locator("#downloads a").all()}
    assert {"Video (H264)", "Captions (.vtt)", "Captions (.srt)"} <= set(links), links
    with httpx.Client(timeout=30) as anonymous:  # the links are signed: they work without the token
        vtt = anonymous.get(links["Captions (.vtt)"])
        assert vtt.status_code == 200 and vtt.text.startswith("WEBVTT")
        assert anonymous.head(links["Video (H264)"]).status_code in (200, 405)
    page.evaluate("() => { const v = document.querySelector('#video'); const cue = v.textTracks[0].cues[0];"
                  " v.pause(); v.currentTime = (cue.startTime + cue.endTime) / 2; }")  # inside the first caption
    page.wait_for_function("() => document.querySelector('#video').seeking === false")
    page.wait_for_function("() => document.querySelector('#video').textTracks[0].activeCues.length > 0")
    page.wait_for_timeout(300)
    page.locator("#player").screenshot(path=shots / "05-player.png")
    page.screenshot(path=shots / "05-page-with-player.png", full_page=True)


def _cancel_a_second_video_and_get_the_tokens_back(page: Any, shots: Path) -> None:
    before = int(_text(page, "#tok-balance"))
    page.fill("#f-prompt", XSS)
    page.fill("#f-duration", "40")  # 20 tokens at 360p STANDARD; long enough to still be running
    page.wait_for_function("() => document.querySelector('#est-cost').textContent === '20 tokens'")
    page.click("#submit")
    page.wait_for_selector("#cancel:not([hidden])")
    page.wait_for_function(f"() => document.querySelector('#tok-balance').textContent === '{before - 20}'")
    assert _text(page, "#progress-prompt") == XSS  # the prompt is text, never markup
    page.wait_for_function("() => document.querySelector('#progress-status').dataset.status === 'PROCESSING'",
                           timeout=120_000)  # cancel it while the pipeline is running
    page.focus("#cancel")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#progress-status').dataset.status === 'CANCELLED'")
    page.wait_for_function(f"() => document.querySelector('#tok-balance').textContent === '{before}'")
    assert "20 tokens held for it are back" in _text(page, "#progress-error")
    page.wait_for_function("() => document.querySelector('#ledger tr')?.dataset.kind === 'release'")
    assert _text(page, "#ledger tr:first-child td:nth-child(3)") == "+20"
    page.wait_for_function("() => document.querySelector('#videos li .badge')?.dataset.status === 'CANCELLED'")
    assert _text(page, "#videos li:first-child .video-prompt") == XSS
    assert page.evaluate("window.__pwned") is None
    page.wait_for_function(f"() => document.querySelector('#est-balance').textContent === '{before}'")  # re-priced
    assert page.locator("main script, main img[src='x']").count() == 0
    page.screenshot(path=shots / "06-cancelled-and-prompt-as-text.png", full_page=True)


def _phone_sized_screen(page: Any, shots: Path) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate("window.scrollTo(0, 0)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways on a phone"
    page.screenshot(path=shots / "07-phone-390x844-top.png")
    page.locator("#videos li button").nth(1).focus()  # open the finished video from the list, by keyboard
    page.keyboard.press("Enter")
    page.wait_for_selector("#player:not([hidden]) video")
    page.wait_for_function("() => document.activeElement.id === 'player-title'")
    top = page.evaluate("document.querySelector('#player-title').getBoundingClientRect().top")
    assert 0 <= top < 844, "the opened video is not on screen"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways on a phone"
    page.screenshot(path=shots / "07-phone-390x844-player.png")
    page.screenshot(path=shots / "08-phone-390x844-full.png", full_page=True)


def test_bearer_token_sign_in_and_paging_newest_first(pg_api: ApiServer, playwright_browser: Any, shots: Path) -> None:
    """On an API that trusts a configured key (no dev sign-in): a pasted token, then seven videos in pages of five."""
    user = new_user("pages")
    token = pg_api.keys.token(user, plan="PREMIUM")
    with pg_api.client(token) as client:  # queued only: this API's dispatcher runs nothing
        prompts = [f"Video number {i}" for i in range(7)]
        for prompt in prompts:
            assert client.post(f"{API}/videos/generate", json={**SHORT, "prompt": prompt}).status_code == 202
    context = playwright_browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(pg_api.base_url + "/")
        page.wait_for_function("() => document.activeElement.id === 'token-input'")
        assert page.locator("#dev-form").is_hidden()
        page.keyboard.type("not-a-token")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelector('#signin-error').textContent !== ''")
        assert _text(page, "#signin-error").startswith("That token was refused")
        page.fill("#token-input", token)
        page.keyboard.press("Enter")
        page.wait_for_selector("#app:not([hidden])")
        assert _text(page, "#who") == f"{user} · PREMIUM"
        page.wait_for_function("() => document.querySelectorAll('#videos li[data-id]').length === 5")
        first_page = [p.text_content() for p in page.locator("#videos .video-prompt").all()]
        assert first_page == prompts[::-1][:5]  # newest first
        assert page.locator("#newer").is_disabled()
        page.click("#older")
        page.wait_for_function("() => document.querySelectorAll('#videos li[data-id]').length === 2")
        assert [p.text_content() for p in page.locator("#videos .video-prompt").all()] == prompts[::-1][5:]
        assert page.locator("#older").is_disabled() and _text(page, "#page-no") == "Page 2"
        page.screenshot(path=shots / "09-bearer-sign-in-page-2.png")
        page.click("#newer")
        page.wait_for_function("() => document.querySelector('#page-no').textContent === 'Page 1'")
        assert page.locator("#videos .video-prompt").first.text_content() == prompts[-1]
        page.reload()  # the token survives a reload of the tab (sessionStorage), and is in no URL
        page.wait_for_selector("#app:not([hidden])")
        assert token not in page.url
        page.click("#sign-out")
        assert page.evaluate("sessionStorage.getItem('nexus.token')") is None
        page.wait_for_selector("#signin:not([hidden])")
    finally:
        context.close()
