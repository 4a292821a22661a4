"""Course material as files: reading, validating, rendering and loading it into the database."""
