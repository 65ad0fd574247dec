"""scaleready: is this social innovation ready to scale? Explained scorecards for funders."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:  # the same names as _EXPORTS, for type checkers (they cannot see __getattr__)
    from scaleready.assessment.build import create_engine as create_engine
    from scaleready.assessment.engine import Assessed as Assessed
    from scaleready.assessment.engine import Engine as Engine
    from scaleready.assessment.engine import Explanation as Explanation
    from scaleready.assessment.policy import Policy as Policy
    from scaleready.assessment.policy import load_policy as load_policy
    from scaleready.assessment.scorecard import Scorecard as Scorecard
    from scaleready.errors import EngineError as EngineError
    from scaleready.errors import InputError as InputError
    from scaleready.errors import OutputError as OutputError
    from scaleready.errors import PluginError as PluginError
    from scaleready.errors import PolicyError as PolicyError
    from scaleready.errors import Problem as Problem
    from scaleready.errors import ProfileError as ProfileError
    from scaleready.errors import RulesetError as RulesetError
    from scaleready.errors import ScaleReadyError as ScaleReadyError
    from scaleready.errors import SettingError as SettingError
    from scaleready.hookspecs import hookimpl as hookimpl
    from scaleready.plugins import PLUGIN_API_VERSION as PLUGIN_API_VERSION
    from scaleready.plugins import Registry as Registry
    from scaleready.profile import InnovationProfile as InnovationProfile
    from scaleready.profile import ProfileSection as ProfileSection
    from scaleready.profile import load_profile as load_profile
    from scaleready.profile import load_profile_with_hash as load_profile_with_hash
    from scaleready.profile import profile_from_data as profile_from_data

# The public API, imported on first use so that `import scaleready` stays cheap.
_EXPORTS = {
    "Engine": "scaleready.assessment.engine",
    "Assessed": "scaleready.assessment.engine",
    "Explanation": "scaleready.assessment.engine",
    "create_engine": "scaleready.assessment.build",
    "Registry": "scaleready.plugins",
    "Policy": "scaleready.assessment.policy",
    "load_policy": "scaleready.assessment.policy",
    "InnovationProfile": "scaleready.profile",
    "ProfileSection": "scaleready.profile",
    "load_profile": "scaleready.profile",
    "load_profile_with_hash": "scaleready.profile",
    "profile_from_data": "scaleready.profile",
    "Scorecard": "scaleready.assessment.scorecard",
    "ScaleReadyError": "scaleready.errors",
    "InputError": "scaleready.errors",
    "ProfileError": "scaleready.errors",
    "RulesetError": "scaleready.errors",
    "PolicyError": "scaleready.errors",
    "PluginError": "scaleready.errors",
    "EngineError": "scaleready.errors",
    "SettingError": "scaleready.errors",
    "OutputError": "scaleready.errors",
    "Problem": "scaleready.errors",
    "hookimpl": "scaleready.hookspecs",
    "PLUGIN_API_VERSION": "scaleready.plugins",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'scaleready' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
