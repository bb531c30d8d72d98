"""``limit`` and ``continue``: lists in pages, as kubectl ``get --chunk-size`` (500 by default)
and reflectors read them.

The continue token carries the list's resourceVersion and the last key served (namespace/name,
the order etcd's keys give). The next page lists the objects after that key *as they are now*:
kube-apiserver serves later pages from an etcd snapshot at the first page's revision, which this
store cannot do, so an object changed between two pages shows its newer state (and one created
behind the key is not listed). A token whose resourceVersion has been compacted away is refused
with 410 Expired, as the API server refuses an expired continue token.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter."
)
INVALID = "continue key is not valid: {reason}"


class PagingError(ValueError):
    def __init__(self, message: str, *, code: int = 400, reason: str = "BadRequest") -> None:
        super().__init__(message)
        self.code, self.reason = code, reason


@dataclass(frozen=True)
class Page:
    limit: int  # 0: everything
    rv: int | None  # the first page's resourceVersion, for later pages
    after: tuple[str, str] | None  # (namespace, name) of the last item already served


def encode(rv: int, key: tuple[str, str]) -> str:
    raw = json.dumps({"v": 1, "rv": rv, "start": list(key)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def parse(limit: str | None, token: str | None, *, compacted: int) -> Page:
    try:
        count = int(limit) if limit else 0
    except ValueError:
        raise PagingError(f'limit: Invalid value: "{limit}": must be an integer') from None
    if not token:
        return Page(limit=max(count, 0), rv=None, after=None)
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        rv, start = int(data["rv"]), data["start"]
        after = (str(start[0]), str(start[1]))
    except (ValueError, KeyError, TypeError, IndexError, binascii.Error):
        raise PagingError(INVALID.format(reason="malformed token")) from None
    if rv < compacted:
        raise PagingError(EXPIRED, code=410, reason="Expired")
    return Page(limit=max(count, 0), rv=rv, after=after)


def paginate(items: list[dict], page: Page, rv: int) -> tuple[list[dict], dict]:
    """The page of ``items`` (sorted by namespace, name) and the list metadata to send."""
    if page.after is not None:
        items = [
            b
            for b in items
            if (b["metadata"].get("namespace", ""), b["metadata"]["name"]) > page.after
        ]
    list_rv = page.rv if page.rv is not None else rv
    meta: dict = {"resourceVersion": str(list_rv)}
    if page.limit and len(items) > page.limit:
        last = items[page.limit - 1]["metadata"]
        meta["continue"] = encode(list_rv, (last.get("namespace", ""), last["name"]))
        meta["remainingItemCount"] = len(items) - page.limit
        items = items[: page.limit]
    return items, meta


def paginate_keys(
    keys: list[tuple[str, str]], page: Page, rv: int
) -> tuple[set[tuple[str, str]], dict]:
    """:func:`paginate` over (namespace, name) keys only: the keys of the page and the list
    metadata."""
    items = [{"metadata": {"namespace": ns, "name": name}} for ns, name in keys]
    served, meta = paginate(items, page, rv)
    return {(b["metadata"]["namespace"], b["metadata"]["name"]) for b in served}, meta
