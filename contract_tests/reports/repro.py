"""Reproducers: each failure's evidence as a bash script that sends it again with curl.

One curl line cannot show a race, a second tenant, a replay or a rate limit,
so a failure that carries a ``sequence`` gets every exchange of it, in order,
with concurrent steps sent with ``&`` and ``wait``.  The scripts are written
beside the reports as ``repro/<clause>-<n>.sh``.  In them:

* keys are ``${AVATAR_API_KEY}`` and ``${AVATAR_API_KEY_2}`` (never a value);
* every well-formed Idempotency-Key is generated afresh on each run (its
  length and leading characters kept, the same variable wherever the run
  reused the key), so re-running reproduces rather than replays the last
  run; malformed keys are the evidence and are kept exactly;
* each answer is printed as status, ``data.avatar_item.id``, ``Retry-After``
  and the start of the body, then what to compare.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ..clauses.finding import ClauseFailure, ClauseResult, Step, steps
from ..probes.keys import regenerable
from ..targets.exchange import SentRequest
from ..targets.target import header_variable, secret_header
from .curl import curl_parts, fresh_tail

SCRIPT_DIR = "repro"
BATCH = 16  # concurrent requests per round of a burst

_PRELUDE = r"""set -u
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# A fresh run of hex digits: each run gets new Idempotency-Keys.
fresh() {
  local s=""
  while [ "${#s}" -lt "$1" ]; do s+=$(printf '%04x' "$(( ${SRANDOM:-$RANDOM} & 0xffff ))"); done
  printf '%s' "${s:0:$1}"
}
# One answer: status, the avatar it names, Retry-After, and the start of the body.
show() {
  local n=$1 status body id=- retry re='"avatar_item"[^}]*"id": *"([^"]*)"'
  status=$(cat "$out/$n.status" 2>/dev/null)
  if [ "${status:-000}" = 000 ]; then
    local code why
    code=$(cat "$out/$n.exit" 2>/dev/null)
    case $code in  # curl's exit codes, as the suite names transport errors
      6) why="the host name does not resolve" ;;
      7) why="connection refused" ;;
      28) why="timeout after 60 s" ;;
      35|51|53|54|58|59|60|77|80|82|83|90|91) why="TLS failure" ;;
      52) why="the server closed the connection without a response" ;;
      56) why="connection reset by the server" ;;
      *) why="curl exit $code" ;;
    esac
    printf '#%s  no response: %s\n' "$n" "$why"
    return
  fi
  body=$(tr -d '\n' < "$out/$n.body")
  [[ $body =~ $re ]] && id=${BASH_REMATCH[1]}
  retry=$(grep -i '^retry-after:' "$out/$n.headers" | tr -d '\r')
  printf '#%s  %s  avatar_item.id=%s%s\n    %s\n' "$n" "$status" "$id" "${retry:+  $retry}" "${body:0:300}"
}
# The answer around a member (the failing JSON Pointer's last name), wherever it is in the body.
around() {
  tr -d '\n' < "$out/$1.body" 2>/dev/null | grep -o ".\{0,120\}\"$2\"[[:space:]]*:.\{0,160\}" | head -1 |
    sed 's/^/    /'
}
"""


def script_name(clause: str, index: int) -> str:
    return f"{clause}-{index}.sh"


def evidence(failure: ClauseFailure) -> tuple[Step, ...]:
    """The steps a reproducer sends: the failure's sequence, else its one exchange."""
    if failure.sequence:
        return failure.sequence
    return steps(failure.exchange) if failure.exchange is not None else ()


def script_names(result: ClauseResult) -> dict[int, str]:
    """``id(failure)`` → its script's file name, for the failures that have evidence."""
    return {id(f): script_name(result.name, n)
            for n, f in enumerate((f for f in result.failures if evidence(f)), start=1)}


def _signature(request: SentRequest) -> tuple[object, ...]:
    return request.method, request.path, request.headers, request.credential, request.content


def _comment(text: str) -> str:
    return " ".join(text.split())[:400]


def _echo(text: str) -> str:
    # Single-quoted: "${AVATAR_API_KEY}" in a label is shown, never expanded.
    return f"echo {shlex.quote(text)}"


def _script_tail(length: int) -> str:
    return f'"$(fresh {length})"'  # the prelude's helper


def _inline_tail(length: int) -> str:
    return f'"{fresh_tail(length)}"'  # no prelude: bash builtins only


class KeyVariables:
    """Idempotency-Keys as shell variables: fresh each run, equal where the run's were equal.

    ``inline``: the variables are assigned by lines pasted into a shell (no prelude
    defines ``fresh``), as for the step-by-step curl lines printed without a script.
    """

    def __init__(self, inline: bool = False) -> None:
        self.names: dict[bytes, str] = {}
        self.lines: list[str] = []
        self._tail: Callable[[int], str] = _inline_tail if inline else _script_tail

    def word(self, raw: bytes | None) -> str | None:
        split = _split(raw)
        if raw is None or split is None:
            return None  # absent, or malformed: then the exact bytes are the evidence
        if raw not in self.names:
            kept, tail = split
            name = self.names[raw] = f"KEY_{len(self.names) + 1}"
            prefix = shlex.quote(kept) if kept else ""
            self.lines.append(f"{name}={prefix}{self._tail(tail)}  # {len(raw)} characters, as in the run")
        return f'"Idempotency-Key: ${{{self.names[raw]}}}"'


def _split(raw: bytes | None) -> tuple[str, int] | None:
    try:
        return regenerable(raw.decode("utf-8")) if raw is not None else None
    except UnicodeDecodeError:
        return None


def _variables(plan: Iterable[Step]) -> list[str]:
    """The key variables the requests use, in order (the derived forms count as the first key)."""
    shells = {e.request.credential.shell for step in plan for e in step.exchanges if e.request.credential}
    joined = " ".join(shells)
    out = []
    if "${AVATAR_API_KEY}" in joined or "${AVATAR_API_KEY%" in joined:
        out.append("AVATAR_API_KEY")
    if "${AVATAR_API_KEY_2" in joined:
        out.append("AVATAR_API_KEY_2")
    return out


def render_script(failure: ClauseFailure, base_url: str,
                  extra_headers: Sequence[tuple[str, str]] = ()) -> str | None:
    """The reproducer for one failure, or None when it has no exchange to send."""
    plan = evidence(failure)
    if not plan:
        return None
    keys = KeyVariables()
    functions: dict[tuple[object, ...], int] = {}
    bodies: list[str] = []
    for step in plan:
        for exchange in step.exchanges:
            sig = _signature(exchange.request)
            if sig in functions:
                continue
            number = functions[sig] = len(functions) + 1
            header = keys.word(exchange.request.header("idempotency-key"))
            prefix, words = curl_parts(
                exchange, base_url,
                options=("-sS", "--max-time", "60", "-o", '"$out/$1.body"', "-D", '"$out/$1.headers"',
                         "-w", "'%{http_code}'"),
                header_words={"idempotency-key": header} if header else None, extra_headers=extra_headers)
            bodies.append(f"req_{number}() {{\n  {prefix}{' '.join(words)} > \"$out/$1.status\"\n"
                          f"  echo $? > \"$out/$1.exit\"\n}}")
    needs = _variables(plan)
    lines = [
        "#!/usr/bin/env bash",
        f"# Reproduces {failure.clause}: {_comment(failure.message)}",
        f"# Run: {' '.join(f'{v}=…' for v in needs)} bash <this file>".replace("  ", " "),
        "# Each run sends fresh Idempotency-Keys (shared where the run shared them): it reproduces, not replays.",
        _PRELUDE.rstrip(),
        *[f': "${{{v}:?set {v} to the key the run used}}"' for v in needs],
        *[f': "{header_variable(name)[:-1]}:?set it to the --header {name} value the run used}}"'
          for name, _ in extra_headers if secret_header(name)],
        *keys.lines,
        "\n".join(bodies),
        "",
    ]
    n = 0
    for index, step in enumerate(plan, start=1):
        first = step.exchanges[0]
        who = first.request.credential.shell if first.request.credential else "no credentials"
        function = functions[_signature(first.request)]
        if step.repeat > 1:
            lines += _burst(index, function, step, who)
            continue
        names = [str(n + i) for i in range(1, len(step.exchanges) + 1)]
        n += len(step.exchanges)
        if step.concurrent:
            lines.append(_echo(f"== step {index}: {len(names)} requests at once ({who})"))
            calls = [f"req_{functions[_signature(e.request)]} {name} &" for e, name in zip(step.exchanges, names,
                                                                                            strict=True)]
            lines += [" ".join(calls) + " wait"]
        else:
            lines.append(_echo(f"== step {index}: {first.request.method} {first.request.path} ({who})"))
            lines.append(f"req_{function} {names[0]}")
        lines += [f"show {name}" for name in names]
    lines += _around(failure, n)
    lines += ["echo", _echo(f"Compare: {failure.compare}" if failure.compare else
                            "Compare: the answer with what the contract requires (below)"),
              _echo(f"In the run that found it: {_comment(failure.message)}")]
    return "\n".join(lines) + "\n"


def _around(failure: ClauseFailure, last: int) -> list[str]:
    """Where the failing value is: this run's answer around its member, and what the run saw there."""
    shown = failure.excerpt
    if shown is None or last < 1:
        return []
    name = shown.found.rsplit("/", 1)[-1]
    lines = [_echo(f"The failing value, {shown.pointer or '(root)'}, in this answer:")]
    if re.fullmatch(r"[A-Za-z0-9_-]+", name):
        lines.append(f"around {last} {name}")
    return [*lines, _echo(f"In the run that found it, {shown.line()}")]


def _burst(index: int, sig: int, step: Step, who: str) -> list[str]:
    until, limit = step.until or 429, step.repeat
    return [
        _echo(f"== step {index}: up to {limit} requests, {BATCH} at a time, until the first {until} ({who})"),
        "sent=0; found=''",
        f'while [ -z "$found" ] && [ "$sent" -lt {limit} ]; do',
        f"  for ((i = sent + 1; i <= sent + {BATCH} && i <= {limit}; i++)); do req_{sig} \"b$i\" & done; wait",
        f"  for ((i = sent + 1; i <= sent + {BATCH} && i <= {limit}; i++)); do",
        f'    if [ "$(cat "$out/b$i.status")" = {until} ]; then found="b$i"; break; fi',
        "  done",
        f"  sent=$((sent + {BATCH}))",
        "done",
        f'if [ -n "$found" ]; then echo "the first {until} came after at most $sent requests:"; show "$found"; '
        f'sed "s/^/    /" "$out/$found.headers"; else echo "no {until} within {limit} requests"; fi',
    ]


def write_scripts(results: Iterable[ClauseResult], directory: Path, base_url: str,
                  scrub: Callable[[str], str], extra_headers: Sequence[tuple[str, str]] = ()) -> list[Path]:
    """Write every failure's reproducer under ``directory`` (made executable); return the paths."""
    written = []
    for result in results:
        names = script_names(result)
        for failure in result.failures:
            name = names.get(id(failure))
            text = render_script(failure, base_url, extra_headers) if name else None
            if name is None or text is None:
                continue
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / name
            path.write_text(scrub(text), encoding="utf-8")
            path.chmod(0o755)
            written.append(path)
    return written


def describe(failure: ClauseFailure) -> str:
    """A short account of what the script sends: "4 concurrent requests, then 1 request"."""
    parts: list[str] = []
    singles = 0
    for step in evidence(failure):
        if not step.concurrent and step.repeat == 1:
            singles += 1
            continue
        if singles:
            parts.append("1 request" if singles == 1 else f"{singles} requests in turn")
            singles = 0
        parts.append(f"a burst of up to {step.repeat} until {step.until}" if step.repeat > 1
                     else f"{len(step.exchanges)} concurrent requests")
    if singles:
        parts.append("1 request" if singles == 1 else f"{singles} requests in turn")
    return ", then ".join(parts)

