# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import gzip
import json
import os

import pytest

from ansible_collections.dockerup.bootstrap.plugins.module_utils import schema, sources
from ansible_collections.dockerup.bootstrap.plugins.module_utils.errors import DefinitionError


def write(path, document):
    path.write_text(document if isinstance(document, str) else json.dumps(document))


def test_inline_entries_name_their_index():
    found = sources.read_sources(containers=[{"name": "aa"}, {"name": "bb"}])
    assert [(o, s) for _r, o, s in found.entries] == [("inline[0]", "inline"), ("inline[1]", "inline")]


def test_confdir_reads_json_files_sorted_and_ignores_others(tmp_path):
    write(tmp_path / "b.json", {"name": "bb", "image": "i"})
    write(tmp_path / "a.json", {"containers": [{"name": "a1", "image": "i"}, {"name": "a2", "image": "i"}]})
    write(tmp_path / "notes.txt", "not json at all")
    (tmp_path / "dir.json").mkdir()
    found = sources.read_sources(confdir=str(tmp_path))
    assert [r["name"] for r, _o, _s in found.entries] == ["a1", "a2", "bb"]
    assert found.entries[0][1] == "%s: containers[0]" % (tmp_path / "a.json")
    assert found.entries[2][1:] == (str(tmp_path / "b.json"), str(tmp_path / "b.json"))


def test_bad_json_names_the_file_and_is_listed_with_schema_problems(tmp_path):
    write(tmp_path / "good.json", {"name": "bb", "image": "i", "portMapping": []})
    write(tmp_path / "bad.json", '{"name": "web",')
    found = sources.read_sources(confdir=str(tmp_path))
    assert len(found.problems) == 1
    assert found.problems[0].startswith("%s: not valid JSON" % (tmp_path / "bad.json"))
    with pytest.raises(DefinitionError) as info:
        schema.validate(found.entries, found.problems)
    assert len(info.value.problems) == 2
    assert info.value.problems[1].startswith("%s: container 'bb': portMapping: unknown key" % (tmp_path / "good.json"))


def test_document_that_is_not_an_object(tmp_path):
    write(tmp_path / "list.json", [{"name": "bb"}])
    assert "list.json: must hold one container object" in sources.read_sources(confdir=str(tmp_path)).problems[0]


def test_missing_confdir_is_an_error(tmp_path):
    assert "confdir does not exist" in sources.read_sources(confdir=str(tmp_path / "nope")).problems[0]


def test_missing_default_confdir_is_not_an_error(monkeypatch):
    real_isdir, real_exists = os.path.isdir, os.path.exists
    monkeypatch.setattr(os.path, "isdir", lambda p: False if p == sources.DEFAULT_CONFDIR else real_isdir(p))
    monkeypatch.setattr(os.path, "exists", lambda p: False if p == sources.DEFAULT_CONFDIR else real_exists(p))
    assert sources.read_sources(confdir=sources.DEFAULT_CONFDIR).entries == []


def test_user_data_imdsv2(imds, tmp_path):
    imds.set("ok", json.dumps({"containers": [{"name": "ud", "image": "i"}]}))
    found = sources.read_sources(user_data=True, endpoint=imds.url, cache=str(tmp_path))
    assert [(r["name"], o, s) for r, o, s in found.entries] == [("ud", "user-data: containers[0]", "user-data")]
    assert found.warnings == [] and found.unread == set()
    assert json.loads(found.user_data_text) == {"containers": [{"name": "ud", "image": "i"}]}


def test_user_data_imdsv1_fallback(imds, tmp_path):
    imds.set("v1only", json.dumps({"containers": [{"name": "ud", "image": "i"}]}))
    found = sources.read_sources(user_data=True, endpoint=imds.url, cache=str(tmp_path))
    assert [r["name"] for r, _o, _s in found.entries] == ["ud"]


def test_user_data_gzip(tmp_path, imds, monkeypatch):
    body = gzip.compress(json.dumps({"containers": [{"name": "gz", "image": "i"}]}).encode())
    monkeypatch.setattr(sources, "fetch_user_data", lambda endpoint: gzip.decompress(body).decode())
    found = sources.read_sources(user_data=True, endpoint=imds.url, cache=str(tmp_path))
    assert [r["name"] for r, _o, _s in found.entries] == ["gz"]


def test_user_data_404_is_an_empty_set(imds, tmp_path):
    imds.set("missing")
    found = sources.read_sources(user_data=True, endpoint=imds.url, cache=str(tmp_path))
    assert found.entries == [] and found.unread == set() and found.warnings == []
    assert json.loads(found.user_data_text) == {"containers": []}


def test_unreachable_user_data_uses_last_good_copy(imds, tmp_path):
    sources.store_user_data(str(tmp_path), json.dumps({"containers": [{"name": "kept", "image": "i"}]}))
    imds.set("error")
    found = sources.read_sources(user_data=True, endpoint=imds.url, cache=str(tmp_path))
    assert [r["name"] for r, _o, _s in found.entries] == ["kept"]
    assert "last good copy" in found.warnings[0] and "500" in found.warnings[0]
    assert found.user_data_text is None


def test_unreachable_user_data_without_copy_protects_its_containers(tmp_path):
    found = sources.read_sources(user_data=True, endpoint="http://127.0.0.1:9", cache=str(tmp_path))
    assert found.entries == []
    assert found.unread == {"user-data"}
    assert "could not be fetched" in found.warnings[0] and "no last good copy" in found.warnings[0]


@pytest.mark.parametrize("body, reason", [("#!/bin/bash\necho hi", "not JSON"), ('{"other": 1}', "no \"containers\"")])
def test_foreign_user_data_is_ignored_with_warning(imds, tmp_path, body, reason):
    sources.store_user_data(str(tmp_path), json.dumps({"containers": [{"name": "kept", "image": "i"}]}))
    imds.set("ok", body)
    found = sources.read_sources(user_data=True, endpoint=imds.url, cache=str(tmp_path))
    assert [r["name"] for r, _o, _s in found.entries] == ["kept"]
    assert reason in found.warnings[0]
    assert found.user_data_text is None


def test_store_user_data_is_private(tmp_path):
    sources.store_user_data(str(tmp_path / "c"), '{"containers": []}')
    assert oct(os.stat(tmp_path / "c" / "user-data.json").st_mode & 0o777) == "0o600"


def test_yaml_definitions_are_read_like_json(tmp_path):
    (tmp_path / "a.yml").write_text("name: web\nimage: img\nportMappings:\n  - containerPort: \"80\"\n")
    (tmp_path / "b.yaml").write_text("containers:\n  - {name: api, image: img}\n")
    found = sources.read_sources(confdir=str(tmp_path))
    assert [r["name"] for r, _o, _s in found.entries] == ["web", "api"]


def test_bad_yaml_names_the_file(tmp_path):
    (tmp_path / "bad.yml").write_text("name: [web\n")
    assert sources.read_sources(confdir=str(tmp_path)).problems[0].startswith("%s: not valid YAML" % (tmp_path / "bad.yml"))
