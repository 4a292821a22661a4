"""Cohorts: groups of learners taking a course together towards a due date."""
