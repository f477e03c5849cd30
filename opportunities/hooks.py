"""What apps above this one show on its deal pages and lists, without this app naming them.

Imports flow one way (people, stages ← opportunities ← pipeline, postmortem), yet a deal's page
shows things a higher app owns, such as its open pipeline-health flags. The higher app registers
them here from its `AppConfig.ready()`; the deal page and the deal lists render each registered
template next to the deal's name with that deal's rows as `items` and, as `can_act`, whether the
user may change the deal. Columns, panels, reminders, demo seeders and back-test sections work
the same way.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet, prefetch_related_objects


@dataclass(frozen=True)
class DealBadges:
    """Rows of a higher app shown next to a deal's name, e.g. pipeline's open flags."""

    name: str  # unique among the registered badges
    related_name: str  # the reverse relation from Opportunity to the rows
    queryset: Callable[[], QuerySet]  # which of those rows, in display order
    template: str  # rendered with `items` and `can_act`


_registered: dict[str, DealBadges] = {}


def register_deal_badges(badges: DealBadges) -> None:
    """Show `badges` on deal pages and lists (registering the same name again replaces it)."""
    _registered[badges.name] = badges


def _prefetches(registered: dict, prefix: str) -> list[Prefetch]:
    """One prefetch per registered badge or column set (each has `related_name`, `queryset` and
    `name`), into `<prefix><name>`: a page of deals costs one query each, not one per deal."""
    return [Prefetch(r.related_name, queryset=r.queryset(), to_attr=f"{prefix}{r.name}") for r in registered.values()]


def _prefetched(deal, registered: dict, prefix: str) -> list[tuple]:
    """[(registered, its rows for `deal`)], from the prefetched rows (fetched now if they were not)."""
    if any(not hasattr(deal, f"{prefix}{r.name}") for r in registered.values()):
        prefetch_related_objects([deal], *_prefetches(registered, prefix))
    return [(r, getattr(deal, f"{prefix}{r.name}")) for r in registered.values()]


def badge_prefetches() -> list[Prefetch]:
    return _prefetches(_registered, "_badges_")


def deal_badges(deal) -> list[dict]:
    """[{"template", "items"}] for `deal`."""
    return [{"template": b.template, "items": items} for b, items in _prefetched(deal, _registered, "_badges_")]


# --- columns: a higher app's figures on each row of My deals -----------------------------------------


@dataclass(frozen=True)
class DealSort:
    """An order a higher app adds to the deal lists' sort menu (and the API's `ordering`), as
    `order_by` terms over Opportunity, e.g. `F("signal__priority").desc(nulls_last=True)`."""

    key: str  # the value of `sort` / `ordering`, unique among all the deal lists' sorts
    label: str  # what the sort menu says: the order in words
    order_by: tuple


@dataclass(frozen=True)
class DealColumns:
    """Columns a higher app adds to My deals, e.g. guided selling's stored signals. The page
    fetches the rows of `related_name` for its page of deals in one query (`queryset()`), then
    renders `header_template` in the header row and `cell_template` in each deal's row, with
    `deal` and `row`: the deal's related row, None when it has none (a reverse one-to-one), or
    the list of them (a reverse foreign key)."""

    name: str  # unique among the registered column sets
    related_name: str  # the reverse relation from Opportunity to the rows shown
    queryset: Callable[[], QuerySet]
    header_template: str  # the <th> cells
    cell_template: str  # as many <td> cells, each with a data-label for the phone's cards
    width: int  # how many columns the templates add
    sorts: tuple[DealSort, ...] = ()  # orders by these columns, added to the sort menu and the API


_columns: dict[str, DealColumns] = {}


def register_deal_columns(columns: DealColumns) -> None:
    """Show `columns` on My deals (registering the same name again replaces it)."""
    _columns[columns.name] = columns


def deal_columns() -> list[DealColumns]:
    return list(_columns.values())


def column_prefetches() -> list[Prefetch]:
    return _prefetches(_columns, "_columns_")


def deal_column_cells(deal) -> list[dict]:
    """[{"template", "row"}] for `deal`."""
    return [{"template": c.cell_template, "row": row} for c, row in _prefetched(deal, _columns, "_columns_")]


def deal_sorts() -> dict[str, DealSort]:
    """The registered columns' sorts by key, in registration order."""
    return {sort.key: sort for c in _columns.values() for sort in c.sorts}


# --- panels: sections of a higher app on the deal page -----------------------------------------------


@dataclass(frozen=True)
class DealPanel:
    """A section a higher app adds to the deal page, e.g. postmortem's lessons that apply to the
    deal. `context(deal, user)` gives the template its `panel` variable; it must run a fixed
    number of queries, however many rows it shows (the deal page's query count is pinned), and
    take what the page already loaded through `page_loaded`."""

    name: str  # unique among the registered panels, and the id of the template's section
    template: str
    context: Callable  # (deal, user) -> dict, or None to show nothing
    # A lazy panel costs too much to hold up the page (it ranks many rows): the page shows its
    # heading and loads it in a request of its own right after the page (htmx), or inline
    # when the page is asked for it (`?panel=<name>`, the link that works without JavaScript).
    lazy: bool = False
    title: str = ""  # the lazy panel's heading while it loads


_panels: dict[str, DealPanel] = {}


def register_deal_panel(panel: DealPanel) -> None:
    """Show `panel` on deal pages (registering the same name again replaces it)."""
    _panels[panel.name] = panel


def page_loaded(deal, name: str, load: Callable):
    """What the deal page already loaded for `deal` and hands to its panels, so that a panel does
    not fetch it again: "buying_team" (members with their contacts), "competitors" (the deal's
    competitor rows with their competitors) or "stages" (the process's stages in order, each with
    its `checklist` of (milestone, completion or None)). `load()` fetches it when a panel renders
    on its own (an htmx refresh)."""
    loaded = getattr(deal, "page_rows", {})
    return loaded[name] if name in loaded else load()


def deal_panel(name: str) -> DealPanel | None:
    return _panels.get(name)


def deal_panels(deal, user, *, inline: str = "") -> list[dict]:
    """[{"template", "context"}] of the registered panels that have something for `deal`; a lazy
    one (unless it is `inline`) as its placeholder, which loads it."""
    shown = []
    for panel in _panels.values():
        if panel.lazy and panel.name != inline:
            if deal.is_open:  # what lazy panels show is for open deals
                context = {"name": panel.name, "title": panel.title}
                shown.append({"template": "opportunities/_lazy_panel.html", "context": context})
            continue
        context = panel.context(deal, user)
        if context is not None:
            shown.append({"template": panel.template, "context": context})
    return shown


# --- reminders: things a higher app wants people told about ------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """Something one person should act on (a post-mortem overdue), told through the app that
    owns notifications (pipeline's bell and daily digest)."""

    user_id: int
    message: str
    url: str  # a path of this site
    key: str  # identifies the reminder to its source (`mark_notified`)


@dataclass(frozen=True)
class ReminderSource:
    """A higher app's reminders. `due(now)` lists those not yet notified, which the notifier
    turns into notifications and then hands to `mark_notified(reminders, now)` in the same
    transaction, so a second run notifies nobody twice. `for_digest(user, now)` lists what the
    person's daily digest should remind them of (still open, notified or not), and
    `digest_user_ids(now)` who has any."""

    name: str
    due: Callable
    mark_notified: Callable
    for_digest: Callable
    digest_user_ids: Callable


_reminder_sources: dict[str, ReminderSource] = {}


def register_reminder_source(source: ReminderSource) -> None:
    _reminder_sources[source.name] = source


def reminder_sources() -> list[ReminderSource]:
    return list(_reminder_sources.values())


# --- demo data: what a higher app adds to the demo company --------------------------------------------

_demo_seeders: dict[str, Callable] = {}


def register_demo_seeder(name: str, seeder: Callable) -> None:
    """`seeder(seed=int, now=datetime)` adds a higher app's demo rows once the demo company's
    deals exist (postmortem's reviews and lessons); the demo seed runs every one."""
    _demo_seeders[name] = seeder


def run_demo_seeders(*, seed: int, now) -> None:
    for seeder in _demo_seeders.values():
        seeder(seed=seed, now=now)


# --- back-test sections: what a higher app adds to `manage.py backtest` -------------------------------


@dataclass(frozen=True)
class BacktestSection:
    """A part of guided selling that `manage.py backtest` evaluates on held-out deals, e.g. the
    recommendations. `run(train_ids, test_ids)` gets the primary keys of the closed deals it may
    learn from and of the held-out closed deals it is judged on, and returns the lines to print."""

    name: str
    run: Callable  # (train_ids: list[int], test_ids: list[int]) -> list[str]


_backtest_sections: dict[str, BacktestSection] = {}


def register_backtest_section(section: BacktestSection) -> None:
    _backtest_sections[section.name] = section


def backtest_sections() -> list[BacktestSection]:
    return list(_backtest_sections.values())
