"""Score stored articles again with the current model: ``monitor rescore [--since] [--alert]``.

What the model learns (fixed seeds, a batch of judgements) reaches what is already stored: new
matches are created for articles that now score relevant; alerts only when asked. Chains the
classifier and the store, like ``pipeline``, for articles instead of feed entries.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from monitor.classify import Classifier
from monitor.models import OutboxPolicy
from monitor.store import Store
from monitor.store.judgements import Rescored, Stored

log = logging.getLogger(__name__)
CHANGED_BY = 0.005  # a score that moved less than this is "unchanged"


@dataclass
class RescoreReport:
    scored: int = 0
    changed: int = 0
    now_relevant: list[int] = field(default_factory=list)  # were not, are now
    no_longer_relevant: list[int] = field(default_factory=list)  # were, are not (match kept)
    matches_created: list[int] = field(default_factory=list)
    alerts: bool = False

    def render(self) -> str:
        alerts = "alerts queued for new stories" if self.alerts else "no alerts (use --alert)"
        return "\n".join(
            [
                f"rescore: {self.scored} articles scored, {self.changed} scores changed",
                f"  now relevant: {len(self.now_relevant)} {_ids(self.now_relevant)}",
                f"  no longer relevant: {len(self.no_longer_relevant)} "
                f"{_ids(self.no_longer_relevant)} (their matches are kept)",
                f"  matches created: {len(self.matches_created)}; {alerts}",
            ]
        )


def _ids(ids: list[int], shown: int = 10) -> str:
    if not ids:
        return ""
    more = f", … {len(ids) - shown} more" if len(ids) > shown else ""
    return "(ids " + ", ".join(map(str, ids[:shown])) + more + ")"


def rescore(
    *,
    store: Store,
    classifier: Classifier,
    since: datetime | None,
    outbox: Callable[[], OutboxPolicy] | None,
) -> RescoreReport:
    """Rescore every article fetched since ``since``; alerts only when ``outbox`` is given."""
    report = RescoreReport(alerts=outbox is not None)
    policy = outbox() if outbox is not None else OutboxPolicy()
    after = 0
    while batch := store.stored_articles(since=since, after_id=after):
        rescored = [_score(classifier, a, report) for a in batch]
        report.matches_created += store.save_rescores(rescored, outbox=policy)
        after = batch[-1].id
    log.info("rescore: done", extra={"scored": report.scored, "changed": report.changed})
    return report


def _score(classifier: Classifier, article: Stored, report: RescoreReport) -> Rescored:
    score = classifier.score(title=article.title, text=article.text)
    report.scored += 1
    report.changed += abs(score.value - article.score) >= CHANGED_BY
    if score.relevant and not article.relevant:
        report.now_relevant.append(article.id)
    elif article.relevant and not score.relevant:
        report.no_longer_relevant.append(article.id)
    reasons = json.dumps(list(score.reasons))
    return Rescored(id=article.id, score=score.value, relevant=score.relevant, reasons=reasons)
