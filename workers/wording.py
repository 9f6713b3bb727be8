"""How the product names things in every message, invite and meeting it writes."""

from __future__ import annotations


def visit_name(appointment: dict) -> str:
    """The appointment's title, else its type in words ("follow up")."""
    return appointment["title"] or appointment["appointment_type"].replace("_", " ")


def with_whom(appointment: dict) -> str:
    """Whom the visit is with, as its reader sees it: the clinician's name for the patient, "your
    patient" for the clinician (no patient's name goes into a message or an outside calendar)."""
    return "your patient" if appointment["reader_is_clinician"] else appointment["clinician_name"]
