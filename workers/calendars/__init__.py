"""Two-way sync with the calendars people already use: connect, push appointments, pull busy time."""
