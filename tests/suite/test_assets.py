"""``--asset``: real inputs for live runs, the packaged sample files, and what is not runnable without them."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from avatar_contract.contract_tests.clauses.finding import Verdict
from avatar_contract.contract_tests.probes.bodies import _SAMPLES, factory
from avatar_contract.contract_tests.runner import plan_for, run_clause, run_suite
from avatar_contract.contract_tests.targets.assets import AssetError, load_assets
from avatar_contract.contract_tests.targets.suite_spec import spec_path, use_spec
from avatar_contract.contract_tests.targets.target import Target
from avatar_contract.spec import vendored_spec_path
from avatar_contract.validators import Linter

from ._independent import Independent
from ._support import ASSETS, KEY_1, KEY_2, REMOTE, emulator, vendored_doc, with_gcs_source

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# -- the packaged samples are real files -----------------------------------------------


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """A strict PNG reader (stdlib): signature, every chunk's CRC, IHDR, inflated IDAT size."""
    assert data.startswith(PNG_SIGNATURE)
    pos, chunks, idat = len(PNG_SIGNATURE), [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, payload = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + payload) & 0xFFFFFFFF == crc, kind
        chunks.append(kind)
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", payload[:10])
            assert (depth, colour) == (8, 2)  # 8-bit RGB
        if kind == b"IDAT":
            idat += payload
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND"
    return width, height, zlib.decompress(idat)


def test_the_packaged_png_decodes() -> None:
    width, height, pixels = _png_pixels(_SAMPLES["image"][2])
    assert width >= 16 and height >= 16
    assert len(pixels) == height * (1 + 3 * width)  # one filter byte per row, then RGB


def test_the_packaged_mp4_has_the_boxes_a_player_needs() -> None:
    data, pos, boxes = _SAMPLES["video"][2], 0, []
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        assert size >= 8
        boxes.append(kind)
        pos += size
    assert pos == len(data)
    assert boxes[0] == b"ftyp" and b"moov" in boxes and b"mdat" in boxes


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not installed (apt-get install ffmpeg)")
@pytest.mark.parametrize(("kind", "codec"), [("image", "png"), ("video", "h264")])
def test_a_real_decoder_reads_the_samples(kind: str, codec: str, tmp_path: Path) -> None:
    path = tmp_path / f"sample.{_SAMPLES[kind][1]}"
    path.write_bytes(_SAMPLES[kind][2])
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                            "stream=codec_name,nb_read_frames", "-of", "json", str(path)],
                           capture_output=True, text=True, timeout=60, check=True)
    stream = json.loads(probe.stdout)["streams"][0]
    assert stream["codec_name"] == codec and int(stream["nb_read_frames"]) >= 1


@pytest.mark.skipif(shutil.which("file") is None, reason="needs file(1)")
def test_file_recognises_the_samples(tmp_path: Path) -> None:
    for kind, (mime, ext, data) in _SAMPLES.items():
        path = tmp_path / f"s.{ext}"
        path.write_bytes(data)
        shown = subprocess.run(["file", "--brief", "--mime-type", str(path)], capture_output=True, text=True,
                               check=True).stdout.strip()
        assert shown == mime, kind


# -- reading a fixture -------------------------------------------------------------------


def test_toml_and_json_fixtures_map_onto_the_specs_sources(tmp_path: Path) -> None:
    fixture = load_assets(ASSETS)
    assert fixture.group_id == "grp-from-the-users-account"
    assert fixture.fields("image", "url") == {"url": "https://assets.example.org/people/anna.jpg"}
    assert fixture.fields("video", "asset_id") == {"asset_id": "vid-7be21d"}
    as_json = tmp_path / "assets.json"
    as_json.write_text(json.dumps({
        "avatar_group_id": "grp-from-the-users-account",
        "image": {"url": "https://assets.example.org/people/anna.jpg", "asset_id": "img-0f3c9a"},
        "video": {"url": "https://assets.example.org/people/anna.mp4", "asset_id": "vid-7be21d"},
    }))
    assert load_assets(as_json).assets == fixture.assets


def test_a_base64_entry_is_a_file_read_and_encoded(tmp_path: Path) -> None:
    (tmp_path / "me.png").write_bytes(_SAMPLES["image"][2])
    (tmp_path / "a.toml").write_text('[image]\nbase64 = "me.png"\n')
    fields = load_assets(tmp_path / "a.toml").fields("image", "base64")
    assert fields is not None and fields["media_type"] == "image/png"
    assert Linter(strict=True).lint_request({"type": "photo", "name": "n", "file": {"type": "base64", **fields}}).valid


@pytest.mark.parametrize(("text", "expected"), [
    ('[image]\nurl = "http://cdn.example.org/a.jpg"\n', "is not an https URL"),
    ('[imag]\nurl = "https://cdn.example.org/a.jpg"\n', "did you mean 'image'?"),
    ('[image]\nuri = "https://cdn.example.org/a.jpg"\n', "the spec's asset sources are: asset_id, base64, url"),
    ('[image]\nurl = ""\n', "expected a non-empty string"),
    ('[image]\nurl = 3\n', "expected a non-empty string, got 3"),
    ('[image]\nurl = "https://cdn.example.org/a.mp4"\n', "looks like a video file, listed under [image]"),
    ('[image]\nbase64 = "missing.png"\n', "cannot read 'missing.png'"),
    ('[image]\nasset_id = { asset_id = "x", colour = "red" }\n', "unknown field of a asset_id asset 'colour'"),
    ('image = "https://cdn.example.org/a.jpg"\n', "[image] must be a table of asset sources"),
    ("[image\n", "not TOML"),
])
def test_a_bad_fixture_is_one_line_naming_where(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "assets.toml"
    path.write_text(text)
    with pytest.raises(AssetError) as caught:
        load_assets(path)
    message = str(caught.value)
    assert expected in message and "\n" not in message
    assert message.endswith(")") and str(path) in message.rsplit("(at ", 1)[1]


def test_an_image_given_as_the_video_is_refused_by_the_linters_media_rule(tmp_path: Path) -> None:
    (tmp_path / "me.png").write_bytes(_SAMPLES["image"][2])
    (tmp_path / "a.toml").write_text('[video]\nbase64 = "me.png"\n')
    with pytest.raises(AssetError, match=r"need video files.*video\.base64\)$"):
        load_assets(tmp_path / "a.toml")


def test_verify_turns_a_bad_fixture_into_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from avatar_contract.validators._cli import main

    path = tmp_path / "assets.toml"
    path.write_text('[image]\nurl = "http://cdn.example.org/a.jpg"\n')
    assert main(["verify", "--asset", str(path), "--no-mutation"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "image.url" in err and "Traceback" not in err


# -- sources come from the spec ------------------------------------------------------------


def _active(doc: dict[str, Any], path: Path) -> Iterator[Path]:
    """Write ``doc`` to ``path`` and make it the active spec until the test ends."""
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    before = spec_path()
    use_spec(path)
    yield path
    use_spec(before)


@pytest.fixture()
def fourth_source(tmp_path: Path) -> Iterator[Path]:
    """A newer spec whose asset unions gain a fourth source, ``gcs`` (one field, ``uri``)."""
    doc = with_gcs_source(vendored_doc())
    yield from _active(doc, tmp_path / "newer.yaml")


def test_a_new_source_in_the_spec_is_a_new_fixture_key(fourth_source: Path, tmp_path: Path) -> None:
    path = tmp_path / "assets.toml"
    path.write_text('[image]\ngcs = "gs://bucket/anna.jpg"\n')
    fixture = load_assets(path)
    assert fixture.fields("image", "gcs") == {"uri": "gs://bucket/anna.jpg"}
    f = factory(fixture, invented=False)
    photo = next(s for s in f.sites("photo") if not s.many)
    assert "gcs" in f.available("photo", photo) and "url" not in f.available("photo", photo)
    # ...and without it, gcs is one more thing the report asks for.
    assert any(source == "gcs" for _, source, _ in factory(None, invented=False).unavailable("photo"))


def test_the_vendored_spec_has_no_gcs_source(tmp_path: Path) -> None:
    path = tmp_path / "assets.toml"
    path.write_text('[image]\ngcs = "gs://bucket/anna.jpg"\n')
    with pytest.raises(AssetError, match="unknown asset source 'gcs'"):
        load_assets(path)


# -- what a real target is sent -------------------------------------------------------------


class BodyRecorder:
    def __init__(self, app: Any) -> None:
        self.app, self.bodies = app, []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        chunks: list[bytes] = []

        async def recording() -> Any:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                self.bodies.append(b"".join(chunks))
            return message

        await self.app(scope, recording if scope["type"] == "http" else receive, send)


def _assets_in(body: Any) -> Iterator[dict[str, Any]]:
    for key in ("file",):
        if isinstance(body.get(key), dict):
            yield body[key]
    for item in body.get("reference_images") or []:
        if isinstance(item, dict):
            yield item


@pytest.mark.parametrize("clause", ["request.variants", "response.schema", "request.rejects_invalid"])
def test_a_real_target_gets_only_fixture_assets_or_the_packaged_files_in_valid_bodies(clause: str) -> None:
    fixture = load_assets(ASSETS)
    recorder = BodyRecorder(Independent((KEY_1, KEY_2)))
    target = Target(base_url=REMOTE, api_key=KEY_1, asgi_app=recorder, allow_create=True, max_creates=10_000,
                    profile="quick", seed=9, assets=fixture)
    result = run_clause(clause, target)
    assert result.verdict is Verdict.PASS, (result.reason, [f.message for f in result.failures[:3]])
    linter, real = Linter(strict=True), {v for _, _, fields in fixture.assets for _, v in fields}
    samples = {__import__("base64").b64encode(d).decode() for _, _, d in _SAMPLES.values()}
    valid = [json.loads(b) for b in recorder.bodies if b and linter.lint_request(b).valid]
    assert valid
    for body in valid:
        for asset in _assets_in(body):
            values = {v for k, v in asset.items() if k in ("url", "asset_id", "data")}
            assert values <= real | samples, (clause, asset)


def _planned_sources(target: Target) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for create in plan_for(target).creates:
        used.setdefault(create.variant, set()).update(s for _, picks in create.sources for s in picks)
    return used


def test_in_process_keeps_invented_assets_and_every_source() -> None:
    f = factory()
    for variant in f.variants:
        assert not f.unavailable(variant)
    everything = {v: {s for site in f.sites(v) for s in site.union.values} for v in f.variants}
    assert _planned_sources(Target()) == everything
    assert not plan_for(Target()).unrunnable
    assert run_clause("request.variants", Target(profile="quick", seed=1)).verdict is Verdict.PASS


def test_the_plan_on_a_real_target_uses_what_it_can_be_given() -> None:
    bare = plan_for(Target(base_url=REMOTE, api_key=KEY_1, allow_create=True))
    assert _planned_sources(Target(base_url=REMOTE, api_key=KEY_1, allow_create=True)) == \
        {"photo": {"base64"}, "digital_twin": {"base64"}, "prompt": {"base64"}}
    # What is left out is said, with the fixture entries that would make it runnable.
    assert {u.entry for u in bare.unrunnable} == {"[image] url", "[image] asset_id", "[video] url",
                                                  "[video] asset_id"}
    assert "not runnable on this target (10; add [image] asset_id" in bare.render()
    real = plan_for(Target(base_url=REMOTE, api_key=KEY_1, allow_create=True, assets=load_assets(ASSETS)))
    assert not real.unrunnable and not real.uncovered
    # The fixture's group is joined by every create that sets one: no create waits on another's group.
    joining = [c for c in real.creates if c.group == "set"]
    assert joining and all(c.founder is None for c in joining)
    assert "avatar_group_id set (the --asset group)" in real.render()
    # Under --max-creates 10, every variant and every source at every kind of place is still shown
    # once: a server that refuses one (a base64 file, say) is caught by a small budget too.
    small = plan_for(Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, allow_create=True,
                            max_creates=10, assets=load_assets(ASSETS)))
    f = factory()
    assert {c.variant for c in small.creates} == set(f.variants)
    shown = {(name, s) for c in small.creates for name, picks in c.sources for s in picks}
    assert shown == {(site.field, s) for v in f.variants for site in f.sites(v) for s in site.union.values}


def test_the_users_group_is_joined_and_checked() -> None:
    """A server that ignores the fixture's avatar_group_id fails response.schema, the owner of
    request/response consistency; request.variants, whose creates were accepted, points there."""
    fixture = load_assets(ASSETS)

    class IgnoresGroup(Independent):
        async def process(self, raw: bytes) -> tuple[int, bytes]:
            body = json.loads(raw) if raw.startswith(b"{") else None
            if isinstance(body, dict) and body.get("avatar_group_id") == fixture.group_id:
                body["avatar_group_id"] = None
                raw = json.dumps(body).encode()
            return await super().process(raw)

    target = Target(base_url=REMOTE, api_key=KEY_1, asgi_app=IgnoresGroup((KEY_1,)), allow_create=True,
                    max_creates=10_000, profile="quick", seed=9, assets=fixture)
    result = run_clause("response.schema", target)
    assert result.verdict is Verdict.FAIL
    assert any("avatar_group_id" in f.message for f in result.failures), [f.message for f in result.failures]
    variants = run_clause("request.variants", target)
    assert variants.verdict is Verdict.PASS and any("see response.schema" in n for n in variants.notes)


def test_a_fixture_on_the_emulator_over_asgi_is_used_where_it_can_be() -> None:
    app = emulator()
    target = Target(base_url=REMOTE, api_key=KEY_1, second_api_key=KEY_2, asgi_app=app, allow_create=True,
                    max_creates=100, profile="quick", seed=2, assets=load_assets(ASSETS))
    # With the variants' creates beside it: a replay passes only once fresh creates showed fresh ids.
    results = {r.name: r for r in run_suite(target, ["request.variants", "idempotency.replay"])}
    assert results["idempotency.replay"].verdict is Verdict.PASS, results["idempotency.replay"].reason


@pytest.mark.slow
def test_pytest_takes_the_fixture_as_contract_asset(tmp_path: Path) -> None:
    import os
    import sys

    bad = tmp_path / "assets.toml"
    bad.write_text('[video]\nurl = "https://cdn.example.org/a.jpg"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("AVATAR_")}
    done = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "avatar_contract.contract_tests",
                           "-p", "no:cacheprovider", "--contract-asset", str(bad), "--collect-only", "-q"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stdout + done.stderr  # pytest's usage error
    assert "--contract-asset: " in done.stderr and "listed under [video]" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_readme_fixture_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```toml\n# assets.toml", 1)[1].split("```", 1)[0]
    path = tmp_path / "assets.toml"
    path.write_text("# assets.toml" + block, encoding="utf-8")
    fixture = load_assets(path)
    assert {(kind, source) for kind, source, _ in fixture.assets} == {
        ("image", "url"), ("image", "asset_id"), ("video", "url"), ("video", "asset_id")}
    assert fixture.group_id


def test_the_planner_can_ask_which_sources_each_place_has() -> None:
    from avatar_contract.contract_tests.targets.assets import available_sources, missing_sources

    everything = available_sources(Target())
    assert everything[("photo", ("file",))] == ("asset_id", "base64", "url")
    assert not missing_sources(Target())
    bare = Target(base_url=REMOTE, api_key=KEY_1)
    assert available_sources(bare)[("prompt", ("reference_images", "*"))] == ("base64",)
    missing = missing_sources(bare)
    assert (("digital_twin", ("file",)), "url") in {(place, source) for place, source, _ in missing}
    assert all("[video]" in hint for place, _, hint in missing if place[0] == "digital_twin")
    real = Target(base_url=REMOTE, api_key=KEY_1, assets=load_assets(ASSETS))
    assert not missing_sources(real)


@pytest.fixture()
def no_file_source(tmp_path: Path) -> Iterator[Path]:
    """A spec whose asset unions have no base64 source: a real target needs the fixture for every create."""
    doc: dict[str, Any] = yaml.safe_load(vendored_spec_path().read_text(encoding="utf-8"))
    schemas = doc["components"]["schemas"]
    prompt = schemas["CreatePromptAvatarRequest"]["properties"]
    unions = [schemas[n]["properties"]["file"] for n in ("CreatePhotoAvatarRequest", "CreateDigitalTwinRequest")]
    for union in [*unions, prompt["reference_images"]["anyOf"][0]["items"]]:
        union["oneOf"] = [r for r in union["oneOf"] if not r["$ref"].endswith("AssetBase64")]
        union["discriminator"]["mapping"].pop("base64")
    yield from _active(doc, tmp_path / "no-base64.yaml")


def test_with_no_usable_source_a_clause_is_incomplete_and_names_the_fix(no_file_source: Path) -> None:
    from avatar_contract.contract_tests.runner import run_clause as run

    result = run("auth.missing", Target(base_url=REMOTE, api_key=KEY_1, asgi_app=emulator(spec=str(no_file_source)),
                                         profile="quick", seed=1))
    assert result.verdict is Verdict.INCOMPLETE and result.creates == 0
    assert "under [video] in the asset fixture" in result.reason or "under [image]" in result.reason
