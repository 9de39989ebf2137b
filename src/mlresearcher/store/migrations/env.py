"""Alembic's environment for the run store: revisions run on the connection that
:func:`mlresearcher.store.migrations.upgrade` opened, inside its locked transaction."""

from alembic import context

from mlresearcher.store.migrations import VERSION_TABLE

context.configure(connection=context.config.attributes["connection"], version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
