"""The HTTP/1.1 protocol `serve` runs: uvicorn's httptools protocol, whose own refusals are problem
documents like every other answer of the API.

uvicorn refuses what its parser cannot read before the application sees it, with a text/plain
400: malformed HTTP, and a request target (path and query string) longer than httptools' URL
parser takes, 65,535 bytes (it keeps offsets in 16 bits). That length is the only limit on the
request line and headers with httptools; with h11, uvicorn's other parser, the whole head is
limited to 16 KiB (`h11_max_incomplete_event_size`), which is why `serve` names this protocol
rather than whichever uvicorn finds.

Here a target past MAX_TARGET_BYTES is noticed as it arrives, before the rest of the request is
buffered, and answered 414 `uri_too_long`; anything else the parser refuses is 400
`invalid_request`. Both answers are RFC 9457 problem documents with the headers every answer
carries (`X-Content-Type-Options`, `Cache-Control: no-store`, a new `X-Request-ID`: the
request's own headers were not read), and are counted and logged as the app's answers are,
under the operation `unrouted`.
"""

import time
import uuid

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

import telemetry
from framework import problem
from models.errors import InvalidRequest, UriTooLong

# httptools.parse_url refuses a longer URL: the most the server can read, stated in openapi.yaml.
MAX_TARGET_BYTES = 65_535
# What the log line keeps of the path of a refused request (its target may be 64 KB of path).
LOGGED_PATH_CHARS = 200


class TargetTooLong(Exception):
    """Raised in the parser's URL callback: the parser stops, and the protocol answers 414."""


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing with problem documents (see the module's doc)."""

    def on_message_begin(self):
        super().on_message_begin()
        self.target_too_long = False
        self.began = time.perf_counter()

    def on_url(self, url):
        super().on_url(url)
        if len(self.url) > MAX_TARGET_BYTES:
            self.target_too_long = True
            raise TargetTooLong()

    def send_400_response(self, msg):
        if getattr(self, "target_too_long", False):
            error = UriTooLong(
                f"The request target is longer than {MAX_TARGET_BYTES} bytes. The render "
                f"takes its page and parameters as a JSON body with POST on the same path."
            )
        else:
            error = InvalidRequest("The request is not valid HTTP/1.1.")
        answer = problem(error.status, error.code, error.title, error.detail)
        body = answer.body.encode("utf-8")
        request_id = uuid.uuid4().hex
        head = [STATUS_LINE[error.status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [
            b"content-type: application/problem+json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"x-content-type-options: nosniff\r\n",
            b"cache-control: no-store\r\n",
            b"x-request-id: " + request_id.encode("ascii") + b"\r\n",
            b"connection: close\r\n",
            b"\r\n",
            body,
        ]
        self.transport.write(b"".join(head))
        self.transport.close()
        began = getattr(self, "began", None)
        telemetry.record(
            request_id,
            telemetry.UNROUTED,
            self._method(),
            self._path(),
            error.status,
            time.perf_counter() - began if began is not None else 0.0,
        )

    def _method(self):
        try:
            return self.parser.get_method().decode("ascii", "replace")
        except Exception:  # nothing parsed yet: the first bytes were not HTTP
            return ""

    def _path(self):
        url = getattr(self, "url", b"")
        return url.split(b"?", 1)[0][:LOGGED_PATH_CHARS].decode("latin-1")
