"""What each service worker holds: its settings, the store, the engines and its rounds' runner;
built when the worker starts, reached by the routes through ``current``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from scaleready.history import Store, open_store
from scaleready.service.assessing import Assessing
from scaleready.service.runner import RoundRunner
from scaleready.service.settings import Settings


@dataclass
class Service:
    settings: Settings
    store: Store
    assessing: Assessing
    runner: RoundRunner

    @classmethod
    def start(cls, settings: Settings) -> Service:
        store = open_store(settings.store_url)
        settings.rounds_dir.mkdir(parents=True, exist_ok=True)
        service = cls(settings, store, Assessing(settings.policies), RoundRunner(settings, store))
        service.assessing.engine(None)  # the default engine built now, not on the first request
        service.runner.start()
        return service


def current(request: Request) -> Service:
    """The worker's service (a dependency of every route)."""
    service: Service = request.app.state.service
    return service
