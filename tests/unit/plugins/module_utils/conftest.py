# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by the unit tests of module_utils."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

IMDS_STUB = os.path.join(os.path.dirname(__file__), "..", "..", "..", "integration", "imds_stub.py")


@pytest.fixture()
def imds(tmp_path):
    """The integration tests' IMDS stand-in (tests/integration/imds_stub.py) on 127.0.0.1, at ``imds.url``;
    ``imds.set(mode, body, **more)`` changes what it serves (``more``: e.g. ``hang_seconds``)."""
    spec = importlib.util.spec_from_file_location("imds_stub", IMDS_STUB)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    state = tmp_path / "imds.json"
    stub = module.ImdsStub(str(state), port=0).start()
    stub.set = lambda mode, body="", **more: state.write_text(json.dumps(dict(more, mode=mode, body=body)))
    yield stub
    stub.stop()
