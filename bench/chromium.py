"""A headless Chromium driven through the DevTools protocol over a pipe, for the board's browser test and bench.

Chromium started with `--remote-debugging-pipe` reads protocol commands on its file descriptor 3 and writes answers
and events on 4, each message JSON ended by a NUL byte: no port, no WebSocket library, nothing but the standard
library. One page (a target attached in "flatten" mode) is driven: load a file, run a script and read its value
back, press keys and click as a user does (`Input.dispatch*`: the page sees trusted events), take screenshots.

POSIX only (the descriptors are placed with `fcntl`); `find()` says which browser there is, if any.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: `find` finds no browser there
    fcntl = None  # type: ignore[assignment]

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find() -> str | None:
    """The Chromium (or Chrome) on PATH, or None; None on Windows (no pipe descriptors to place)."""
    if os.name != "posix":
        return None
    return next((p for p in (shutil.which(n) for n in NAMES) if p), None)


class BrowserError(RuntimeError):
    """The browser answered a command with an error, a script threw, or the browser went away or timed out."""


class Browser:
    """One headless Chromium with one page of `width` x `height` CSS pixels. Use as a context manager."""

    def __init__(self, binary: str, width: int = 1400, height: int = 900, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="gittasks-chromium-")
        to_browser_r, self._write = os.pipe()
        self._read, from_browser_w = os.pipe()

        def place() -> None:  # in the child: the pipe ends onto 3 and 4, wherever os.pipe put them
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--mute-audio", "--hide-scrollbars",
             f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=place,  # (the callers start no threads)
        )  # fmt: skip
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None
        try:
            target = self.send("Target.createTarget", {"url": "about:blank"}, browser=True)["targetId"]
            attached = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, browser=True)
            self.session = attached["sessionId"]
            self.send("Page.enable")
            self.send("Runtime.enable")
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                with contextlib.suppress(BrowserError):
                    self.send("Browser.close", browser=True, timeout=5)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        finally:
            for fd in (self._read, self._write):
                with contextlib.suppress(OSError):
                    os.close(fd)
            shutil.rmtree(self.profile, ignore_errors=True)

    # -- the protocol ---------------------------------------------------------------------------------------------

    def _message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("the browser did not answer in time")
            ready, _, _ = select.select([self._read], [], [], left)
            if ready:
                chunk = os.read(self._read, 1 << 20)
                if not chunk:
                    raise BrowserError(f"the browser went away (exit code {self.proc.poll()})")
                self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(raw))

    def send(
        self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send one command (to the page's session unless `browser`) and return its result."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if not browser and self.session is not None:
            message["sessionId"] = self.session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._write, data) :]
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            answer = self._message(deadline)
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error'].get('message')}")
                return dict(answer.get("result") or {})
            self.events.append(answer)

    def wait_event(self, method: str, timeout: float | None = None) -> dict[str, Any]:
        """The first event named `method` not yet taken (events seen while waiting for answers included)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method:
                    del self.events[index]
                    return event
            self.events.append(self._message(deadline))

    # -- what a test does -------------------------------------------------------------------------------------------

    def load(self, url: str) -> None:
        """Open `url` and wait for its load event."""
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        answer = self.send("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise BrowserError(f"cannot open {url}: {answer['errorText']}")
        if answer.get("loaderId"):  # (none for a move within the page, as to another #fragment: no load event)
            self.wait_event("Page.loadEventFired")

    def run(self, expression: str, *, wait: bool = True) -> Any:
        """The value of a script (an awaited promise's value when `wait`), or BrowserError with what it threw."""
        answer = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": wait, "userGesture": True},
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            said = (details.get("exception") or {}).get("description") or details.get("text")
            raise BrowserError(f"the script threw: {said}")
        return (answer.get("result") or {}).get("value")

    def settle(self) -> None:
        """Wait until the page has drawn a frame after what it just did."""
        self.run("new Promise(function (r) { requestAnimationFrame(function () { setTimeout(r, 0); }); })")

    def key(self, key: str) -> None:
        """Press and release one key as a keyboard does: "j", "/", "Enter", "Escape", "ArrowDown"..."""
        codes = {"Enter": 13, "Escape": 27, "ArrowLeft": 37, "ArrowUp": 38, "ArrowRight": 39, "ArrowDown": 40}
        named = key in codes
        code = codes[key] if named else ord(key.upper()) if key.isalpha() else 191 if key == "/" else ord(key)
        down: dict[str, Any] = {"type": "keyDown" if not named else "rawKeyDown", "key": key,
                                "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code}  # fmt: skip
        if not named or key == "Enter":
            down["text"] = "\r" if key == "Enter" else key
        self.send("Input.dispatchKeyEvent", down)
        self.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": key, "windowsVirtualKeyCode": code})
        self.settle()

    def type_text(self, text: str) -> None:
        """Type `text` into what has the focus, as an input method does."""
        self.send("Input.insertText", {"text": text})
        self.settle()

    def click(self, selector: str) -> None:
        """Click the middle of the first element `selector` finds (scrolled into view first), with the mouse."""
        box = self.run(
            f"(function () {{ var e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            " e.scrollIntoView({block: 'center', inline: 'center'}); var r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        if box is None:
            raise BrowserError(f"nothing on the page matches {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})  # fmt: skip
        self.settle()

    def screenshot(self, path: Path) -> Path:
        """The visible page as a PNG at `path`."""
        shot = self.send("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


if __name__ == "__main__":  # a smoke check: python bench/chromium.py FILE.html OUT.png
    found = find()
    if found is None:
        sys.exit("no Chromium on PATH")
    with Browser(found) as page:
        page.load(Path(sys.argv[1]).resolve().as_uri())
        page.settle()
        print(page.screenshot(Path(sys.argv[2])))
