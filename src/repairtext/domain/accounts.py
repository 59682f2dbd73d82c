"""Whose provider account a message travels through. The built-in Twilio account is the platform's, one for all
shops; a Flowroute account is one shop's own. Provider ids, dedupe and delivery receipts are scoped by it."""

from __future__ import annotations

PLATFORM = "platform"


def account_of(provider: str, shop_id: int | None) -> str:
    """'platform' for the built-in Twilio account, 'shop:<id>' for a shop's own Flowroute account."""
    if provider == "twilio":
        return PLATFORM
    if shop_id is None:
        raise ValueError(f"a {provider} message belongs to a shop's own account: shop_id is required")
    return f"shop:{shop_id}"
