"""A second client for the pacing bench: GETs at a steady rate until stdin closes.

`python bench/loadgen.py BASE_URL CLIENT_ID RATE` (the secret in `EPCC_CLIENT_SECRET`) takes a
token, prints `ready`, then sends `GET /v2/flows` every 1/RATE seconds on a fixed schedule (a
storefront does not slow down for us; a refused request is not sent again) until its stdin
closes, and prints `OK REFUSED`: the requests the store accepted and those it answered 429.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import httpx


def main(argv: list[str]) -> int:
    base_url, client_id, rate_text = argv
    rate = float(rate_text)
    stop = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    ok = refused = 0
    with httpx.Client(base_url=base_url, timeout=30) as http:
        form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": os.environ["EPCC_CLIENT_SECRET"],
        }
        token = ""
        while not token:  # the token call is rate limited too
            answer = http.post("/oauth/access_token", data=form)
            if answer.status_code == 200:
                token = answer.json()["access_token"]
            else:
                time.sleep(1 / rate)
        headers = {"Authorization": f"Bearer {token}"}
        print("ready", flush=True)
        started = time.monotonic()
        sent = 0
        while not stop.is_set():
            wait = started + sent / rate - time.monotonic()
            if wait > 0 and stop.wait(wait):
                break
            sent += 1
            status = http.get("/v2/flows", headers=headers).status_code
            if status == 429:
                refused += 1
            else:
                ok += 1
    print(f"{ok} {refused}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
