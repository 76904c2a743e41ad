"""Web security in a real browser and over real HTTP: XSS, headers, CSRF, the operator token.

Headless Chromium (Playwright, ``/usr/bin/chromium``) against the real runner and real gunicorn.
Hostile names, titles, printed log lines, error messages and upload file names are put where
every page shows them; on each page the payload must appear as plain text while no script runs:
no dialog opens, the page's global flag stays unset, no injected element exists and the CSP
reports no violation (a violation would mean escaping failed and only the CSP saved us).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.slow]

TOKEN = "hardening-operator-token-0123456789"

NAME = "<img src=x onerror=alert(1)>"  # ≤ 40 characters
TITLE = "<script>alert(2)</script><svg onload=alert(3)>"
LOG_LINES = ["<script>alert(4)</script>", "</pre><img src=x onerror=alert(5)>"]
ERROR = "<img src=x onerror=alert(6)>"
HOSTILE = "\n".join(
    [f"print({line!r})" for line in LOG_LINES]
    + ["setLEDs([RED] * getLEDCount())", f"raise ValueError({ERROR!r})"]
)
LONG = "import time\nwhile True:\n    setLEDs([RED] * getLEDCount())\n    time.sleep(0.05)\n"
# Runs before any page script: catches every way a payload could run or be blocked.
WATCH = """
window.__xss = [];
window.alert = window.confirm = window.prompt = (m) => { window.__xss.push(String(m)); };
document.addEventListener('securitypolicyviolation', (e) => {
  window.__xss.push('csp:' + e.violatedDirective + ':' + e.blockedURI);
});
"""
# Data blocks (type=application/json) never run; any other inline script would be injected.
INJECTED = (
    "img[src='x'], svg[onload], [onerror], [onload], "
    "script:not([src]):not([type='application/json'])"
)


@pytest.fixture(scope="module")
def stack(load_sim: ModuleType) -> Iterator[Any]:
    """Real runner + gunicorn with operator controls on."""
    workdir = Path(tempfile.mkdtemp(prefix="ledtree-websec-", dir="/tmp"))
    env = {"TREE_ADMIN_TOKEN": TOKEN, "TREE_TIME_LIMIT": "4", "TREE_FPS": "40"}
    s = load_sim.Stack(workdir, {"TREE_SECRET_KEY": "websec-secret", **env})
    try:
        yield s.start()
    finally:
        s.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def page(browser: Any, stack: Any) -> Iterator[Any]:
    """A fresh browser profile (own cookie) with the XSS watch installed."""
    context = browser.new_context(base_url=stack.url)
    context.add_init_script(WATCH)
    p = context.new_page()
    p.goto("/docs")  # a person opens a page first: that hands the browser its own identity cookie
    dialogs: list[str] = []
    p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    p.dialogs = dialogs
    yield p
    context.close()


def assert_no_script_ran(page: Any, where: str) -> None:
    fired = page.evaluate("window.__xss") + page.dialogs
    assert fired == [], f"{where}: a payload ran or was only stopped by the CSP: {fired}"
    injected = page.eval_on_selector_all(INJECTED, "els => els.map(e => e.outerHTML)")
    assert injected == [], f"{where}: markup was injected: {injected}"


def api_submit(page: Any, source: str, name: str = NAME, title: str = TITLE) -> str:
    resp = page.request.post(
        "/api/submissions", data={"source": source, "name": name, "title": title}
    )
    assert resp.status == 201, resp.text()
    return str(resp.json()["id"])


def api_get(page: Any, sid: str) -> dict[str, Any]:
    return page.request.get(f"/api/submissions/{sid}").json()  # type: ignore[no-any-return]


def wait_status(page: Any, sid: str, statuses: set[str], timeout_ms: int = 60_000) -> None:
    for _ in range(timeout_ms // 100):
        if api_get(page, sid)["status"] in statuses:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{sid} never reached {statuses}")


def login(page: Any) -> None:
    page.goto("/admin")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def admin(page: Any, action: str) -> None:
    resp = page.request.post(f"/api/admin/{action}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status in (200, 409), resp.text()


def visit(page: Any, paths: tuple[str, ...], shown: str | None = None) -> None:
    """Open each page, let live updates render, and check that nothing ran."""
    for path in paths:
        page.goto(path)
        if shown is not None:
            page.get_by_text(shown).first.wait_for(timeout=10_000)
        page.wait_for_timeout(500)  # let the live updates (SSE) render too
        assert_no_script_ran(page, path)


def test_hostile_names_titles_logs_and_errors_never_run(page: Any, stack: Any) -> None:
    admin(page, "pause")  # keep both waiting while the pending lists are checked
    try:
        running = api_submit(page, LONG)
        hostile = api_submit(page, HOSTILE)
        visit(page, ("/queue", "/queue?kiosk=1"), shown=NAME)
        visit(page, ("/queue",), shown=TITLE)
        visit(page, ("/", "/tree"))
        login(page)
        visit(page, ("/admin",), shown=NAME)
    finally:
        admin(page, "resume")
    wait_status(page, running, {"running"})
    visit(page, ("/", "/queue"), shown=NAME)
    admin(page, "stop")
    wait_status(page, hostile, {"failed"})
    sub = api_get(page, hostile)
    assert ERROR in sub["error"]["message"] and LOG_LINES[0] in sub["log"]
    # Finished: the recent lists show them with status and reason.
    visit(page, ("/queue",), shown=NAME)
    visit(page, ("/", "/admin", f"/api/submissions/{hostile}"))


def type_program(page: Any, source: str) -> None:
    page.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(source)


def test_editor_shows_hostile_log_and_error_as_text(page: Any) -> None:
    page.goto("/editor")
    type_program(page, HOSTILE)
    page.click("#run-button")
    page.locator("#follow-status").filter(has_text="failed").wait_for(timeout=60_000)
    page.locator("#follow-log").filter(has_text=LOG_LINES[1]).wait_for(timeout=10_000)
    page.locator("#follow-error").filter(has_text=ERROR).wait_for(timeout=10_000)
    assert_no_script_ran(page, "/editor")
    page.reload()
    page.wait_for_timeout(500)
    assert_no_script_ran(page, "/editor (reloaded draft)")


def test_upload_with_hostile_file_names(page: Any) -> None:
    for filename in (f"{NAME}.py", f"{TITLE}.txt"):
        page.goto("/upload")
        page.set_input_files(
            "input[type=file]",
            files=[
                {"name": filename, "mimeType": "text/x-python", "buffer": b"setLEDs([RED] * 1)\n"}
            ],
        )
        page.click("#upload-button")
        page.wait_for_timeout(1000)
        assert_no_script_ran(page, f"/upload {filename!r}")


def fetch(stack: Any, path: str, method: str = "GET", **headers: str) -> tuple[int, Any, bytes]:
    req = urllib.request.Request(stack.url + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


@pytest.mark.parametrize(
    "path", ["/", "/editor", "/upload", "/queue", "/tree", "/docs", "/admin", "/api/queue"]
)
def test_security_headers(stack: Any, path: str) -> None:
    status, headers, _ = fetch(stack, path)
    assert status == 200
    csp = headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["frame-ancestors"] in (["'none'"], ["'self'"])
    script = directives.get("script-src", directives.get("default-src"))
    assert script and "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "*" not in script and "data:" not in script
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_api_answers_are_json_not_html(stack: Any) -> None:
    status, headers, body = fetch(stack, "/api/submissions/" + "0" * 32)
    assert status == 404 and headers["Content-Type"].startswith("application/json")
    json.loads(body)


def post_form(stack: Any, path: str, fields: dict[str, str], **headers: str) -> tuple[int, bytes]:
    data = urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(stack.url + path, data=data, method="POST", headers=headers)
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_form_posts_need_a_csrf_token(stack: Any) -> None:
    before = sorted(os.listdir(stack.uploads))
    source = {"source": "setLEDs([RED] * getLEDCount())\n", "name": "csrf"}
    for token in (None, "", "forged.token.value"):
        fields = dict(source, **({"csrf_token": token} if token is not None else {}))
        status, _ = post_form(stack, "/upload", fields)
        assert status in (400, 403), status
    assert sorted(os.listdir(stack.uploads)) == before
    assert post_form(stack, "/admin/login", {"token": TOKEN})[0] in (400, 403)
    assert post_form(stack, "/admin/stop", {})[0] in (400, 403)


def test_cross_site_api_writes_are_refused(page: Any, stack: Any) -> None:
    sid = api_submit(page, LONG, name="victim", title="victim")

    def stored() -> list[str]:  # ".tmp-*" files are state rewrites in flight (it starts running)
        return sorted(n for n in os.listdir(stack.uploads) if not n.startswith("."))

    before = stored()
    cookie = {c["name"]: c["value"] for c in page.context.cookies()}["tree_uid"]
    body = json.dumps({"source": "setLEDs([RED] * getLEDCount())\n"}).encode()
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        req = urllib.request.Request(
            stack.url + "/api/submissions", data=body, method="POST",
            headers={"Content-Type": "application/json", "Cookie": f"tree_uid={cookie}", **headers},
        )  # fmt: skip
        try:
            urllib.request.urlopen(req, timeout=10)
            raise AssertionError("cross-site POST accepted")
        except urllib.error.HTTPError as err:
            assert err.code == 403
        status, _, _ = fetch(
            stack, f"/api/submissions/{sid}", "DELETE", Cookie=f"tree_uid={cookie}", **headers
        )
        assert status == 403
    assert stored() == before
    assert api_get(page, sid)["status"] in {"pending", "running"}
    page.request.post("/api/admin/stop", headers={"Authorization": f"Bearer {TOKEN}"})


@pytest.mark.parametrize(
    "auth",
    [None, "", "Bearer", "Bearer ", f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x",
     f"Bearer {TOKEN.upper()}", "Bearer " + "a" * 10_000],
)  # fmt: skip
def test_operator_api_needs_the_token(stack: Any, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth is not None else {}
    for path, method in (("/api/admin/status", "GET"), ("/api/admin/pause", "POST")):
        status, _, body = fetch(stack, path, method, **headers)
        if status == 431:  # a 10 kB header: gunicorn refuses it before the app sees it
            continue
        assert status == 401, (auth, path, status)
        assert json.loads(body)["error"]["code"] == "unauthorized"
    status, _, _ = fetch(stack, "/api/admin/status", Authorization=f"Bearer {TOKEN}")
    assert status == 200


def test_admin_console_needs_login(page: Any) -> None:
    page.goto("/admin")
    assert page.locator("#token").count() == 1
    page.fill("#token", TOKEN + "wrong")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#token").count() == 1
    assert page.locator("#admin-blank").count() == 0
