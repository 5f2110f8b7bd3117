"""A client of Create Avatar written for grade-client's tests: well-behaved by default, each flag one defect.

Run as ``python retrying_client.py [--flaw NAME] [options]``; it reads the
environment grade-client gives it and creates AVATAR_CLIENT_INTENTS avatars.

Well-behaved: httpx, a UUID Idempotency-Key per intent, the same key and bytes
on every retry, Retry-After honoured (a wait over --max-wait gives up),
capped exponential backoff with full jitter after a 5xx, a reset or a timeout,
a patient wait after 409, no retry of any other 4xx, at most --max-attempts.
Its jitter is seeded per scenario (and per key with --seed-with-key, for parallel copies).
Exit status: 0 when every avatar was created, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
import uuid
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

FLAWS = ("fresh-key-per-retry", "no-key", "keyless-retry-after-5xx", "ignore-retry-after", "no-backoff",
         "fixed-delay", "unbounded", "retry-400", "retry-401", "hardcoded-key", "blank-key", "hedged",
         "reserialise", "heygen-cli", "no-jitter", "waits-out-any-retry-after", "impatient-after-409")
HARD_CODED_KEY = "my-app-create-avatar"


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flaw", choices=FLAWS)
    parser.add_argument("--timeout", type=float, default=2.0, help="per request (the in-flight hold lasts at most 5 s)")
    parser.add_argument("--base", type=float, default=0.1, help="backoff base, seconds")
    parser.add_argument("--cap", type=float, default=2.0, help="backoff cap, seconds")
    parser.add_argument("--max-attempts", type=int, default=6)
    parser.add_argument("--max-wait", type=float, default=60.0, help="longest Retry-After honoured")
    parser.add_argument("--seed-with-key", action="store_true", help="jitter seeded by the key too (--parallel)")
    parser.add_argument("--in-flight-wait", type=float, default=1.0, help="after a 409 (plus up to 0.4 s)")
    return parser.parse_args()


class Client:
    def __init__(self, options: argparse.Namespace) -> None:
        self.o = options
        self.flaw = options.flaw
        self.url = os.environ["AVATAR_API_BASE_URL"].rstrip("/") + "/v3/avatars"
        self.api_key = os.environ["AVATAR_API_KEY"]
        scenario = os.environ.get("AVATAR_CLIENT_SCENARIO", "")
        # Seeded, so a run's delays are the same every time; copies run in parallel must
        # differ (else they would wait alike, as without jitter): --seed-with-key.
        seed = f"reference-{scenario}" + (f"-{self.api_key}" if options.seed_with_key else "")
        self.rng = random.Random(seed)
        self.http = httpx.Client(timeout=options.timeout)

    def _send(self, body: bytes, key: str | None) -> httpx.Response | None:
        headers = {"x-api-key": self.api_key, "content-type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            return self.http.post(self.url, content=body, headers=headers)
        except httpx.TransportError:  # a reset, a timeout: the create may or may not have been made
            return None

    def _hedged(self, body: bytes, key: str | None) -> httpx.Response | None:
        """The flaw: when an answer is slow, a second copy with the same key, in parallel."""
        answers: list[httpx.Response | None] = []
        first = threading.Thread(target=lambda: answers.append(self._send(body, key)))
        first.start()
        first.join(0.5)
        if first.is_alive():
            second = self._send(body, key)
            first.join()
            return next((a for a in answers if a is not None and a.is_success), second)
        return answers[0]

    def _backoff(self, attempt: int) -> float:
        if self.flaw == "no-backoff":
            return 0.0
        if self.flaw == "fixed-delay":
            return 0.5
        if self.flaw == "no-jitter":  # exponential, but every copy waits alike
            return min(self.o.cap, 2 * self.o.base * 2 ** (attempt - 1))
        return self.rng.uniform(0, min(self.o.cap, self.o.base * 2 ** (attempt - 1)))  # full jitter

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("retry-after", "").strip()
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError, IndexError):
            return None

    def _key(self) -> str | None:
        if self.flaw in ("no-key", "heygen-cli"):
            return None
        if self.flaw == "hardcoded-key":
            return HARD_CODED_KEY
        return "" if self.flaw == "blank-key" else str(uuid.uuid4())

    def create(self, value: dict[str, Any]) -> bool:
        body = json.dumps(value, separators=(",", ":")).encode()
        key = self._key()
        attempt = 0
        unbounded = self.flaw == "unbounded"
        while True:
            attempt += 1
            response = self._hedged(body, key) if self.flaw == "hedged" else self._send(body, key)
            status = None if response is None else response.status_code
            if status is not None and 200 <= status < 300:
                return True
            if status is not None and 400 <= status < 500 and status not in (409, 429) and not (
                    (status == 400 and self.flaw == "retry-400") or (status == 401 and self.flaw == "retry-401")):
                return False
            if not unbounded and attempt >= self.o.max_attempts:
                return False
            if response is not None and status == 429:
                advertised = self._retry_after(response)
                if self.flaw == "ignore-retry-after" or advertised is None:
                    wait = self._backoff(attempt)
                elif advertised > self.o.max_wait and self.flaw != "waits-out-any-retry-after":
                    return False  # told to come back tomorrow: give up now, say so
                else:
                    wait = max(advertised + 0.1, self._backoff(attempt))
            elif status == 409:
                wait = 0.05 if self.flaw == "impatient-after-409" else self.o.in_flight_wait + self.rng.uniform(0, 0.4)
            elif self.flaw in ("heygen-cli", "no-key"):
                # A POST is not idempotent: 5xx and transport errors are not retried (a keyless
                # retry would be a second defect, client.no_keyless_retry's).
                return False
            else:
                wait = self._backoff(attempt)
                if self.flaw == "fresh-key-per-retry":
                    key = str(uuid.uuid4())
                elif self.flaw == "keyless-retry-after-5xx":
                    key = None
            if self.flaw == "reserialise":
                body = json.dumps(value, indent=1, sort_keys=True).encode()
            time.sleep(wait)


def main() -> int:
    client = Client(_options())
    intents = int(os.environ.get("AVATAR_CLIENT_INTENTS", "3"))
    run = uuid.uuid4().hex[:8]
    made = [client.create({"type": "photo", "name": f"avatar {run} {n}",
                           "file": {"type": "url", "url": f"https://example.com/{run}-{n}.png"}})
            for n in range(intents)]
    print(f"created {sum(made)} of {intents}")
    return 0 if all(made) else 1


if __name__ == "__main__":
    sys.exit(main())
