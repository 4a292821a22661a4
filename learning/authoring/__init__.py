"""Authoring: trainers build, revise and publish courses in the browser; bundles in and out."""
