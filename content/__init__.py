"""Data only: tip categories, awareness texts, campaign calendars and UI translations."""
