"""scaleready: is this social innovation ready to scale? Explained scorecards for funders."""

__version__ = "0.1.0"
