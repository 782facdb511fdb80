"""What a harvest logs (issue #9, point 8): a run's start and end at INFO, a node's refusal at WARNING with the node
and the reason (escaped), and never the hub's request credentials or its private key."""

from __future__ import annotations

import base64
import logging

from cryptography.hazmat.primitives import serialization

from tests.support.builders import profile_bytes
from tests.support.fake_node import serve_json


def test_a_refused_node_logs_one_warning_with_its_reason_and_no_credentials(backend, make_hub, fake_node, caplog):
    fake = fake_node(serve_json(profile_bytes()))
    body = profile_bytes(sequence=2)
    fake.profile = lambda h: h.send_body(200, body, signature=None)  # unsigned: refused for its signature
    hub = make_hub()
    hub.nodes.register("menara", fake.url)

    with caplog.at_level(logging.DEBUG):
        report = hub.harvester.harvest()

    assert report["nodes"][0]["reason"] == "refused (signature): unsigned"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("federation.")]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "menara" in warnings[0].getMessage() and "refused (signature): unsigned" in warnings[0].getMessage()
    runs = [r.getMessage() for r in caplog.records if r.name == "federation.hub.harvest" and r.levelno == logging.INFO]
    assert any("started: 1 node" in m for m in runs) and any("finished in" in m and "1 failed" in m for m in runs)
    # The hub's request credentials (an HTTP message signature; an Authorization header if one is ever sent) and
    # its private key appear nowhere in the logs.
    sent = [value for _path, headers in fake.requests for name, value in headers.items()
            if name.lower() in ("authorization", "signature")]
    secrets = [part for value in sent for part in (value, *value.split(":")) if len(part) > 20]  # label=:base64:
    assert sent and secrets and not [secret for secret in secrets if secret in caplog.text]
    _kid, key = hub.keys.current_key()
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    for secret in (base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), base64.b64encode(raw).decode(), raw.hex()):
        assert secret not in caplog.text
