"""The fault suite: ``make faults`` (full) or ``python -m faults --reduced`` (CI's size)."""
