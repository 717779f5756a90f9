"""Queries for reviewing stored matches (web page, exports, search). Mixed into ``Store``."""

from __future__ import annotations


class ReviewQueries:
    """Review-side SQL; ``Store`` inherits these methods."""

    def create_review_schema(self) -> None:
        """Extra schema the review side needs (e.g. full-text indexes). Called by create_schema."""
