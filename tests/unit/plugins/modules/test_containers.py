# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module shell: arguments in, engine errors out as fail_json. No engine needed."""
from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.dockerup.bootstrap.plugins.modules import containers


def run_module(capsys, args):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            containers.main()
    return json.loads(capsys.readouterr().out)


def test_invalid_definitions_fail_before_touching_docker(capsys, tmp_path):
    result = run_module(capsys, {
        "containers": [{"name": "web", "image": "img", "portMapping": [], "env": {"TOKEN": ["hunter2"]}}],
        "cache": str(tmp_path),
        "docker_host": "unix:///nonexistent/docker.sock",
    })
    assert result["failed"] is True
    assert "2 problems in container definitions; nothing was changed" in result["msg"]
    assert "inline[0]: container 'web': portMapping: unknown key 'portMapping' (did you mean 'portMappings'?)" in result["msg"]
    assert "hunter2" not in json.dumps(result)


def test_unreachable_engine_names_the_address(capsys, tmp_path):
    result = run_module(capsys, {
        "containers": [{"name": "web", "image": "img"}],
        "cache": str(tmp_path),
        "docker_host": "unix:///nonexistent/docker.sock",
    })
    assert result["failed"] is True
    assert "unix:///nonexistent/docker.sock" in result["msg"]


def test_bad_cleanup_choice_is_refused(capsys):
    result = run_module(capsys, {"cleanup": "everything"})
    assert result["failed"] is True and "cleanup" in result["msg"]
