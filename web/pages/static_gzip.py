"""Static files sent gzip-compressed to browsers that accept it.

The editor bundle is ~460 KB of JavaScript; gzipped it is about a third of that, which matters on
a phone on the event's Wi-Fi. Each file is compressed once, on its first request, and kept in
memory keyed by its path, size and modification time, so nothing is written next to the static
files (the web container's file system is read-only) and a rebuilt bundle is picked up at once.
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from flask import Flask, request
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

# Text formats only: images and fonts are compressed already.
COMPRESSIBLE = frozenset(
    {"text/css", "text/javascript", "application/javascript", "application/json", "image/svg+xml"}
)
MIN_BYTES = 1024  # below this the gzip header and a round of CPU are not worth it


class GzipCache:
    """Gzipped bytes of recently served files, least recently used evicted first."""

    def __init__(self, max_files: int = 64) -> None:
        self.max_files = max_files
        self._files: OrderedDict[tuple[str, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def compressed(self, path: Path) -> bytes:
        """The gzip of ``path`` as it is now (compressed again when the file changes)."""
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            body = self._files.get(key)
            if body is not None:
                self._files.move_to_end(key)
                return body
        # mtime=0: the same file always gives the same bytes, so the ETag below stays honest.
        body = gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)
        with self._lock:
            self._files[key] = body
            while len(self._files) > self.max_files:
                self._files.popitem(last=False)
        return body


def init_app(app: Flask) -> None:
    """Wrap the app's ``static`` view so it answers gzip when the request accepts it."""
    cache = GzipCache()
    app.extensions["static_gzip"] = cache
    # Flask's static view is ``send_static_file``, which always returns a Response.
    plain_view = cast(Callable[..., Response], app.view_functions["static"])
    folder = Path(str(app.static_folder))

    def static(filename: str, **kwargs: Any) -> Response:
        response = plain_view(filename=filename, **kwargs)
        return _maybe_gzip(response, folder, filename, cache)

    app.view_functions["static"] = static


def _maybe_gzip(response: Response, folder: Path, filename: str, cache: GzipCache) -> Response:
    if response.mimetype not in COMPRESSIBLE:
        return response
    response.vary.add("Accept-Encoding")
    joined = safe_join(str(folder), filename)
    accepted = request.accept_encodings.quality("gzip") > 0
    if response.status_code != 200 or not accepted or joined is None:
        return response
    path = Path(joined)
    if path.stat().st_size < MIN_BYTES:
        return response
    body = cache.compressed(path)
    etag, _ = response.get_etag()
    response.close()  # the plain file handle it held
    zipped = Response(body, status=200, content_type=response.content_type)
    for name in ("Cache-Control", "Last-Modified", "Expires", "Vary"):
        if name in response.headers:
            zipped.headers[name] = response.headers[name]
    zipped.headers["Content-Encoding"] = "gzip"
    if etag:
        zipped.set_etag(f"{etag}-gzip")
    return zipped.make_conditional(request)
