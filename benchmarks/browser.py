"""A browser in a few lines of the standard library, for the benchmarks and the tests that
drive a real server over HTTP: cookies, a kept-alive connection, forms submitted exactly as a
browser submits them (urlencoded, or multipart with a file), and the admin's error messages.

Only the standard library: benchmarks import it as `browser`, tests as `benchmarks.browser`.
"""

import html
import http.client
import http.cookies
import re
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from html.parser import HTMLParser

USER_AGENT = "casal-load-test"


@dataclass
class Response:
    status: int
    location: str
    text: str
    seconds: float


class Browser:
    """One user's browser: its cookies and a connection kept alive when the server allows
    (gunicorn's sync workers close each one: http.client then opens a new one)."""

    def __init__(self, port, timeout):
        self.port = port
        self.timeout = timeout
        # As behind the load balancer, which terminates HTTPS and says so (README).
        self.origin = f"https://127.0.0.1:{port}"
        self.cookies = {}
        self.connection = None

    def request(self, method, path, fields=None, referer=None, files=None):
        """`fields`: [(name, value)] or {name: value}; `files`: {name: (filename, bytes)},
        sent as multipart/form-data with the fields."""
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "text/html",
            "Accept-Language": "fr",
            "X-Forwarded-Proto": "https",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(
                f"{name}={value}" for name, value in self.cookies.items()
            )
        body = None
        if files:
            body, headers["Content-Type"] = multipart(fields or [], files)
            headers["Origin"] = self.origin
        elif fields is not None:
            body = urllib.parse.urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
        if referer:
            headers["Referer"] = self.origin + referer
        start = time.perf_counter()
        for attempt in (1, 2):
            reused = self.connection is not None and self.connection.sock is not None
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=self.timeout
                )
            try:
                self.connection.request(method, path, body, headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                # A browser retries a GET once when a kept-alive connection was closed.
                if attempt == 2 or not reused or method != "GET":
                    raise
            except BaseException:
                self.close()
                raise
        seconds = time.perf_counter() - start
        for header in response.msg.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Response(
            response.status,
            response.getheader("Location") or "",
            data.decode(errors="replace"),
            seconds,
        )

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class FormFields(HTMLParser):
    """The (name, value) pairs a browser submits for the form `form_id` when its submit
    button `submit_name` is clicked: inputs (checkboxes and radios only if checked, no file
    or button), the selected options of selects (a single select with none selected sends
    its first option) and textareas (less the newline that follows the opening tag)."""

    def __init__(self, form_id, submit_name, action=None):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.action = action  # the form whose action is this path, when it has no id
        self.submit_name = submit_name
        self.fields = []
        self.submit = None
        self.in_form = False
        self.select = None  # [name, multiple, [(value, selected)]]
        self.option = None  # [attrs, text parts]
        self.textarea = None  # [name, text parts]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            if self.form_id is not None:
                self.in_form = attrs.get("id") == self.form_id
            else:
                self.in_form = attrs.get("action") == self.action
        elif not self.in_form:
            return
        elif tag == "option" and self.select is not None:
            self.end_option()
            self.option = [attrs, []]
        elif "disabled" in attrs or not attrs.get("name"):
            return
        elif tag == "input":
            self.add_input(attrs)
        elif tag == "select":
            self.select = [attrs["name"], "multiple" in attrs, []]
        elif tag == "textarea":
            self.textarea = [attrs["name"], []]

    def add_input(self, attrs):
        kind = (attrs.get("type") or "text").lower()
        name, value = attrs["name"], attrs.get("value")
        if kind == "submit":
            if name == self.submit_name:
                self.submit = (name, value or "")
        elif kind in {"checkbox", "radio"}:
            if "checked" in attrs:
                self.fields.append((name, "on" if value is None else value))
        elif kind not in {"file", "image", "button", "reset"}:
            self.fields.append((name, value or ""))

    def end_option(self):
        if self.option is not None:
            attrs, text = self.option
            if "disabled" not in attrs:
                value = attrs.get("value")
                if value is None:
                    value = " ".join("".join(text).split())
                self.select[2].append((value, "selected" in attrs))
            self.option = None

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "option" and self.select is not None:
            self.end_option()
        elif tag == "select" and self.select is not None:
            self.end_option()
            name, multiple, options = self.select
            chosen = [value for value, selected in options if selected]
            if not multiple:
                chosen = chosen[-1:] or [value for value, _selected in options[:1]]
            self.fields += [(name, value) for value in chosen]
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            name, text = self.textarea
            text = "".join(text)
            self.fields.append((name, text[1:] if text.startswith("\n") else text))
            self.textarea = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1].append(data)
        elif self.option is not None:
            self.option[1].append(data)


ERROR_BLOCK = re.compile(r'<(ul|p) class="(?:errorlist|errornote)[^"]*"[^>]*>(.*?)</\1>', re.S)


def form_errors(page):
    """The error messages of a refused admin form, as text."""
    messages = []
    for _tag, block in ERROR_BLOCK.findall(page):
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", block)).split())
        if text and text not in messages:
            messages.append(text)
    return messages or ["(no error message found)"]


def multipart(fields, files):
    """The body and Content-Type of a multipart/form-data submission."""
    boundary = secrets.token_hex(16)
    items = fields.items() if isinstance(fields, dict) else fields
    parts = []
    for name, value in items:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + str(value).encode()
            + b"\r\n"
        )
    for name, (filename, data) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def form_fields(page, form_id, submit_name=None, action=None):
    """[(name, value)] that `page`'s form `form_id` (or, without an id, the form posting to
    `action`) submits, with its button `submit_name`."""
    parser = FormFields(form_id, submit_name, action)
    parser.feed(page)
    return parser.fields + ([parser.submit] if parser.submit else [])
