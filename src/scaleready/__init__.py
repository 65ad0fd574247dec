"""scaleready: is this social innovation ready to scale? Explained scorecards for funders."""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# The public API, imported on first use so that `import scaleready` stays cheap.
_EXPORTS = {
    "Engine": "scaleready.assessment.engine",
    "create_engine": "scaleready.assessment.build",
    "InnovationProfile": "scaleready.profile",
    "ProfileSection": "scaleready.profile",
    "load_profile": "scaleready.profile",
    "load_profile_with_hash": "scaleready.profile",
    "profile_from_data": "scaleready.profile",
    "Scorecard": "scaleready.assessment.scorecard",
    "ScaleReadyError": "scaleready.errors",
    "hookimpl": "scaleready.hookspecs",
    "PLUGIN_API_VERSION": "scaleready.plugins",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'scaleready' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
