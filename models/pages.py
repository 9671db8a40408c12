"""A dashboard's pages: numbered 1..n by `position`, with no gaps, renumbered on every change."""

from models.content import Card, Dashboard, Page
from models.errors import InvalidPosition, InvalidReference, LastPage, PageNotFound


def page_at(dashboard: Dashboard, number: int, path: str | None = None) -> Page:
    """The page numbered `number`: 404 for a page in the URL, 422 at `path` for one a body names."""
    page = Page.get_or_none((Page.dashboard == dashboard) & (Page.position == number))
    if page is not None:
        return page
    if path is None:
        raise PageNotFound(f"Dashboard {dashboard.id} has no page {number}.")
    raise InvalidReference(
        f"Dashboard {dashboard.id} has no page {number}.",
        code="page_not_found",
        errors=[{"path": path, "message": "no such page on this dashboard"}],
    )


def add_page(dashboard: Dashboard, name: str, position: int | None = None) -> Page:
    """Insert a page at `position` (default: last); the pages from there on move down one."""
    count = _count(dashboard)
    position = count + 1 if position is None else position
    _check_position(position, count + 1)
    _shift(dashboard, position, count, +1)
    return Page.create(dashboard=dashboard, position=position, name=name)


def move_page(page: Page, position: int) -> None:
    """Put `page` at `position`, closing the gap it leaves and opening one where it lands."""
    _check_position(position, _count(page.dashboard_id))
    if position > page.position:
        _shift(page.dashboard_id, page.position + 1, position, -1)
    elif position < page.position:
        _shift(page.dashboard_id, position, page.position - 1, +1)
    page.position = position


def delete_page(page: Page) -> None:
    """Delete a page and its cards; the only page of a dashboard stays (409 last_page)."""
    count = _count(page.dashboard_id)
    if count == 1:
        raise LastPage("A dashboard keeps at least one page.")
    # Explicit rather than ON DELETE CASCADE: SQLite enforces that only with a per-connection pragma.
    Card.delete().where(Card.page == page).execute()
    page.delete_instance()
    _shift(page.dashboard_id, page.position + 1, count, -1)


def _count(dashboard: Dashboard | int) -> int:
    return Page.select().where(Page.dashboard == dashboard).count()


def _check_position(position: int, highest: int) -> None:
    if position > highest:
        raise InvalidPosition(
            f"The position must be at most {highest}.",
            errors=[{"path": "/position", "message": f"must be at most {highest}"}],
        )


def _shift(dashboard: Dashboard | int, low: int, high: int, delta: int) -> None:
    """Renumber the pages in [low, high] by `delta`, in one UPDATE (positions are not unique, so
    the transient duplicates are harmless)."""
    (
        Page.update(position=Page.position + delta)
        .where((Page.dashboard == dashboard) & (Page.position >= low) & (Page.position <= high))
        .execute()
    )
