"""Your data: everything the platform holds about a learner, downloaded as JSON, and account erasure."""
