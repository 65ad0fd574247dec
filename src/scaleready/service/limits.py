"""The request size limit: a body over it is refused with 413 before it is read whole, whether
its length is declared (Content-Length) or not (chunked)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scaleready.service.problem_details import Problem


class _TooLarge(Exception):
    pass


class RequestSizeLimit:
    """ASGI middleware refusing request bodies larger than ``limit`` bytes (413)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        started = False

        async def counted_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, self._counting(receive), counted_send)
        except _TooLarge:
            if started:  # too late to answer 413: the response is under way
                raise
            await self._refuse(scope, receive, send)

    def _counting(self, receive: Receive) -> Receive:
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _TooLarge
            return message

        return counting_receive

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = (
            f"the request is larger than {self.limit:,} bytes, the most this service accepts; "
            "send a smaller one (a large round can be split into several)"
        )
        response = Problem(413, "too-large", "Request too large", detail).response(scope["path"])
        response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)
