"""Safe loading of YAML and JSON documents."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scaleready.documents import load_document, nearest
from scaleready.errors import ProfileError, RulesetError


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def message(path: Path, error: type[ProfileError | RulesetError] = ProfileError) -> str:
    with pytest.raises(error) as caught:
        load_document(path, error)
    return str(caught.value)


def test_yaml_mapping_loads_with_its_data_path_and_hash(tmp_path):
    path = write(tmp_path, "p.yaml", "name: Code Club\nreach:\n  sites: 3472\n")
    document = load_document(path, ProfileError)
    assert document.data == {"name": "Code Club", "reach": {"sites": 3472}}
    assert document.path == path
    assert document.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json", ".YAML"], ids=str)
def test_every_supported_suffix_loads(tmp_path, suffix):
    path = write(tmp_path, "p" + suffix, '{"name": "x"}')
    assert load_document(path, ProfileError).data == {"name": "x"}


def test_unknown_suffix_is_an_error_listing_the_supported_ones(tmp_path):
    text = message(write(tmp_path, "p.txt", "name: x"))
    assert "unknown file type '.txt'" in text and ".yaml, .yml or .json" in text


def test_missing_file_is_an_error_that_names_the_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    assert message(path) == f"{path}: file not found; check the path"


def test_malformed_yaml_gives_the_line(tmp_path):
    path = write(tmp_path, "p.yaml", "name: x\nreach:\n  sites: 3\n people: 4\n")
    text = message(path)
    assert text.startswith(f"{path}: line 4: not valid YAML")


def test_tab_indentation_gets_advice_about_spaces(tmp_path):
    assert "spaces, not tabs" in message(write(tmp_path, "p.yaml", "a: 1\n\tb: 2\n"))


def test_python_object_tag_is_rejected_and_executes_nothing(tmp_path):
    marker = tmp_path / "pwned"
    text = f'name: x\nreach:\n  sites: !!python/object/apply:os.system ["touch {marker}"]\n'
    error_text = message(write(tmp_path, "p.yaml", text))
    assert (
        "line 3: the tag '!!python/object/apply:os.system' is not allowed: profiles are plain data"
    ) in error_text
    assert not marker.exists()


def test_tag_message_names_the_kind_of_document(tmp_path):
    path = write(tmp_path, "r.yaml", "id: x\nrules: !!python/name:os.system\n")
    assert "rulesets are plain data" in message(path, RulesetError)


def test_custom_tag_is_rejected(tmp_path):
    assert "the tag '!secret' is not allowed" in message(
        write(tmp_path, "p.yaml", "a: !secret 1\n")
    )


def test_duplicate_yaml_key_names_the_key_and_line(tmp_path):
    path = write(tmp_path, "p.yaml", "name: x\nreach:\n  sites: 1\n  sites: 2\n")
    assert message(path).endswith("line 4: duplicate key 'sites'; keep only one of them")


def test_duplicate_json_key_names_the_key_and_line(tmp_path):
    path = write(tmp_path, "p.json", '{\n  "name": "x",\n  "name": "y"\n}\n')
    assert message(path).endswith("line 3: duplicate key 'name'; keep only one of them")


def test_aliases_are_rejected_so_nothing_can_expand_exponentially(tmp_path):
    path = write(tmp_path, "p.yaml", "a: &x [1, 2]\nb: *x\n")
    assert "aliases are not allowed" in message(path)


def test_merge_keys_are_rejected(tmp_path):
    path = write(tmp_path, "p.yaml", "a: 1\nb:\n  <<: {c: 1}\n")
    assert "line 3: merge keys ('<<') are not allowed" in message(path)


def test_malformed_json_gives_the_line(tmp_path):
    path = write(tmp_path, "p.json", '{\n  "name": "x"\n  "reach": {}\n}\n')
    assert message(path).startswith(f"{path}: line 3: not valid JSON")


def test_non_utf8_file_is_an_error_with_the_reason(tmp_path):
    path = write(tmp_path, "p.yaml", b"name: caf\xe9\n")
    assert "line 1: the file is not UTF-8 text" in message(path)


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    path = write(tmp_path, "p.json", b'\xef\xbb\xbf{"name": "x"}')
    assert load_document(path, ProfileError).data == {"name": "x"}


@pytest.mark.parametrize(
    ("text", "got"),
    [("", "nothing"), ("- a\n- b\n", "a list"), ("just text\n", "a single value")],
    ids=["empty", "list", "scalar"],
)
def test_top_level_must_be_a_mapping(tmp_path, text, got):
    assert f"at the top level, got {got}" in message(write(tmp_path, "p.yaml", text))


def test_several_yaml_documents_in_one_file_are_an_error(tmp_path):
    assert "one document per file" in message(write(tmp_path, "p.yaml", "a: 1\n---\nb: 2\n"))


def test_line_of_finds_keys_and_list_items_in_yaml(tmp_path):
    text = "name: x\nevidence:\n  evaluations:\n    - title: a\n    - title: b\n      design: rct\n"
    document = load_document(write(tmp_path, "p.yaml", text), ProfileError)
    assert document.line_of(("evidence",)) == 2
    assert document.line_of(("evidence", "evaluations", 1)) == 5
    assert document.line_of(("evidence", "evaluations", 1, "design")) == 6


def test_line_of_falls_back_to_the_deepest_existing_prefix(tmp_path):
    document = load_document(
        write(tmp_path, "p.yaml", "name: x\nreach:\n  sites: 1\n"), ProfileError
    )
    assert document.line_of(("reach", "people_per_year")) == 2
    assert document.line_of(("reach", "sites", 0, "x")) == 3
    assert document.line_of(("nothing",)) is None


def test_line_of_works_for_json(tmp_path):
    text = '{\n  "name": "x",\n  "reach": {\n    "sites": "many"\n  }\n}\n'
    document = load_document(write(tmp_path, "p.json", text), ProfileError)
    assert document.line_of(("reach", "sites")) == 4


def test_nearest_suggests_a_close_name_or_nothing():
    assert nearest("yearly_incom", ["yearly_income", "free_reserves"]) == "yearly_income"
    assert nearest("zebra", ["yearly_income", "free_reserves"]) is None
