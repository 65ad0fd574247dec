"""Grant rounds: many profiles from folders, JSONL, CSV or XLSX, assessed on every core."""
