"""SQLite storage: connection, migrations, and one repository class per table group."""
