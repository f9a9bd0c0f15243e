"""The pharmacy workforce registry (ESR-like posts, people, vacancies, training), staffing
figures, organograms and service evaluation (README.md).

Other domains reach it through ``hooks.py`` (``PLAN_METRICS``: ``workforce.*`` and ``services.*``
plan metrics); it publishes no names for import.
"""
