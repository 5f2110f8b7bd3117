"""Which clause checks each description sentence, or why none can: the sentence table.

Every sentence of the operation's descriptions (``spec.spec_elements``, kind
``sentence``) is decided here, by the first rows whose ``pattern`` (a regular
expression, case-insensitive, on the sentence with whitespace collapsed)
matches it, besides the rules that bind themselves to their own words (the
response sentence rules of ``validators/_sentence_rules.py`` and the advice
rules of ``validators/_advice_rules.py``, found by the coverage module):

* ``clauses``: the clauses whose probes check what the sentence claims (the
  409 and replay sentences are the idempotency clauses', not restated here);
* ``waiver``: why a black-box run of this one operation cannot check it (a
  24-hour window, a logged warning, another endpoint's business).  A row may
  carry both: what is checked, and the part that is waived.

A sentence no row, sentence rule or advice rule matches is *unprobed*: a newer
spec's new sentence shows up in ``avatar-contract spec coverage`` until someone
decides, here, what checks it.  Patterns are anchored on the spec's words, so
a reworded sentence falls out of its row rather than keeping a stale decision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SentenceRow:
    pattern: str
    clauses: tuple[str, ...] = ()
    waiver: str | None = None

    def matches(self, sentence: str) -> bool:
        return re.search(self.pattern, " ".join(sentence.split()), re.IGNORECASE) is not None


_ELSEWHERE = "it is about another endpoint ({}), which this operation's run never calls"
_NOT_FETCHED = "the URL's target is not fetched: a run sends requests to this operation only"
_NAMES = "names what the field holds; all a response shows of it is its schema, checked by response.schema"

ROWS: tuple[SentenceRow, ...] = (
    # -- the operation -------------------------------------------------------------
    SentenceRow(r"^creates a new avatar from an image, video footage, or a text prompt", ("request.variants",)),
    SentenceRow(r"^supports [\w, ]+ types\.?$", ("request.variants",)),
    SentenceRow(r"^avatar training is asynchronous",
                waiver="training finishes after the create answers; polling it is another endpoint's "
                       "(the create's own status is checked by response.schema)"),
    # -- the Idempotency-Key header --------------------------------------------------
    SentenceRow(r"^optional client-supplied key for safely retrying mutations",
                ("idempotency.replay", "idempotency.key_format")),
    SentenceRow(r"share this key replay the original response",
                ("idempotency.replay", "idempotency.replay_body_differs"),
                waiver="the 24-hour window and the logged warning cannot be observed in a short black-box run"),
    SentenceRow(r"while the original is still in flight gets a 409", ("idempotency.in_flight",)),
    SentenceRow(r"^keys must be [\d–-]+ characters", ("idempotency.key_format",)),
    SentenceRow(r"^scope is per-endpoint and per-resource",
                waiver="the operation is one route with no path parameter: the same key on another route "
                       "cannot be sent within it"),
    # -- the request body ----------------------------------------------------------------
    SentenceRow(r"^discriminated union for ", ("request.variants", "request.rejects_invalid")),
    SentenceRow(r"^must be '[^']+' for ", ("request.variants", "request.rejects_invalid")),
    SentenceRow(r"^input type discriminator", ("request.variants", "request.rejects_invalid")),
    SentenceRow(r"provide as \{", ("request.variants",)),
    SentenceRow(r"^reference images — each as \{", ("request.variants",)),
    SentenceRow(r"^max \d+\.?$", ("request.rejects_invalid",)),
    SentenceRow(r"^optional identity\b", ("request.variants",)),
    SentenceRow(r"^by default (it will create a new identity|a new identity is created)",
                waiver="a new identity cannot be told from an existing one within this operation "
                       "(the account's groups are listed by another endpoint)"),
    SentenceRow(r"^mime type of the encoded content", ("request.variants",)),
    SentenceRow(r"^prompt for avatar generation", ("request.variants",)),
    SentenceRow(r"^optional avatar id to use as the visual reference", ("request.variants",)),
    # A referenced avatar (avatar_references): the group it joins, and the refusals the spec states.
    SentenceRow(r"^when provided without avatar_group_id, the new avatar is saved to the referenced avatar's "
                r"group; when provided with avatar_group_id, the avatar must belong to that group",
                ("request.variants", "request.rejects_invalid")),
    SentenceRow(r"^if avatar_id is also provided, it must belong to this group", ("request.rejects_invalid",)),
    SentenceRow(r"^the referenced avatar must exist and have a usable image, otherwise the request is rejected",
                ("request.rejects_invalid",),
                waiver="a usable image: a run cannot make an avatar whose image is unusable (whether training "
                       "fails is the server's), so only a missing and another account's avatar are sent"),
    SentenceRow(r"heygen asset id from the asset upload endpoint",
                waiver="whether an id came from the upload endpoint is known only to the server; the spec "
                       "documents no refusal for an unknown one"),
    # -- error envelopes --------------------------------------------------------------------
    SentenceRow(r"^successful response$", ("response.status", "request.variants")),
    SentenceRow(r"^invalid request parameters$", ("request.rejects_invalid",)),
    SentenceRow(r"^authentication failed$", ("auth.missing", "auth.invalid")),
    SentenceRow(r"^a prior request with this idempotency-key is still in progress", ("idempotency.in_flight",)),
    SentenceRow(r"^wait for the original request to complete, then retry", ("idempotency.in_flight",)),
    SentenceRow(r"^rate limit exceeded$", ("rate_limit.retry_after",)),
    SentenceRow(r"^seconds to wait before retrying", ("rate_limit.retry_after",)),
    SentenceRow(r"^machine-readable error code", ("errors.envelope",)),
    SentenceRow(r"^human-readable error (message|description)", ("errors.envelope",)),
    SentenceRow(r"^which request field caused the error",
                waiver="the spec's own 400 example names 'files', which is no request field, so param is not "
                       "held to name one (blame reads it as a hint only); its type is checked"),
    SentenceRow(r"^link to error documentation", waiver=_NOT_FETCHED),
    # -- the 200 body -------------------------------------------------------------------------
    SentenceRow(r"^the avatar (item|group)\.$", ("response.schema",)),
    SentenceRow(r"^a single avatar (look|group) in the list response",
                waiver=_ELSEWHERE.format("the list endpoint, GET /v3/avatars")),
    SentenceRow(r"to pass as `*avatar_id`* to post /v3/videos", waiver=_ELSEWHERE.format("POST /v3/videos")),
    SentenceRow(r"^pass this as avatar_id to post /v3/videos", waiver=_ELSEWHERE.format("POST /v3/videos")),
    SentenceRow(r"engine (and parameter )?compatibility", waiver=_ELSEWHERE.format("POST /v3/videos")),
    SentenceRow(r"^engine values this look supports", waiver=_ELSEWHERE.format("POST /v3/videos")),
    SentenceRow(r"fetch the looks via get ", waiver=_ELSEWHERE.format("GET /v3/avatars/looks")),
    SentenceRow(r"^default voice id for this", waiver=_ELSEWHERE.format("the voices endpoints")),
    SentenceRow(r"^unique avatar group identifier",
                waiver="a create that joins a group returns that group's id again by design; uniqueness "
                       "across groups needs the account's group list (another endpoint)"),
    SentenceRow(r"^unique look identifier", ("idempotency.replay",),
                waiver="within a run, creates under different keys are compared; uniqueness against the "
                       "account's other looks needs its look list (another endpoint)"),
    SentenceRow(r"^display name of the (look|avatar)",
                waiver="the spec does not say which name a created look or group gets; its type is checked"),
    SentenceRow(r"^url to the (look|avatar) preview (image|video)", waiver=_NOT_FETCHED),
    SentenceRow(r"^native (width|height) of the look in pixels",
                waiver="the look's image is not fetched, so its size cannot be compared"),
    SentenceRow(r"^(gender of the avatar|tags associated with the look|error details\.?$|"
                r"the status of consent for the group|groups are containers for looks)", waiver=_NAMES),
    SentenceRow(r"^none means consent is not required",
                waiver="whether consent is required is the server's decision, not observable black-box"),
    SentenceRow(r"^(preferred orientation of the look|training status of the avatar (look|group)|"
                r"training/creation status of an avatar|error details for a failed avatar creation)",
                ("response.schema",)),
    SentenceRow(r"^only present for private avatars",
                waiver="a create returns the caller's own (private) avatar, so the field may be present; "
                       "a public avatar is never created here"),
    # -- security schemes ------------------------------------------------------------------------
    SentenceRow(r"^heygen api key\.?$", ("auth.missing", "auth.invalid")),
    SentenceRow(r"^obtain from your heygen dashboard", waiver="where a key comes from is outside the API"),
    SentenceRow(r"^oauth2 bearer token", ("auth.bearer",)),
)


def rows_for(sentence: str) -> list[SentenceRow]:
    """The rows deciding ``sentence`` (empty: the table says nothing about it)."""
    return [row for row in ROWS if row.matches(sentence)]
