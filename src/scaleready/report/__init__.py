"""Reports: the scorecard as a table, Markdown, JSON and HTML, and the files they are written to."""
