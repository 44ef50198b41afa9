#!/usr/bin/env python3
"""Load evring serve's live page in headless Chromium and check that it is live: the plot gains
samples and the tail gains events while records flow. Drives Chromium over the DevTools protocol on
a pipe (--remote-debugging-pipe: fd 3 in, fd 4 out, NUL-separated JSON), so it needs nothing but
the standard library. Saves a screenshot. Bounded: gives up after DEADLINE seconds.
Usage: browser_check.py CHROMIUM URL SCREENSHOT.png PROFILE_DIR"""
import base64
import fcntl
import json
import os
import subprocess
import sys
import time

DEADLINE = 40


def main():
    chromium, url, shot, profile = sys.argv[1:5]
    # the pipes' ends, moved above 10 first: os.pipe() may itself have returned 3 or 4
    ends = []
    for fd in os.pipe() + os.pipe():
        ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
        os.close(fd)
    to_chrome_r, to_chrome_w, from_chrome_r, from_chrome_w = ends
    os.dup2(to_chrome_r, 3)
    os.dup2(from_chrome_w, 4)
    # --no-sandbox: the suite runs as root on CI machines, where the sandbox refuses to start
    proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--remote-debugging-pipe", "--user-data-dir=" + profile,
                             "--window-size=1100,1000", "about:blank"],
                            pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(3)
    os.close(4)
    os.close(to_chrome_r)
    os.close(from_chrome_w)
    out = os.fdopen(to_chrome_w, "wb", buffering=0)
    inp = os.fdopen(from_chrome_r, "rb", buffering=0)
    pending = b""
    next_id = [0]
    end = time.monotonic() + DEADLINE

    def call(method, params=None, session=None):
        nonlocal pending
        next_id[0] += 1
        msg = {"id": next_id[0], "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        out.write(json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in pending:
                if time.monotonic() > end:
                    raise TimeoutError(method)
                chunk = inp.read(65536)
                if not chunk:
                    raise EOFError("chromium closed the pipe during " + method)
                pending += chunk
            raw, pending = pending.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == next_id[0]:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    try:
        target = call("Target.createTarget", {"url": url})["targetId"]
        session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        probe = ("JSON.stringify({samples: +(document.getElementById('plot').dataset.samples || 0),"
                 " tail: +document.getElementById('tail-count').textContent,"
                 " legend: document.getElementById('legend').textContent,"
                 " producers: document.getElementById('producers').tBodies[0].rows.length})")
        seen = []
        while time.monotonic() < end:
            r = call("Runtime.evaluate", {"expression": probe, "returnByValue": True}, session)
            state = json.loads(r["result"].get("value") or "{}")
            if "samples" not in state:  # the page's script has not run yet
                time.sleep(0.2)
                continue
            seen.append(state)
            first = seen[0]
            if (state.get("samples", 0) >= first.get("samples", 0) + 3 and state.get("tail", 0) > first.get("tail", 0)
                    and state.get("tail", 0) > 0 and state.get("producers", 0) > 0):
                break
            time.sleep(0.5)
        png = call("Page.captureScreenshot", {"format": "png"}, session)["data"]
        with open(shot, "wb") as f:
            f.write(base64.b64decode(png))
        if not seen:
            print("FAIL: the page never ran its script")
            return 1
        print("first:", json.dumps(seen[0]))
        print("last: ", json.dumps(seen[-1]))
        last, first = seen[-1], seen[0]
        ok = (last.get("samples", 0) >= first.get("samples", 0) + 3 and last.get("tail", 0) > first.get("tail", 0)
              and last.get("producers", 0) > 0)
        print("the plot and the tail updated" if ok else "FAIL: the page did not update")
        return 0 if ok else 1
    finally:
        try:
            out.write(json.dumps({"id": 999999, "method": "Browser.close"}).encode() + b"\0")
        except OSError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
