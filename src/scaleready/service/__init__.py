"""The HTTP service (``scaleready serve``): assessments and rounds over HTTP for grant systems,
per-funder bearer tokens, RFC 9457 problem details, every assessment recorded in the history.

Needs the ``service`` extra (FastAPI, uvicorn): ``pip install 'scaleready[service]'``. Nothing
here is imported by the other commands.
"""
