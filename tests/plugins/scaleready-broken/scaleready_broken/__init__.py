"""A plugin whose import fails, as a real broken plugin's would."""

raise RuntimeError("this plugin is broken on purpose")
