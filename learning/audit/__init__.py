"""The audit log: every change, publication, enrolment and review, readable by admins."""
