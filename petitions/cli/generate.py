"""``flask --app petitions generate --signatures N``: a letter full of generated signatures."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from petitions.extensions import db
from petitions.services.data_generator import DEFAULT_SLUG, GenerationRefused, generate


@click.command("generate")
@click.option(
    "--signatures",
    "count",
    type=click.IntRange(min=0),
    required=True,
    help="How many signatures the letter holds afterwards.",
)
@click.option(
    "--slug",
    default=DEFAULT_SLUG,
    show_default=True,
    help="The letter to create, or to refill if the generator made it.",
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="The same seed makes the same signatories.",
)
@with_appcontext
def generate_command(count: int, slug: str, seed: int) -> None:
    """Create (or refill) a published demo letter holding exactly N generated signatures.

    A refill replaces every signature of the letter; letters that are not demo content, or
    that hold a signature the generator did not make, are refused untouched.
    """
    shown = [0]

    def progress(done: int, total: int) -> None:
        if done * 10 // max(total, 1) > shown[0] * 10 // max(total, 1) or done == total:
            click.echo(f"  {done:,} / {total:,}")
        shown[0] = done

    try:
        result = generate(count, slug, seed, progress=progress)
    except GenerationRefused as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    verb = "Created" if result.created_letter else f"Refilled (replaced {result.removed:,})"
    click.echo(
        f"{verb} {result.slug}: {result.signatures:,} signatures in {result.seconds:.1f} s; "
        f"counted {result.organisations:,} organisations and {result.individuals:,} individuals."
    )
