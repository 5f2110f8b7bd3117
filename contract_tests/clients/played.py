"""The emulator served for a client library's own tests: play a scenario, call the client, grade.

    def test_my_client_retries_safely(graded_emulator):
        played = graded_emulator.play("ambiguous-5xx")
        my_client.create_avatars(base_url=played.base_url, api_key=played.api_key, count=played.intents)
        graded_emulator.finish(exit_code=0)
        result = graded_emulator.grade()
        assert result.verdict("client.same_key_on_retry") == "pass", result.results

Each ``play`` gets a fresh tenant key and a fresh journal (in memory);
``grade()`` judges every scenario played so far.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from types import TracebackType

from avatar_contract.emulator._schedule import SCENARIOS
from avatar_contract.validators.journal import ExchangeRecord

from .grading import GradeResult, grade_runs
from .judging import DEFAULT_MAX_ATTEMPTS
from .running import DEFAULT_INTENTS, ENV_BASE_URL, ENV_INTENTS, ENV_KEY, ENV_SCENARIO, ScenarioRun
from .serving import ServedEmulator


@dataclass(frozen=True)
class Played:
    """What a client needs to run one scenario (the environment ``grade-client`` would give it)."""

    scenario: str
    base_url: str
    api_key: str
    intents: int

    @property
    def environ(self) -> dict[str, str]:
        return {ENV_BASE_URL: self.base_url, ENV_KEY: self.api_key, ENV_INTENTS: str(self.intents),
                ENV_SCENARIO: self.scenario}

    def __repr__(self) -> str:  # the key stays out of pytest's assertion messages
        return f"Played({self.scenario!r}, {self.base_url!r}, intents={self.intents})"


class GradedEmulator:
    def __init__(self, *, intents: int = DEFAULT_INTENTS, time_scale: float = 1.0,
                 max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        keys: dict[str, tuple[str, ...]] = {name: (f"gc-{secrets.token_urlsafe(18)}",) for name in SCENARIOS}
        self._served = ServedEmulator(keys, time_scale=time_scale)
        self.intents = intents
        self.max_attempts = max_attempts
        self.runs: list[ScenarioRun] = []
        self._current: Played | None = None
        self._began = 0.0
        self._started = 0.0
        self._exit: int | None = None

    @property
    def base_url(self) -> str:
        return self._served.base_url

    def play(self, scenario: str) -> Played:
        """Start ``scenario`` (ending the one before); a scenario is played once per emulator."""
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; valid: {', '.join(SCENARIOS)}")
        if any(r.scenario == scenario for r in self.runs) or (self._current and self._current.scenario == scenario):
            raise ValueError(f"scenario {scenario!r} was already played by this emulator")
        self._close()
        self._served.play(scenario)
        self._current = Played(scenario, self._served.base_url, self._served.keys[scenario][0], self.intents)
        self._began, self._started, self._exit = time.monotonic(), time.time(), None
        return self._current

    @property
    def journal(self) -> list[ExchangeRecord]:
        """The current scenario's exchanges so far (an exchange is journaled just after its answer)."""
        self._served.settle(grace=10.0)
        return self._served.journal.records()

    def finish(self, exit_code: int | None) -> None:
        """The client's outcome in the current scenario, as a process's exit status (0: it succeeded)."""
        self._exit = exit_code

    def _close(self) -> None:
        if self._current is None:
            return
        self._served.settle(grace=10.0)
        records = self._served.journal.records()
        self.runs.append(ScenarioRun(self._current.scenario, records, [self._exit], False,
                                     self._served.journal.full.is_set(), time.monotonic() - self._began,
                                     self._started))
        self._current = None

    def grade(self) -> GradeResult:
        """Every check judged on the scenarios played so far."""
        self._close()
        return GradeResult(grade_runs(self.runs, max_attempts=self.max_attempts), list(self.runs),
                           sum(r.seconds for r in self.runs))

    def __enter__(self) -> GradedEmulator:
        self._served.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._served.stop()
