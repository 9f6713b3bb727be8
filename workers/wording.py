"""How the product names things in every message, invite and meeting it writes."""

from __future__ import annotations


def visit_name(appointment: dict) -> str:
    """The appointment's title, else its type in words ("follow up")."""
    return appointment["title"] or appointment["appointment_type"].replace("_", " ")
