"""Reminder e-mails: rules evaluated by a periodic scan, bundled per learner and local day, sent once."""
