"""Apply identity-database migrations.

    python scripts/run_migration.py                 every pending migration, in order
    python scripts/run_migration.py FILE [URL]      one file (the design guide's interface)

The URL defaults to IDENTITY_DATABASE_DIRECT_URL, else IDENTITY_DATABASE_URL (env, .env.tunnel,
.env.local, agents/.env, default): migrations hold a session-level advisory lock, which a
transaction-mode pooler (PgBouncer) would leave held on one of its server connections.
Exit status 0 on success, 1 with a one-line reason otherwise.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from shared.migrations import Migration, MigrationError, apply_migrations, discover
from shared.settings import ServiceSettings, SettingsError

AGENTS_DIR = Path(__file__).resolve().parents[1]
MIGRATIONS_DIR = AGENTS_DIR / "app" / "migrations"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply identity-database migrations.")
    parser.add_argument("file", nargs="?", type=Path, help="one migration file to apply")
    parser.add_argument("database_url", nargs="?", help="PostgreSQL URL (default: settings)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        settings = ServiceSettings.load(AGENTS_DIR)
        url = args.database_url or settings.identity_database_direct_url or ""
        migrations = [Migration.from_path(args.file)] if args.file else discover(MIGRATIONS_DIR)
        applied = apply_migrations(url, migrations)
    except (MigrationError, SettingsError) as exc:
        print(f"migration failed: {exc}", file=sys.stderr)
        return 1
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print("database is up to date; nothing to apply")
    return 0


if __name__ == "__main__":
    sys.exit(main())
