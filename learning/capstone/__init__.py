"""The capstone: a learner's action plan, written in the course's template and reviewed by a trainer."""
