"""Enrolments, lessons and each learner's progress."""
