"""Reports for the secretariat: completion figures by country, organisation, course, module, cohort and
month, with charts, drill-down, exports and a monthly e-mail. Every figure is computed in queries.py."""
