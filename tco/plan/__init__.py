"""Budget plans: scenario files (``scenario``), the month-by-month budget (``budget``)."""
