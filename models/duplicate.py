"""Deep copies of dashboards: pages, cards and their layout, parameters; never shares or slugs."""

from peewee import chunked

from models.content import Card, Collection, Dashboard, Page

# Rows per INSERT: well under SQLite's limit on bound variables (11 per card).
BATCH = 80


def duplicate_dashboard(
    source: Dashboard, owner_id: int, name: str | None = None, collection: Collection | None = None
) -> Dashboard:
    """A private copy owned by `owner_id`, in `collection`: a fixed number of queries per 80 cards."""
    copy = Dashboard.create(
        project=source.project_id,
        owner=owner_id,
        collection=collection,
        name=name or f"Copy of {source.name}"[:255],
        description=source.description,
        parameters=source.parameters,
        default_audience="private",
    )
    pages = list(source.pages)
    Page.insert_many([{"dashboard": copy.id, "position": p.position, "name": p.name} for p in pages]).execute()
    old_position = {page.id: page.position for page in pages}
    new_page = {page.position: page.id for page in Page.select(Page.id, Page.position).where(Page.dashboard == copy)}
    cards = [
        {
            "dashboard": copy.id,
            "page": new_page[old_position[card.page_id]],
            "card_type": card.card_type,
            "config": card.config,
            "x": card.x,
            "y": card.y,
            "w": card.w,
            "h": card.h,
        }
        for card in source.cards.order_by(Card.id)
    ]
    for batch in chunked(cards, BATCH):
        Card.insert_many(batch).execute()
    return copy
