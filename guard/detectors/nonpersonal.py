"""Identifier-shaped values that belong to no person: the one list the detectors and the checks on the
model's spans share (LABELLING.md: test cards, role mailboxes, business lines are safe)."""

from __future__ import annotations

import re

__all__ = ["is_role_mailbox", "is_test_card"]

# Published test numbers of card networks and payment processors (Stripe, Adyen, PayPal docs).
_TEST_CARDS = frozenset({
    "4242424242424242", "4111111111111111", "4012888888881881", "4000056655665556", "5555555555554444",
    "5105105105105100", "2223003122003222", "378282246310005", "371449635398431", "6011111111111117",
    "3056930009020004", "36227206271667", "3566002020360505", "6200000000000005",
})
# Mailboxes of a role, not a person (RFC 2142 names and their common Korean-company siblings).
_ROLE_MAILBOX = re.compile(
    r"(?:help|helpdesk|privacy|support|info|admin|administrator|contact|webmaster|postmaster|hostmaster|"
    r"abuse|security|noreply|no-reply|donotreply|sales|marketing|cs|customer|service|hr|recruit|jobs|"
    r"press|media|pr|billing|office|team|hello|dpo|legal|ir|partner|partners|ask|master|root|mail)"
    r"(?:[._-]?(?:kr|ko|team|center|desk))?",
    re.IGNORECASE,
)


def is_test_card(digits: str) -> bool:
    return digits in _TEST_CARDS


def is_role_mailbox(address: str) -> bool:
    local, at, _ = address.partition("@")
    return bool(at) and _ROLE_MAILBOX.fullmatch(local.strip()) is not None
