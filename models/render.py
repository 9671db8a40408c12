"""Rendering a page: every card's data with the parameters applied, each card on its own.

A page's data queries are compiled first, identical ones merged, cached results taken, and the
rest run concurrently on a bounded pool, each on its own connection and under a time budget that
the database itself enforces. Cached results are keyed by the dataset (id, creation time and
version) and the compiled SQL with its bound values: a change of rows or of a card's config makes
a new key, so no process can serve what another has changed. Whole answers are kept too (`kept`),
keyed by what the handler names: a render's by its ETag, which it derives from the render's state
(dashboard version, page, parameters, dataset versions), read from the store on every request.
The answers themselves (their JSON shape, their ETags) are built by the handlers.

Both kinds of entry live in one LRU bounded in bytes (RENDER_CACHE_BYTES), kept as encoded JSON:
rows as Python objects take several times their JSON size, and bytes have an exact size, so the
bound is honest. An entry over an eighth of the bound is not kept, so one huge answer cannot
flush everything else. A result holding a non-finite number (a SUM of REALs overflowing on
SQLite) cannot be JSON: its card answers `non_finite_number` and the rest of the page renders.
"""

import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import peewee
from cachetools import LRUCache

import telemetry
from models import card_queries, card_types
from models.content import Card, Dashboard, Page
from models.datasets import Dataset
from models.db import Prepared, database, is_sqlite
from models.errors import DomainError, InvalidQuery, PageNotFound
from models.parameters import Source, resolve_values
from models.query import CompiledQuery, compile_query

log = logging.getLogger("dashboards_api.render")
# Card errors that may not recur: an answer holding one is not kept.
TRANSIENT = ("query_timeout", "query_failed")
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
# What one entry costs besides its key and payload objects: the LRU's dict slots and order link,
# the (payload, cost) tuple and its int (about 195 bytes measured with tracemalloc; rounded up).
ENTRY_OVERHEAD = 256


class CardError(Exception):
    """Raised when one card cannot be rendered; the others still are."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(slots=True)
class RenderState:
    """What a render of one page depends on, read from the store for each request."""

    dashboard: Dashboard
    page_number: int
    params: dict[str, Any]  # the dashboard's parameters with the request's values, resolved
    cards: list[Card] | None  # the page's cards, or None when they were not needed to know its datasets
    datasets: dict[int, Dataset]  # the datasets the page's cards read, by id

    def identity(self) -> list[Any]:
        """Everything the answer depends on, as JSON-ready values: the dashboard (cards included:
        every card change bumps its version), the page, the parameters and each dataset read. The
        creation times tell apart a dashboard or dataset that took the id of a deleted one
        (SQLite may reuse the highest id) at the same version."""
        dashboard = self.dashboard
        return [
            dashboard.id,
            dashboard.created_at.isoformat(),
            dashboard.version,
            self.page_number,
            self.params,
            sorted((d.id, d.created_at.isoformat(), d.version) for d in self.datasets.values()),
        ]


@dataclass(slots=True)
class CardOutcome:
    """One card of a render: its data, or the error it met."""

    card: Card
    data: object = None
    error: CardError | None = None


@dataclass(slots=True)
class RenderedPage:
    state: RenderState
    cards: list[CardOutcome]  # in layout order

    @property
    def settled(self) -> bool:
        """Whether the answer may be kept: no card met an error that may not recur."""
        return not any(outcome.error is not None and outcome.error.code in TRANSIENT for outcome in self.cards)


class QueryTimeout(Exception):
    """Raised when a card's query outlives its time budget."""


class NonFiniteResult(Exception):
    """Raised when a card's query answers a number JSON cannot carry (infinity, NaN)."""


_renderer: "Renderer | None" = None


def configure(workers: int, budget_ms: float, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
    """Build this process's renderer (called once by create_app)."""
    global _renderer
    _renderer = Renderer(workers=workers, budget_ms=budget_ms, cache_bytes=cache_bytes)


def renderer() -> "Renderer":
    if _renderer is None:
        configure(workers=8, budget_ms=5000)
    assert _renderer is not None
    return _renderer


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON; ValueError for a non-finite number, which JSON cannot carry."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


class ByteCache:
    """An LRU of encoded JSON by key, bounded by the bytes its entries hold.

    An entry costs its key and payload objects as Python holds them (sys.getsizeof is exact for
    str and bytes) plus ENTRY_OVERHEAD; one over `max_bytes // max_share` is not kept.
    """

    def __init__(self, max_bytes: int, max_share: int = 8) -> None:
        self.max_bytes = max_bytes
        self.max_entry = max_bytes // max_share
        self._lru: LRUCache[str, tuple[bytes, int]] = LRUCache(maxsize=max_bytes, getsizeof=lambda entry: entry[1])
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            entry = self._lru.get(key)
        return None if entry is None else entry[0]

    def put(self, key: str, payload: bytes) -> bool:
        """Keep `payload` (bytes) under `key`, evicting the least recently used; False when too large."""
        cost = sys.getsizeof(key) + sys.getsizeof(payload) + ENTRY_OVERHEAD
        if cost > self.max_entry:
            return False
        with self._lock:
            self._lru[key] = (payload, cost)
        return True

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._lru

    def __len__(self) -> int:
        return len(self._lru)

    @property
    def bytes(self) -> int:
        """The bytes accounted to the entries held now (never more than `max_bytes`)."""
        return int(self._lru.currsize)

    def clear(self) -> None:
        with self._lock:
            self._lru.clear()


class Renderer:
    """One per process: the worker pool and the byte-bounded cache (never shared state, only a cache)."""

    def __init__(self, workers: int = 8, budget_ms: float = 5000, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="render")
        self.budget = budget_ms / 1000
        # Query results under "result:<key>", whole answers under "page:<etag>": one bound for both.
        self.cache = ByteCache(cache_bytes)
        # The dataset ids of a page at a dashboard version: a few bytes each, under their own
        # bound (a sixteenth of the answers'), so that they never push an answer out.
        self.page_datasets = ByteCache(max(cache_bytes // 16, 64 * 1024))

    def kept(self, kind: str, key: str, build: Callable[[], tuple[object, bool]]) -> bytes:
        """The answer kept under `kind` and `key` (bytes), or the one `build()` makes, encoded:
        `build()` answers (body, whether it may be kept). Kept answers share the render's bound;
        a key must name everything the answer shows."""
        key = f"{kind}:{key}"
        payload = self.cache.get(key)
        telemetry.render_cache_lookup(kind, hit=payload is not None)
        if payload is None:
            body, keep = build()
            payload = encode(body)
            if keep:
                self.cache.put(key, payload)
                telemetry.render_cache_bytes(self.cache.bytes)
        return payload

    def state(
        self, dashboard: Dashboard, page_number: int, given_params: dict[str, Any], source: Source | None = None
    ) -> RenderState:
        """What a render of the page depends on: the parameters resolved (`given_params` read as
        `source` says, models.parameters: a query string's by default, or a body's; once typed,
        the same values give the same answer and ETag), and the datasets its cards read
        (PageNotFound when there is no such page)."""
        params = resolve_values(dashboard.parameters, given_params, source)
        cards, dataset_ids = self._page_datasets(dashboard, page_number)
        return RenderState(dashboard, page_number, params, cards, _datasets(dashboard.project_id, dataset_ids))

    def run(self, state: RenderState) -> RenderedPage:
        """Every card of the page with its data or its error: cached query results taken, the
        other queries run concurrently under the time budget."""
        cards = state.cards if state.cards is not None else _cards_of(state.dashboard, state.page_number)
        plans = [self._plan(card, state.datasets, state.params) for card in cards]
        results = self._run([ask for plan in plans if isinstance(plan, dict) for ask in plan.values()])
        return RenderedPage(state, [_rendered(card, plan, results, state.params) for card, plan in zip(cards, plans)])

    def _page_datasets(self, dashboard: Dashboard, page_number: int) -> tuple[list[Card] | None, list[int]]:
        """(the page's cards, or None when not read; the ids of the datasets they read).

        The ids are kept by the dashboard's version (every change of a card or page bumps it), so
        a warm render reads neither the cards nor their configs: only the datasets' own versions,
        for the ETag, come from the store each time.
        """
        key = f"datasets:{dashboard.id}:{dashboard.created_at.isoformat()}:{dashboard.version}:{page_number}"
        kept = self.page_datasets.get(key)
        if kept is not None:
            return None, json.loads(kept)
        cards = _cards_of(dashboard, page_number)  # PageNotFound when there is no such page
        ids = sorted({i for i in (card_queries.dataset_id(c.card_type, c.config) for c in cards) if isinstance(i, int)})
        self.page_datasets.put(key, encode(ids))
        return cards, ids

    def _plan(self, card: Card, datasets: dict[int, Dataset], params: dict[str, Any]) -> "Plan | CardError":
        """{name: (cache key, compiled query, count?)} for the card, or the CardError it meets."""
        try:
            card_types.validate_config(card.card_type, card.config)
        except DomainError as exc:
            return CardError("invalid_card_config", f"The card's config no longer validates: {exc.errors}")
        asks = card_queries.queries(card.card_type, card.config)
        if not asks:
            return {}
        dataset = datasets.get(card_queries.dataset_id(card.card_type, card.config))
        if dataset is None:
            return CardError("dataset_not_found", "The card's dataset no longer exists.")
        try:
            compiled = {name: (ask, compile_query(dataset, ask.spec, params)) for name, ask in asks.items()}
        except InvalidQuery as exc:
            return CardError("invalid_query", "; ".join(f"{e['path']}: {e['message']}" for e in exc.errors or ()))
        return {
            name: (_key(dataset, query, ask.count_only), query, ask.count_only)
            for name, (ask, query) in compiled.items()
        }

    def _run(self, asks: list[tuple[str, CompiledQuery, bool]]) -> dict[str, Any]:
        """Results by cache key: cached ones taken, each distinct query run once, concurrently."""
        results: dict[str, Any] = {}
        pending: dict[str, tuple[CompiledQuery, bool]] = {}
        for key, query, count in asks:
            if key in results or key in pending:
                continue
            cached = self.cache.get("result:" + key)
            telemetry.render_cache_lookup("query", hit=cached is not None)
            if cached is not None:
                results[key] = json.loads(cached)
            else:
                pending[key] = (query, count)
        futures = {key: self.pool.submit(self._fetch, query, count) for key, (query, count) in pending.items()}
        wait(futures.values(), timeout=self.budget + 1)
        for key, future in futures.items():
            outcome = _outcome(future)
            if isinstance(outcome, CardError):
                results[key] = outcome
            else:
                results[key], payload = outcome
                self.cache.put("result:" + key, payload)
        telemetry.render_cache_bytes(self.cache.bytes)
        return results

    def _fetch(self, query: CompiledQuery, count: bool) -> tuple[Any, bytes]:
        """The result and its encoding (encoded in the worker, off the request's thread)."""
        with telemetry.card_query(QueryTimeout), database.connection_context(), _deadline(self.budget):
            result = query.count() if count else {"columns": query.columns, "rows": query.fetch()}
        try:
            return result, encode(result)
        except ValueError:
            raise NonFiniteResult() from None


# A card's queries by name: (cache key, compiled query, only the row count?).
Plan = dict[str, tuple[str, CompiledQuery, bool]]


def _key(dataset: Dataset, query: CompiledQuery, count: bool) -> str:
    return json.dumps([dataset.id, dataset.created_at.isoformat(), "count" if count else "rows", query.cache_key])


def _cards_of(dashboard: Dashboard, page_number: int) -> list[Card]:
    """The page's cards in layout order, in one query; PageNotFound when there is no such page."""
    cards = _CARDS_ON_PAGE.rows(dashboard.id, page_number)
    if (
        not cards
        and not Page.select().where((Page.dashboard == dashboard.id) & (Page.position == page_number)).exists()
    ):
        raise PageNotFound(f"Dashboard {dashboard.id} has no page {page_number}.")
    return cards


_CARDS_ON_PAGE = Prepared(
    lambda dashboard_id, page_number: (
        Card.select()
        .join(Page)
        .where((Page.dashboard == dashboard_id) & (Page.position == page_number))
        .order_by(Card.y, Card.x, Card.id)
    )
)


def _datasets(project_id: int, ids: list[int]) -> dict[int, Dataset]:
    """The datasets of the caller's project among `ids` (sorted), by id."""
    if not ids:
        return {}
    rows = _DATASETS.rows(project_id, *ids, shape=len(ids))
    return {row.id: row for row in rows}


_DATASETS = Prepared(
    lambda project_id, *ids, shape: Dataset.select().where(Dataset.id.in_(list(ids)) & (Dataset.project == project_id))
)


def _outcome(future: "Future[tuple[Any, bytes]]") -> "tuple[Any, bytes] | CardError":
    if not future.done():
        return CardError("query_timeout", "The card's query took longer than its time budget.")
    try:
        return future.result()
    except QueryTimeout:
        return CardError("query_timeout", "The card's query took longer than its time budget.")
    except NonFiniteResult:
        return CardError(
            "non_finite_number", "The card's data holds a number that is not finite (a sum out of range?)."
        )
    except peewee.DatabaseError as exc:
        log.warning("card query failed: %s", exc)
        return CardError("query_failed", "The card's query failed in the database.")


def _rendered(card: Card, plan: "Plan | CardError", results: dict[str, Any], params: dict[str, Any]) -> CardOutcome:
    if isinstance(plan, CardError):
        return CardOutcome(card, error=plan)
    answers = {name: results[key] for name, (key, _, _) in plan.items()}
    failed = next((a for a in answers.values() if isinstance(a, CardError)), None)
    if failed:
        return CardOutcome(card, error=failed)
    return CardOutcome(card, data=card_queries.data(card.card_type, card.config, answers, params))


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Have the database stop a query that outlives `seconds` (SQLite: progress handler;
    PostgreSQL: statement_timeout for this transaction)."""
    if is_sqlite():
        connection = database.connection()
        stop_at = time.monotonic() + seconds
        connection.set_progress_handler(lambda: int(time.monotonic() > stop_at), 10_000)
        try:
            yield
        except peewee.OperationalError as exc:
            if "interrupted" in str(exc):
                raise QueryTimeout() from exc
            raise
        finally:
            connection.set_progress_handler(None, 0)
        return
    with database.atomic():
        database.execute_sql("SELECT set_config('statement_timeout', %s, true)", (f"{int(seconds * 1000)}ms",))
        try:
            yield
        except peewee.OperationalError as exc:
            if "statement timeout" in str(exc) or "canceling statement" in str(exc):
                raise QueryTimeout() from exc
            raise
