"""Safe loading of YAML and JSON documents."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from scaleready.documents import (
    MAX_DOCUMENT_MIB,
    MAX_DOCUMENT_MIB_VARIABLE,
    MAX_NESTING_DEPTH,
    load_document,
    looks_like_number,
)
from scaleready.errors import InputError, PolicyError, ProfileError, RulesetError, SettingError
from scaleready.problems import MAX_PROBLEMS_SHOWN, brief, item_path, join_problems, nearest
from tests.conftest import run_scaleready


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


@pytest.mark.parametrize(
    ("error", "kind"),
    [(ProfileError, "profiles"), (RulesetError, "rulesets"), (PolicyError, "policies")],
    ids=["profile", "ruleset", "policy"],
)
def test_tag_message_names_the_kind_of_document(tmp_path, error, kind):
    path = write(tmp_path, "r.yaml", "id: x\nrules: !!python/name:os.system\n")
    assert f"{kind} are plain data" in message(path, error)


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
    assert "line 1: not UTF-8 text (byte 0x" in message(path)


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


# ---------------------------------------------------------------- what is read, and how much


@pytest.mark.slow
def test_a_named_pipe_is_refused_at_once_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "profile.yaml"
    os.mkfifo(fifo)
    result = run_scaleready("profile", "validate", fifo)  # a hang ends in the 120 s timeout
    assert result.returncode == 3
    assert f"{fifo}: this is a named pipe (FIFO), not a file" in result.stderr


def test_a_device_behind_a_yaml_name_is_refused_not_read_forever(tmp_path):
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    assert "this is a device, not a file; give the path of a .yaml" in message(link)


def test_a_folder_with_a_yaml_name_is_refused(tmp_path):
    (tmp_path / "folder.yaml").mkdir()
    assert "this is a folder, not a file" in message(tmp_path / "folder.yaml")


def test_a_document_over_the_size_limit_is_refused_naming_the_limit_and_how_to_raise_it(tmp_path):
    limit = MAX_DOCUMENT_MIB * 2**20
    path = write(tmp_path, "big.yaml", "name: x\nsummary: " + "a" * limit + "\n")
    text = message(path, PolicyError)
    assert f"larger than {MAX_DOCUMENT_MIB} MiB, the most scaleready reads from one policy" in text
    assert f"{MAX_DOCUMENT_MIB_VARIABLE}={2 * MAX_DOCUMENT_MIB}" in text


def test_a_document_at_the_size_limit_loads(tmp_path):
    limit = MAX_DOCUMENT_MIB * 2**20
    path = write(tmp_path, "big.yaml", "name: x\nsummary: " + "a" * (limit - 18) + "\n")
    assert path.stat().st_size == limit
    assert len(load_document(path, ProfileError).data["summary"]) == limit - 18


def test_the_size_limit_is_raised_by_its_environment_variable(tmp_path, monkeypatch):
    path = write(tmp_path, "big.json", '{"summary": "' + "a" * MAX_DOCUMENT_MIB * 2**20 + '"}')
    monkeypatch.setenv(MAX_DOCUMENT_MIB_VARIABLE, str(MAX_DOCUMENT_MIB + 1))
    assert load_document(path, ProfileError).data["summary"].startswith("aaa")


@pytest.mark.parametrize("value", ["lots", "0", "-1", "1.5", "\u0663"], ids=repr)
def test_a_bad_size_limit_is_a_setting_error_naming_the_variable(tmp_path, monkeypatch, value):
    monkeypatch.setenv(MAX_DOCUMENT_MIB_VARIABLE, value)
    with pytest.raises(SettingError) as caught:
        load_document(write(tmp_path, "p.yaml", "name: x\n"), ProfileError)
    assert str(caught.value).startswith(f"{MAX_DOCUMENT_MIB_VARIABLE}: {value!r} is not a whole")
    assert caught.value.exit_code == 2


# ---------------------------------------------------------------- nesting and long numbers


def nested(depth: int, suffix: str) -> str:
    """A document whose 'rules' value is lists `depth` levels deep, on its second line."""
    inner = "[" * depth + "]" * depth
    if suffix == ".json":
        return '{"name": "x",\n "rules": ' + inner + "}\n"
    return "name: x\nrules: " + inner + "\n"


KINDS = [ProfileError, RulesetError, PolicyError]


@pytest.mark.parametrize("error", KINDS, ids=lambda e: e.__name__)
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_nesting_100000_deep_is_refused_with_its_line_not_a_recursion_error(
    tmp_path, suffix, error
):
    path = write(tmp_path, "deep" + suffix, nested(100_000, suffix))
    text = message(path, error)
    assert f"line 2: lists and sections are nested more than {MAX_NESTING_DEPTH} levels" in text


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_nesting_is_allowed_up_to_the_limit_and_refused_one_level_beyond(tmp_path, suffix):
    # the top-level mapping is one level: the list inside it may go MAX_NESTING_DEPTH - 1 deep
    allowed = write(tmp_path, "ok" + suffix, nested(MAX_NESTING_DEPTH - 1, suffix))
    assert load_document(allowed, ProfileError).data["name"] == "x"
    refused = write(tmp_path, "no" + suffix, nested(MAX_NESTING_DEPTH, suffix))
    assert "nested more than" in message(refused)


def test_block_style_nesting_beyond_the_limit_names_its_line(tmp_path):
    lines = ["name: x", "rules:"] + [" " * i + "- " for i in range(MAX_NESTING_DEPTH + 5)]
    path = write(tmp_path, "deep.yaml", "\n".join(lines) + "\n")
    assert f"line {MAX_NESTING_DEPTH + 2}: lists and sections are nested" in message(path)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_number_of_5000_digits_is_named_with_its_line_not_an_internal_error(tmp_path, suffix):
    text = '{"name": "x",\n "reach": {"sites": ' + "7" * 5000 + "}}\n"
    text = message(write(tmp_path, "p" + suffix, text))
    assert "line 2: a whole number with 5,000 digits; scaleready reads numbers of up to" in text


# ---------------------------------------------------------------- numbers as people write them


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("1e6", 1e6),
        ("2.5e3", 2500.0),
        ("-1E-5", -1e-05),
        ("1.5e+6", 1.5e6),
        (".5e1", 5.0),
        ("1_000", 1000),
        ("0.3", 0.3),
        ("12", 12),
    ],
    ids=str,
)
def test_numbers_with_exponents_or_separators_are_numbers(tmp_path, written, read):
    document = load_document(write(tmp_path, "p.yaml", f"income: {written}\n"), ProfileError)
    assert document.data["income"] == read and not isinstance(document.data["income"], str)


@pytest.mark.parametrize("written", ['"1e6"', "'2.5e3'", "1e6x", "e6", "1e", "1.2.3e4"], ids=str)
def test_quoted_numbers_and_lookalikes_stay_text(tmp_path, written):
    document = load_document(write(tmp_path, "p.yaml", f"income: {written}\n"), ProfileError)
    assert isinstance(document.data["income"], str)


def test_looks_like_number_matches_what_the_loader_reads_as_a_number():
    assert all(looks_like_number(text) for text in ["1e6", "40", "2.5", "-3", "1_000"])
    assert not any(looks_like_number(text) for text in ["", "forty", "1,000", "£5", "true"])


# ---------------------------------------------------------------- lines and messages


@pytest.mark.slow
def test_line_of_finds_a_late_key_among_40000_in_one_pass(tmp_path):
    text = "name: x\n" + "".join(f"k{n}: {n}\n" for n in range(40_000))
    document = load_document(write(tmp_path, "p.yaml", text), ProfileError)
    assert [document.line_of((f"k{n}",)) for n in (0, 20_000, 39_999)] == [2, 20_002, 40_001]


def test_line_of_finds_mapping_keys_written_as_numbers(tmp_path):
    text = "levels:\n  1: a\n  2: b\nafter: [x, {y: 1}]\n"
    document = load_document(write(tmp_path, "r.yaml", text), RulesetError)
    assert document.line_of(("levels", 2)) == 3
    assert document.line_of(("after", 1, "y")) == 4


def test_item_path_numbers_list_items_from_1_as_the_csv_columns_do():
    assert item_path(("contracts", 0, "pbr_share")) == "contracts.1.pbr_share"
    assert item_path(("evidence", "evaluations", 2, "outcomes", 0)) == (
        "evidence.evaluations.3.outcomes.1"
    )
    assert item_path(()) == ""


def test_join_problems_shows_the_first_few_and_counts_the_rest():
    problems = [f"problem {n}" for n in range(1, 1_000_001)]
    text = join_problems(problems[:MAX_PROBLEMS_SHOWN], total=len(problems))
    lines = text.splitlines()
    assert lines[0] == "1,000,000 problems:"
    assert lines[1:3] == ["  problem 1", "  problem 2"]
    assert lines[-1] == f"  ... and {1_000_000 - MAX_PROBLEMS_SHOWN:,} more"
    assert len(lines) == MAX_PROBLEMS_SHOWN + 2
    assert join_problems(["only one"]) == "only one"


def test_brief_never_prints_a_whole_long_value():
    assert brief(10**5000) == "a whole number of about 5,000 digits"
    assert brief("x" * 100) == repr("x" * 100)[:37] + "..."
    assert [brief(v) for v in (None, True, [1], {"a": 1}, 2.5)] == [
        "nothing",
        "true",
        "a list",
        "a section of keys",
        "2.5",
    ]


def test_an_input_error_calls_its_documents_documents(tmp_path):
    text = message(write(tmp_path, "p.yaml", "a: !!python/none x\n"), InputError)
    assert "documents are plain data" in text


def test_a_control_character_in_yaml_is_named_with_its_line(tmp_path):
    path = write(tmp_path, "p.yaml", "name: x\nsummary: a\x0cb\n")
    assert "line 2: the character U+000C is not allowed in YAML" in message(path)


def test_item_path_quotes_a_key_that_holds_a_line_break_or_an_escape():
    assert item_path(("weights", "evi\ndence")) == "weights.'evi\\ndence'"
    assert item_path(("weights", "\x1b[31mred")) == "weights.'\\x1b[31mred'"


def test_deep_json_that_yaml_cannot_read_still_gets_its_line(tmp_path):
    # "\ud800\udc00" is valid JSON (a surrogate pair) that YAML refuses to read
    text = '{"name": "\\ud800\\udc00",\n "rules": ' + "[" * 40 + "]" * 40 + "}\n"
    assert "line 2: lists and sections are nested" in message(write(tmp_path, "p.json", text))
