"""`scaleready plugin new`: a plugin package that installs and passes its own tests as written.

The files are templates shipped as package data (scaleready/templates/plugin); each is filled in
with string.Template from names checked here, so nothing in them is evaluated.
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path
from string import Template

from scaleready import __version__
from scaleready.errors import OutputError, ScaleReadyError

# NAME as a user types it: words of lower-case letters and digits, joined by - or _.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
MAX_NAME_LENGTH = 40  # leaves room in a 64-character id for the derived fact's name
DISTRIBUTION_PREFIX = "scaleready-"
# Which template becomes which file of the new package ({...} are filled from PluginNames).
FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "src/{package}/__init__.py",
    "ruleset.yaml.tmpl": "src/{package}/{ruleset_file}",
    "ruleset.tests.yaml.tmpl": "src/{package}/{tests_file}",
    "test_ruleset.py.tmpl": "tests/test_{ruleset_id}.py",
    "example.yaml.tmpl": "examples/example.yaml",
}


class PluginNameError(ScaleReadyError):
    """A plugin name that cannot make a package, an entry point and a ruleset id."""

    exit_code = 2


@dataclass(frozen=True)
class PluginNames:
    """The names a plugin called NAME gets, one for each place a name is needed."""

    name: str  # as given, without a scaleready- prefix: social-action
    distribution: str  # what pip installs: scaleready-social-action
    package: str  # the import name: scaleready_social_action
    plugin_name: str  # the entry point, and the ruleset id: social_action
    ruleset_id: str
    ruleset_file: str
    tests_file: str
    fact_name: str
    section_name: str  # the plugin's own profile section: social_action
    section_class: str  # its pydantic model: SocialAction
    title: str
    plugin_api: int
    scaleready_version: str


def plugin_names(name: str) -> PluginNames:
    """The names for a plugin called ``name``; PluginNameError saying what to type instead."""
    from scaleready.plugins import PLUGIN_API_VERSION

    given = name.strip().lower().removeprefix(DISTRIBUTION_PREFIX)
    if not NAME_PATTERN.match(given) or len(given) > MAX_NAME_LENGTH:
        raise PluginNameError(
            f"{name!r} cannot name a plugin: use lower-case letters and digits, starting with a "
            f"letter, words joined by - or _, at most {MAX_NAME_LENGTH} characters "
            "(e.g. social-action)"
        )
    snake = given.replace("-", "_")
    if snake in builtin_names():
        raise PluginNameError(
            f"{name!r} is the name of a built-in ruleset ({', '.join(sorted(builtin_names()))}); "
            "choose another (e.g. my-" + given + ")"
        )
    if snake in core_profile_fields():
        raise PluginNameError(
            f"{name!r} is the name of a section of the core profile, which the plugin's own "
            "section cannot take; choose another (e.g. my-" + given + ")"
        )
    title_words = [word.capitalize() for word in re.split("[-_]", given)]
    return PluginNames(
        name=given,
        distribution=DISTRIBUTION_PREFIX + given.replace("_", "-"),
        package="scaleready_" + snake,
        plugin_name=snake,
        ruleset_id=snake,
        ruleset_file=f"{snake}.yaml",
        tests_file=f"{snake}.tests.yaml",
        fact_name=f"{snake}_volunteers_per_staff",
        section_name=snake,
        section_class="".join(title_words),
        title=" ".join(title_words),
        plugin_api=PLUGIN_API_VERSION,
        scaleready_version=__version__,
    )


def builtin_names() -> set[str]:
    """The built-in plugins' names (also their ruleset ids), which a plugin cannot take."""
    try:
        entry_points = importlib.metadata.distribution("scaleready").entry_points
    except importlib.metadata.PackageNotFoundError:  # run from a source tree never installed
        return set()
    return {entry_point.name for entry_point in entry_points.select(group="scaleready")}


def core_profile_fields() -> set[str]:
    """The core profile's top-level keys (a plugin's section named after it cannot take one)."""
    from scaleready.profile import InnovationProfile

    return set(InnovationProfile.model_fields)


def default_directory(names: PluginNames) -> Path:
    return Path(names.distribution)


def write_plugin(names: PluginNames, directory: Path) -> list[Path]:
    """Write the plugin's files under ``directory`` (new, or empty); the paths written."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise OutputError(
            f"{directory} already exists and is not an empty folder; choose another with "
            "--directory, or remove it"
        )
    values = {key: str(value) for key, value in asdict(names).items()}
    templates = files("scaleready").joinpath("templates", "plugin")
    written = []
    for template_name, target in FILES.items():
        text = Template(templates.joinpath(template_name).read_text(encoding="utf-8"))
        path = directory / target.format(**values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.substitute(values), encoding="utf-8")
        written.append(path)
    return written


def packaging_problems(folder: Path) -> list[str]:
    """What in a plugin's pyproject.toml would leave its ruleset files out of the wheel.

    pip reports success either way; the installed plugin is then skipped with "file not found".
    """
    import tomllib

    pyproject = folder / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []  # no project file to judge: a package folder, or one the loader names
    backend = str(data.get("build-system", {}).get("build-backend", ""))
    if not backend:
        return [
            f"{pyproject} has no [build-system] build-backend: pip then builds with setuptools' "
            "defaults, which leave the ruleset YAML out of the wheel; add the [build-system] "
            "table that `scaleready plugin new` writes (hatchling)"
        ]
    setuptools = data.get("tool", {}).get("setuptools", {})
    if backend.startswith("setuptools") and "package-data" not in setuptools:
        return [
            f"{pyproject} builds with setuptools but declares no [tool.setuptools.package-data]: "
            'the ruleset YAML may be left out of the wheel; add e.g. "*" = ["*.yaml"]'
        ]
    return []
