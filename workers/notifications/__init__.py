"""Delivering reminders and notices: one module per channel, plus the calendar invite."""
