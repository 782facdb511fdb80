"""The profile travels in gzip (issue #10, part 2): a real node serves it compressed to a client that asks, with its
own ETag and Vary; the hub asks for gzip, inflates it under its decompressed-size cap (a gzip bomb is refused after
at most the cap, with the hub's memory bounded and the other nodes harvested), verifies the signature over the
decompressed document, and refuses a content coding it did not ask for. Real HTTP servers on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tracemalloc
import zlib

import pytest
import requests

from connectors.content_coding import (
    SLICE,
    ContentCodingError,
    GzipDecoder,
    decoder_for,
)
from federation.node import compression
from federation.settings import packaged_settings
from federation.signing import verify_signatures
from federation.signing.keys import jwk_to_public_key
from tests.support.builders import AGRI_CODES, big_profile_bytes, member_doc, profile_bytes
from tests.support.environment import harvest_settings
from tests.support.fake_node import FakeHandler
from tests.support.hub_state import by_node, versions
from tests.support.nodes import real_node

PROFILE = "/api/v1/profile"


def raw_get(url: str, **headers) -> tuple[requests.Response, bytes]:
    """GET ``url`` and the body exactly as sent (not decoded); no coding asked for unless Accept-Encoding is given
    (requests would offer gzip)."""
    response = requests.get(url, headers={"Accept-Encoding": "identity", **headers}, stream=True, timeout=5)
    with response:
        return response, response.raw.read(decode_content=False)


def serve_coded(body: bytes, coded: bytes, encoding: str):
    """A fake node's profile behaviour: ``coded`` with Content-Encoding ``encoding``, signed over ``body``."""

    def behaviour(h: FakeHandler) -> None:
        h.send_body(200, coded, headers={"Content-Encoding": encoding}, signature=h.server.signature_for(body))

    return behaviour


# -- the node serves gzip -----------------------------------------------------------------------------------------

def test_the_node_serves_its_profile_in_gzip_to_a_client_that_asks(backend, make_node, serve):
    app, url = real_node(make_node, serve, members=40)
    publication = app.extensions["medmci"].service.publication("public")
    identity_tag = publication.etag.strip('"')

    plain, plain_body = raw_get(url + PROFILE)
    assert "Content-Encoding" not in plain.headers
    assert plain_body == publication.body
    assert plain.headers["ETag"] == f'"{identity_tag}"'
    assert "Accept-Encoding" in plain.headers["Vary"]

    zipped, zipped_body = raw_get(url + PROFILE, **{"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped_body) == publication.body
    assert len(zipped_body) < len(publication.body) / 3
    assert zipped.headers["ETag"] == f'"{identity_tag}-gzip"'  # another representation, another tag
    assert [v.strip() for v in zipped.headers["Vary"].split(",")] == ["Signature", "Signature-Input",
                                                                       "Accept-Encoding"]
    # The signature is over the document, whichever representation carries it.
    assert zipped.headers["Med-MCI-Signature"].split(".")[0] == plain.headers["Med-MCI-Signature"].split(".")[0]
    keys = {k["kid"]: jwk_to_public_key(k) for k in app.extensions["medmci"].keys.published()}
    verify_signatures(gzip.decompress(zipped_body), zipped.headers["Med-MCI-Signature"], keys,
                      expected_htu=url + PROFILE)

    # Each If-None-Match is compared with the tag of the representation the request selects (weakly).
    def status(tag: str, accept: str) -> tuple[int, str | None, str]:
        response, _body = raw_get(url + PROFILE, **{"If-None-Match": tag, "Accept-Encoding": accept})
        return response.status_code, response.headers.get("Content-Encoding"), response.headers["ETag"]

    assert status(f'"{identity_tag}-gzip"', "gzip") == (304, None, f'"{identity_tag}-gzip"')
    assert status(f'W/"{identity_tag}-gzip"', "gzip, deflate") == (304, None, f'"{identity_tag}-gzip"')
    assert status(f'"{identity_tag}"', "identity") == (304, None, f'"{identity_tag}"')
    assert status(f'"{identity_tag}"', "gzip") == (200, "gzip", f'"{identity_tag}-gzip"')
    assert status(f'"{identity_tag}-gzip"', "identity") == (200, None, f'"{identity_tag}"')
    # gzip refused by its quality, or accepted through "*".
    assert status('"other"', "gzip;q=0, br") == (200, None, f'"{identity_tag}"')
    assert status('"other"', "*") == (200, "gzip", f'"{identity_tag}-gzip"')


def test_the_gzip_bytes_are_made_once_per_published_version(backend, make_node, serve, monkeypatch):
    app, url = real_node(make_node, serve)
    calls = []
    real = compression.gzip.compress
    monkeypatch.setattr(compression.gzip, "compress", lambda data, **kw: calls.append(len(data)) or real(data, **kw))

    first = [raw_get(url + PROFILE, **{"Accept-Encoding": "gzip"})[1] for _ in range(3)]
    assert len(calls) == 1 and first[0] == first[1] == first[2]
    app.extensions["medmci"].service.create_member(member_doc("qoot-new", AGRI_CODES[0]))
    _response, body = raw_get(url + PROFILE, **{"Accept-Encoding": "gzip"})
    assert len(calls) == 2
    assert gzip.decompress(body) == app.extensions["medmci"].service.publication("public").body
    assert b"qoot-new" in gzip.decompress(body)


# -- the hub reads gzip ---------------------------------------------------------------------------------------------

def test_a_profile_over_the_received_cap_fits_when_served_compressed(backend, make_node, make_hub, serve,
                                                                     fake_node):
    """harvest.max_bytes counts the bytes received, harvest.max_decompressed_bytes the document: a profile larger
    than the first is harvested when its node serves it gzip-compressed, refused when it serves it plain, and
    refused compressed too once its decompressed size passes the second."""
    body = big_profile_bytes(60_000)
    zipped = gzip.compress(body)
    assert len(zipped) < 20_000 < len(body) < 100_000
    caps = {"max_bytes": 20_000, "max_decompressed_bytes": 100_000}
    compressed = fake_node(serve_coded(body, zipped, "gzip"))
    plain = fake_node(serve_coded(body, body, "identity"))
    hub = make_hub(overrides=harvest_settings(**caps))  # (the fake nodes both say they are menara: one per hub)
    hub.nodes.register("menara", compressed.url)
    fitted = by_node(hub.harvester.harvest())["menara"]
    assert fitted["outcome"] == "new_version", fitted
    assert bytes(versions(hub, "menara")[0].body) == body
    plain_hub = make_hub("plain", overrides=harvest_settings(**caps))
    plain_hub.nodes.register("menara", plain.url)
    refused_plain = by_node(plain_hub.harvester.harvest())["menara"]
    assert refused_plain["outcome"] == "failed" and "is over the cap of 20000" in refused_plain["reason"]
    small = make_hub("small", overrides=harvest_settings(max_bytes=20_000, max_decompressed_bytes=50_000))
    small.nodes.register("menara", compressed.url)
    refused = by_node(small.harvester.harvest())["menara"]
    assert "over the cap of 50000 bytes once decompressed (gzip, " in refused["reason"]


def test_the_hub_asks_for_gzip_and_stores_the_decompressed_signed_document(backend, make_node, make_hub, serve,
                                                                           fake_node):
    node_app, node_url = real_node(make_node, serve, members=30)
    body = profile_bytes()
    fake = fake_node(serve_coded(body, gzip.compress(body), "gzip"))
    hub = make_hub()
    hub.nodes.register("qoot", node_url)
    hub.nodes.register("menara", fake.url)

    report = by_node(hub.harvester.harvest())
    assert {n: r["outcome"] for n, r in report.items()} == {"qoot": "new_version", "menara": "new_version"}
    assert [h.get("Accept-Encoding") for p, h in fake.requests if p == fake.PROFILE_PATH] == ["gzip"]
    [stored] = versions(hub, "menara")
    assert bytes(stored.body) == body
    assert stored.sha256 == hashlib.sha256(body).hexdigest()
    federation_body = node_app.extensions["medmci"].service.publication("federation").body
    assert bytes(versions(hub, "qoot")[0].body) == federation_body

    # The next fetch is conditional on the gzip representation's tag: 304, nothing fetched again.
    report = by_node(hub.harvester.harvest())
    assert report["qoot"]["outcome"] == "not_modified"


def test_a_gzip_bomb_is_refused_at_the_cap_with_memory_bounded_and_the_others_harvested(
        backend, make_node, make_hub, serve, fake_node):
    """10 MB of gzip that inflates to 10 GB of zeros (1000 members of 10 MB each): refused once the decompressed
    bytes pass harvest.max_decompressed_bytes (the default, 64 MB: the 10 MB on the wire are under harvest.max_bytes),
    after reading a few KB of it; the hub's allocations stay near the cap."""
    cap = int(packaged_settings().get("harvest.max_decompressed_bytes"))
    member = gzip.compress(b"\0" * 10_000_000, mtime=0)
    bomb = member * (10_000_000 // len(member))
    assert len(bomb) > 9_000_000
    _app, node_url = real_node(make_node, serve)
    fake = fake_node(serve_coded(profile_bytes(), bomb, "gzip"))
    hub = make_hub()
    hub.nodes.register("qoot", node_url)
    hub.nodes.register("menara", fake.url)

    tracemalloc.start()
    try:
        report = by_node(hub.harvester.harvest())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report["qoot"]["outcome"] == "new_version"
    menara = report["menara"]
    assert menara["outcome"] == "failed"
    assert f"body is over the cap of {cap} bytes once decompressed (gzip, " in menara["reason"]
    received = int(menara["reason"].split("gzip, ")[1].split(" bytes")[0])
    assert received < 100_000  # a few slices of the bomb, not its 10 MB
    assert peak < 2 * cap, f"peak of {peak} bytes allocated during the harvest"
    assert versions(hub, "menara") == []


@pytest.mark.parametrize("encoding, coded, reason", [
    pytest.param("br", b"\x8b\x02\x80{}\x03", "Content-Encoding 'br', which the hub did not ask for", id="br"),
    pytest.param("deflate", zlib.compress(b"{}"), "Content-Encoding 'deflate', which the hub did not ask for",
                 id="deflate"),
    pytest.param("gzip, gzip", gzip.compress(gzip.compress(b"{}")),
                 "Content-Encoding 'gzip, gzip', which the hub did not ask for", id="stacked"),
    pytest.param("gzip", gzip.compress(b"x" * 50_000)[:-4], "the gzip body ends before its gzip stream does",
                 id="cut-off"),
    pytest.param("gzip", b"this is not gzip at all", "the gzip body is not valid", id="not-gzip"),
])
def test_a_coding_the_hub_did_not_ask_for_or_a_broken_gzip_is_refused(backend, make_hub, fake_node, encoding,
                                                                       coded, reason):
    fake = fake_node(serve_coded(profile_bytes(), coded, encoding))
    hub = make_hub()
    hub.nodes.register("menara", fake.url)
    outcome = hub.harvester.harvest()["nodes"][0]
    assert outcome["outcome"] == "failed"
    assert reason in outcome["reason"]
    assert versions(hub, "menara") == []


def test_x_gzip_and_an_identity_coding_are_read(backend, make_hub, fake_node):
    body = profile_bytes()
    fake = fake_node(serve_coded(body, gzip.compress(body), "x-gzip"))
    hub = make_hub()
    hub.nodes.register("menara", fake.url)
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "new_version"
    fake.profile = serve_coded(body, body, "identity")
    assert hub.harvester.harvest()["nodes"][0]["outcome"] == "unchanged"


# -- the decoder ----------------------------------------------------------------------------------------------------

def test_the_gzip_decoder_inflates_in_bounded_slices_across_members_and_chunks():
    document = json.dumps({"members": [{"id": f"m{i}", "text": "olive oil " * 50} for i in range(2000)]}).encode()
    coded = gzip.compress(document[:300_000]) + gzip.compress(document[300_000:])  # two gzip members
    decoder = GzipDecoder()
    pieces = [piece for start in range(0, len(coded), 1000) for piece in decoder.decode(coded[start:start + 1000])]
    decoder.finish()
    assert b"".join(pieces) == document
    assert max(map(len, pieces)) <= SLICE
    # A zeros bomb fed in one piece still comes out a slice at a time.
    bomb = GzipDecoder().decode(gzip.compress(b"\0" * 5_000_000))
    assert len(next(bomb)) == SLICE


@pytest.mark.parametrize("header, name", [(None, "identity"), ("", "identity"), ("identity", "identity"),
                                          ("GZIP", "gzip"), (" x-gzip ", "gzip")])
def test_decoder_for_the_codings_the_hub_reads(header, name):
    assert decoder_for(header).name == name


def test_decoder_for_refuses_others_without_repeating_control_characters():
    with pytest.raises(ContentCodingError, match=r"Content-Encoding 'zstd\?\?x'"):
        decoder_for("zstd\r\nx")
