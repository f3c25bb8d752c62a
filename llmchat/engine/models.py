"""Which models a visitor may pick: the preset's own, or one the preset's server lists.

The picker is filled from the server's ``/v1/models``, but its value comes back from the
browser or an API client, so it is checked again on the server before every request: nothing
but a preset's model or a listed id ever reaches the server as ``model``. Listings are cached
per server for a minute (every page load and every message would otherwise ask again), and a
server is asked once at a time (page loads and turns meanwhile wait for that answer); the last
good listing is kept when the server stops answering, so a model picked a moment ago stays
usable while the server is briefly unreachable.

Presets with an ``embedded:`` section run one local model, so their list is that model alone.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from llmchat.core.presets import LoadedPreset
from llmchat.engine.http import SingleFlight
from llmchat.engine.servers import ServerResolver
from llmchat.engine.stream import ClientPool

LISTING_TTL = 60.0  # seconds a server's model list is trusted before asking again
MAX_MODEL_NAME = 200  # the preset schema's own bound for `model`
MAX_LISTED = 500  # a server listing thousands of models (OpenRouter...) is cut for the picker


@dataclass(frozen=True)
class Listing:
    """What the picker shows for a preset.

    ``online`` is None for a local model (it has no server until llmchat starts it).
    """

    models: tuple[str, ...]
    online: bool | None
    local: bool


class ModelNotOffered(Exception):
    """The visitor asked for a model that is neither the preset's nor listed by its server."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.model = model


class ModelDirectory:
    """Model listings per server, cached, and the server-side check of a visitor's pick."""

    def __init__(self, pool: ClientPool, resolver: ServerResolver, ttl: float = LISTING_TTL) -> None:
        self._pool = pool
        self._resolver = resolver
        self._ttl = ttl
        # server key -> (monotonic time of the last attempt, last good listing or None)
        self._cache: dict[str, tuple[float, tuple[str, ...] | None]] = {}
        self._last_good: dict[str, tuple[str, ...]] = {}
        self._flights = SingleFlight()

    @staticmethod
    def _key(preset: LoadedPreset) -> str:
        # Two presets on one server with different keys may see different models.
        secret = hashlib.sha256(preset.api_key.get_secret_value().encode()).hexdigest()[:16]
        return f"{preset.base_url}#{secret}"

    async def listing(self, preset: LoadedPreset, *, refresh: bool = False) -> Listing:
        """The models to offer for ``preset``; ``refresh`` asks the server even if cached."""
        if preset.settings.embedded is not None:
            return Listing(
                (preset.model,), online=None if self._resolver.needs_start(preset) else True, local=True
            )
        key = self._key(preset)
        cached = self._cache.get(key)
        if refresh or cached is None or time.monotonic() - cached[0] > self._ttl:
            # Page loads and turns that need the list while it is being asked for wait for that answer.
            cached = await self._flights.run(key, lambda: self._ask(key, preset))
        listed = cached[1]
        return Listing(listed or (), online=listed is not None, local=False)

    async def _ask(self, key: str, preset: LoadedPreset) -> tuple[float, tuple[str, ...] | None]:
        found = await self._pool.list_models(preset)
        listed = tuple(dict.fromkeys(m for m in found if m))[:MAX_LISTED] if found is not None else None
        cached = (time.monotonic(), listed)
        self._cache[key] = cached
        if listed is not None:
            self._last_good[key] = listed
        return cached

    async def check(self, preset: LoadedPreset, model: str | None) -> str:
        """The model name to send for a visitor's pick; empty means the preset's own.

        Raises :class:`ModelNotOffered` for anything else that the server does not list.
        """
        picked = (model or "").strip()
        if not picked or picked == preset.model:
            return preset.model
        if len(picked) > MAX_MODEL_NAME or not picked.isprintable():
            raise ModelNotOffered(picked[:MAX_MODEL_NAME])
        if preset.settings.embedded is not None:
            raise ModelNotOffered(picked)
        listing = await self.listing(preset)
        known = set(listing.models) | set(self._last_good.get(self._key(preset), ()))
        if picked not in known:
            raise ModelNotOffered(picked)
        return picked


def choices(preset: LoadedPreset, listing: Listing, preset_label: str) -> list[tuple[str, str]]:
    """Dropdown choices: the preset's model first (value ``""``), then the other listed ones.

    The empty value keeps API clients that never heard of the picker on the preset's model,
    whichever preset they name.
    """
    rest = [(m, m) for m in listing.models if m != preset.model]
    return [(preset_label, ""), *rest]
