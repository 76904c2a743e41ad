"""The HTML pages through the Flask test client (SPEC §4 pages; issue 3 part 5).

Uses the web fixtures of ``conftest.py``: ``app`` (runner offline, threads not started),
``client``, ``editor`` (JSON API helper), ``make_browser`` (another person) and ``runner``.
"""

from __future__ import annotations

import io
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

REPO = Path(__file__).resolve().parents[2]
PAGES = ["/", "/editor", "/upload", "/queue", "/queue?kiosk=1", "/tree", "/docs", "/admin"]
TOKEN = "operator-secret"
EVIL = '<img src=x onerror="alert(1)">'


class _Tags(HTMLParser):
    """Collects every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Parse a page into (tag, attributes) pairs."""
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def csrf_of(client: FlaskClient, path: str) -> str:
    """The CSRF token a page hands its forms."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no csrf_token field on {path}"
    return match.group(1)


@pytest.fixture
def pages_app(app: Flask, tmp_path: Path) -> Flask:
    """The app with its own example programs, docs file and operator token."""
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "rainbow.py").write_text('"""Rainbow swirl."""\nsetLEDs([RED] * getLEDCount())\n')
    (examples / "fire.py").write_text("# Fire and ice.\nsetLEDs([ORANGE] * getLEDCount())\n")
    (examples / "sneaky.py").write_text("print('</script><script>alert(1)</script>')\n")
    docs = tmp_path / "README.md"
    docs.write_text(
        "# Program API\n\nCall `setLEDs`.\n\n```python\nsetLEDs([RED] * getLEDCount())\n```\n\n"
        "<script>alert('docs')</script>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    app.config.update(EXAMPLES_DIR=str(examples), DOCS_FILE=str(docs), ADMIN_TOKEN=TOKEN)
    return app


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders(pages_app: Flask, client: FlaskClient, path: str) -> None:
    """Each page answers 200 HTML with the site navigation."""
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert 'href="/editor"' in response.get_data(as_text=True) or "kiosk" in path


@pytest.mark.parametrize("path", PAGES)
def test_cant_run_inline_script(pages_app: Flask, client: FlaskClient, path: str) -> None:
    """No inline <script> and no on*= handler attributes anywhere (the CSP forbids them)."""
    for tag, attrs in tags_of(client.get(path).get_data(as_text=True)):
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "script":
            assert attrs.get("src") or attrs.get("type") == "application/json", attrs


@pytest.mark.parametrize("path", PAGES)
def test_cant_load_third_party_assets(pages_app: Flask, client: FlaskClient, path: str) -> None:
    """Every script, stylesheet and icon is served by us, and each of them exists."""
    for tag, attrs in tags_of(client.get(path).get_data(as_text=True)):
        url = attrs.get("src") if tag == "script" else attrs.get("href") if tag == "link" else None
        if not url:
            continue
        assert url.startswith("/") and not url.startswith("//"), url
        with client.get(url) as response:  # closes the static file handle
            assert response.status_code == 200, f"{url} is missing (npm run build?)"


def test_editor_offers_the_examples(pages_app: Flask, client: FlaskClient) -> None:
    """The picker lists each example by its docstring title; ?example= preloads its source."""
    html = client.get("/editor").get_data(as_text=True)
    assert '<option value="rainbow">Rainbow swirl</option>' in html
    assert '<option value="fire">Fire and ice</option>' in html
    assert '<option value="sneaky">Sneaky</option>' in html
    chosen = client.get("/editor?example=rainbow").get_data(as_text=True)
    assert "setLEDs([RED] * getLEDCount())\n</textarea>" in chosen
    assert '<option value="rainbow" selected>' in chosen


def test_cant_break_out_of_the_examples_json(pages_app: Flask, client: FlaskClient) -> None:
    """An example containing </script> stays inside the JSON data block."""
    html = client.get("/editor").get_data(as_text=True)
    assert "</script><script>alert(1)" not in html
    scripts = [a for t, a in tags_of(html) if t == "script"]
    assert sum(1 for a in scripts if a.get("type") == "application/json") == 1


def test_default_examples_are_the_runners(app: Flask, client: FlaskClient) -> None:
    """Without EXAMPLES_DIR the editor offers every file in runner/examples."""
    assert Path(app.config["EXAMPLES_DIR"]) == REPO / "runner" / "examples"
    html = client.get("/editor").get_data(as_text=True)
    for path in (REPO / "runner" / "examples").glob("*.py"):
        assert f'<option value="{path.stem}"' in html


def test_docs_render_the_markdown(pages_app: Flask, client: FlaskClient) -> None:
    """/docs shows the README as HTML: headings, highlighted-ready code, tables; raw HTML inert."""
    html = client.get("/docs").get_data(as_text=True)
    assert "<h1>Program API</h1>" in html
    assert '<code class="language-python">setLEDs([RED] * getLEDCount())' in html
    assert "<table>" in html
    assert "<script>alert('docs')</script>" not in html
    assert "&lt;script&gt;alert" in html
    assert 'href="/editor?example=rainbow"' in html


def test_docs_without_the_readme(pages_app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    """A missing README still gives a page, not an error."""
    pages_app.config["DOCS_FILE"] = str(tmp_path / "missing.md")
    response = client.get("/docs")
    assert response.status_code == 200
    assert "not available" in response.get_data(as_text=True)


def test_cant_inject_html_through_name_or_title(pages_app: Flask, client: Any, editor: Any) -> None:
    """Names and titles are escaped on every page that shows them."""
    assert editor.submit("setLEDs([RED] * getLEDCount())", name=EVIL, title=EVIL).status_code == 201
    for path in ["/", "/queue", "/queue?kiosk=1"]:
        html = client.get(path).get_data(as_text=True)
        assert EVIL not in html
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html


def test_queue_lists_pending_with_position_and_eta(
    pages_app: Flask, client: Any, editor: Any, runner: Any
) -> None:
    """Pending submissions appear in order with #position and an ETA while the tree is up."""
    for title in ["first", "second"]:
        editor.submit("setLEDs([RED] * getLEDCount())", title=title)
    html = client.get("/queue").get_data(as_text=True)
    assert html.index("first") < html.index("second")
    assert "#1" in html and "#2" in html
    # Nothing runs yet (the dispatcher is not started): #1 next, #2 after one full time limit.
    assert "in ~0 s" in html and "in ~45 s" in html
    assert "waits for the tree" not in html


@pytest.mark.parametrize("path", ["/queue", "/"])
def test_pending_rows_wait_for_the_tree_instead_of_an_eta(
    pages_app: Flask, client: Any, editor: Any, scheduler: Any, welcome_for: Any, path: str
) -> None:
    """Offline or paused, rows say "waits for the tree", never "in ~0 s"; the API keeps its ETA."""
    for title in ["first", "second"]:
        editor.submit("setLEDs([RED] * getLEDCount())", title=title)
    offline = client.get(path).get_data(as_text=True)  # no runner has said hello
    assert offline.count('<span class="sub-eta">waits for the tree</span>') == 2
    assert "in ~" not in offline
    etas = [sub["eta_seconds"] for sub in client.get("/api/queue").get_json()["pending"]]
    assert etas == [0, 45]  # SPEC §3 unchanged: only the display changes
    scheduler.state.paused = True
    scheduler.events.on_runner_online(welcome_for())  # online, but paused by the operator
    paused = client.get(path).get_data(as_text=True)
    assert paused.count("waits for the tree") == 2 and "in ~" not in paused
    scheduler.operator.resume()
    running = client.get(path).get_data(as_text=True)
    assert "waits for the tree" not in running and "in ~0 s" in running


def test_queue_says_why_pending_programs_wait(
    pages_app: Flask, client: Any, editor: Any, scheduler: Any, welcome_for: Any
) -> None:
    """Each pending row shows its status, and the queue says when it is offline or paused."""
    editor.submit("setLEDs([RED] * getLEDCount())", title="waiting one")
    html = client.get("/queue").get_data(as_text=True)
    assert '<span class="badge status-pending">pending</span>' in html
    assert "Tree offline: the queue waits until it is back." in html
    scheduler.state.paused = True
    scheduler.events.on_runner_online(welcome_for())  # online, but paused by the operator
    html = client.get("/queue").get_data(as_text=True)
    assert "The queue is paused by the operator." in html and "Tree offline" not in html
    scheduler.operator.resume()
    html = client.get("/queue").get_data(as_text=True)
    assert '<p class="queue-note" id="queue-note" hidden></p>' in html


def test_own_submissions_are_highlighted_with_cancel(
    pages_app: Flask, client: FlaskClient, editor: Any, make_browser: Any
) -> None:
    """The author sees their row marked with Cancel; someone else sees neither."""
    sub_id = editor.submit("setLEDs([RED] * getLEDCount())", title="mine").get_json()["id"]
    own = client.get("/queue").get_data(as_text=True)
    assert f'class="sub-row mine" data-id="{sub_id}"' in own
    assert f'action="/queue/cancel/{sub_id}"' in own
    other = make_browser("10.9.9.9", "Elsewhere/2").get("/queue").get_data(as_text=True)
    assert f'class="sub-row" data-id="{sub_id}"' in other
    assert "/queue/cancel/" not in other


def test_cancel_form_cancels_own_pending(
    pages_app: Flask, client: FlaskClient, editor: Any, make_browser: Any
) -> None:
    """The no-JavaScript Cancel works for the author, needs CSRF, and is 403 for others."""
    sub_id = editor.submit("setLEDs([RED] * getLEDCount())").get_json()["id"]
    assert client.post(f"/queue/cancel/{sub_id}", data={"x": "1"}).status_code == 400  # no token
    other = make_browser("10.9.9.9", "Elsewhere/2")
    forged = other.post(f"/queue/cancel/{sub_id}", data={"csrf_token": csrf_of(other, "/upload")})
    assert forged.status_code == 403
    ok = client.post(f"/queue/cancel/{sub_id}", data={"csrf_token": csrf_of(client, "/queue")})
    assert ok.status_code == 302
    assert client.get(f"/api/submissions/{sub_id}").get_json()["status"] == "cancelled"


def test_kiosk_uses_big_type(pages_app: Flask, client: FlaskClient) -> None:
    """?kiosk=1 switches the body class and drops the navigation."""
    html = client.get("/queue?kiosk=1").get_data(as_text=True)
    assert '<body class="kiosk"' in html
    assert 'class="site-footer"' not in html


def test_kiosk_shows_the_live_tree_beside_the_lists(
    pages_app: Flask, client: FlaskClient, make_browser: Any
) -> None:
    """The kiosk has the tree canvas (drawn by tree_view.js) and a capped, counted queue."""
    for i in range(9):
        person = make_browser(f"10.2.0.{i}", "Phone/1")
        person.post("/api/submissions", json={"source": "print(1)", "title": f"prog-{i}"})
    html = client.get("/queue?kiosk=1").get_data(as_text=True)
    tags = tags_of(html)
    assert ("canvas", "tree-canvas") in [(t, a.get("id")) for t, a in tags]
    assert "/static/js/tree_view.js" in [a.get("src") for t, a in tags if t == "script"]
    assert 'class="kiosk-grid"' in html and 'class="tree-view tree-kiosk"' in html
    assert "prog-5" in html and "prog-6" not in html  # six rows fit the screen
    assert "and 3 more waiting" in html
    assert '<span class="count" id="pending-count">9</span>' in html
    assert "/queue/cancel/" not in html  # a public screen, not anyone's own page
    plain = client.get("/queue").get_data(as_text=True)
    assert "tree-canvas" not in plain and "prog-8" in plain and "more waiting" not in plain


def test_home_shows_the_next_five(pages_app: Flask, client: FlaskClient, make_browser: Any) -> None:
    """The home page lists the next few, not the whole queue, and counts the others."""
    html = client.get("/").get_data(as_text=True)
    assert '<p class="more-waiting" id="more-waiting" hidden></p>' in html
    for i in range(7):
        person = make_browser(f"10.1.0.{i}", "Phone/1")
        person.post("/api/submissions", json={"source": "print(1)", "title": f"prog-{i}"})
    html = client.get("/").get_data(as_text=True)
    assert "prog-4" in html and "prog-5" not in html
    assert '<p class="more-waiting" id="more-waiting">and 2 more waiting</p>' in html


def test_home_says_nothing_more_when_all_are_listed(
    pages_app: Flask, client: FlaskClient, make_browser: Any
) -> None:
    """With five or fewer waiting, there is nothing "more" to announce."""
    for i in range(5):
        person = make_browser(f"10.3.0.{i}", "Phone/1")
        person.post("/api/submissions", json={"source": "print(1)", "title": f"prog-{i}"})
    html = client.get("/").get_data(as_text=True)
    assert "prog-4" in html and "more waiting</p>" not in html


def test_upload_form_works_without_javascript(pages_app: Flask, client: FlaskClient) -> None:
    """A plain multipart form post queues the file and answers with position and ETA."""
    data = {
        "csrf_token": csrf_of(client, "/upload"),
        "file": (io.BytesIO(b"setLEDs([BLUE] * getLEDCount())\n"), "blue.py"),
        "name": "plain form",
    }
    response = client.post("/upload", data=data, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="follow-position">#1</dd>' in html
    assert 'id="follow-eta">~0 s</dd>' in html
    assert client.get("/api/queue").get_json()["pending"][0]["name"] == "plain form"


@pytest.mark.parametrize(
    ("filename", "body", "status", "message"),
    [
        ("notes.txt", b"print(1)\n", 415, ".py"),
        ("bad.py", b"x = 1\ny = = 2\n", 400, "(line 2"),
        ("empty.py", b"", 400, "empty"),
    ],
)
def test_upload_form_shows_the_error(
    pages_app: Flask, client: FlaskClient, filename: str, body: bytes, status: int, message: str
) -> None:
    """A refused upload shows its error (with the line for syntax errors) and queues nothing."""
    data = {"csrf_token": csrf_of(client, "/upload"), "file": (io.BytesIO(body), filename)}
    response = client.post("/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == status
    box = re.search(r'id="follow-error">(.*?)</div>', response.get_data(as_text=True), re.S)
    assert box and message in box.group(1)
    assert client.get("/api/queue").get_json()["pending"] == []


def test_editor_form_works_without_javascript(pages_app: Flask, client: FlaskClient) -> None:
    """The editor's Run form posts its textarea to /upload when JavaScript is off."""
    data = {"csrf_token": csrf_of(client, "/editor"), "source": "print('no js')\n"}
    response = client.post("/upload", data=data)
    assert response.status_code == 200
    assert 'id="follow-position">#1</dd>' in response.get_data(as_text=True)


def _textarea(html: str) -> str:
    """What a browser puts in the editor's textarea (one newline after the tag is dropped)."""
    match = re.search(r'<textarea id="source"[^>]*>(.*?)</textarea>', html, re.S)
    assert match, "the editor's textarea is not on the page"
    return unescape(match.group(1).removeprefix("\n"))


def test_a_program_refused_from_the_editor_form_comes_back_in_the_editor(
    pages_app: Flask, client: FlaskClient
) -> None:
    """Without JavaScript a refused Run answers with the editor again: the program exactly as
    typed (a leading blank line, markup characters), the nickname and title, and the reason
    with its line; nothing is queued."""
    typed = "\n# a < b && c > d\nfor i in range(3)\n    print('</textarea>')\n"
    data = {"csrf_token": csrf_of(client, "/editor"), "source": typed}
    response = client.post("/upload", data={**data, "name": "Ada", "title": "Loop & co"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _textarea(html) == typed
    assert 'id="name" name="name"' in html and 'value="Ada"' in html
    assert 'value="Loop &amp; co"' in html
    box = re.search(r'id="follow-error">(.*?)</div>', html, re.S)
    assert box and "SyntaxError" in box.group(1) and "(line 3, column 18)" in box.group(1)
    assert '<pre class="error-line" id="follow-error-line">for i in range(3)</pre>' in html
    assert client.get("/api/queue").get_json()["pending"] == []


def test_an_empty_editor_form_says_so_in_the_editor(pages_app: Flask, client: FlaskClient) -> None:
    data = {"csrf_token": csrf_of(client, "/editor"), "source": "  \n"}
    response = client.post("/upload", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and _textarea(html) == "  \n"
    box = re.search(r'id="follow-error">(.*?)</div>', html, re.S)
    assert box and "the program is empty" in box.group(1)


def test_a_rate_limited_editor_form_keeps_the_program(
    pages_app: Flask, client: FlaskClient
) -> None:
    """Over the waiting limit: 429 with Retry-After, and the program still in the editor."""
    token = csrf_of(client, "/editor")
    answers = [
        client.post("/upload", data={"csrf_token": token, "source": f"print({i})  # mine\n"})
        for i in range(12)
    ]
    refused = next(a for a in answers if a.status_code == 429)
    assert "Retry-After" in refused.headers
    assert "# mine" in _textarea(refused.get_data(as_text=True))


def test_a_refused_upload_keeps_its_nickname_and_title(
    pages_app: Flask, client: FlaskClient
) -> None:
    data = {
        "csrf_token": csrf_of(client, "/upload"),
        "file": (io.BytesIO(b"print(1\n"), "bad.py"),
        "name": "Ada",
        "title": "Snow",
    }
    response = client.post("/upload", data=data, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'value="Ada"' in html and 'value="Snow"' in html


def test_docs_say_who_you_are_and_what_counts(client: FlaskClient) -> None:
    """/docs tells students how identity, Stop and the limits work, with this server's numbers."""
    html = client.get("/docs").get_data(as_text=True)
    assert "only you can cancel one while it waits" in html and "Stop" in html
    assert "3 programs waiting at once and send\n      10 programs in any 10 minutes" in html
    assert "cancel before it runs" in html


def test_the_editor_has_a_main_heading_and_labelled_inputs(client: Any) -> None:
    """Screen readers get a heading and real labels on the editor's name and title inputs."""
    html = client.get("/editor").get_data(as_text=True)
    assert '<h1 class="visually-hidden">Editor</h1>' in html
    assert '<label class="visually-hidden" for="name">' in html
    assert '<label class="visually-hidden" for="title">' in html
