"""The database beyond its connection settings (config/database.py): backups, the migration linter's policy, and
migration operations that stay safe on a live table."""
