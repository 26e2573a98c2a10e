"""The command-line interface: click commands, and the one place that catches our errors.

Each command lives in `provisioner/commands/<name>.py` and returns its exit code. `main` runs
the group, turns a `ProvisionerError` into one clear message on stderr and its documented exit
code (README "Exit codes"), and shows the traceback only with `--debug`. Usage errors exit 1,
not click's 2: exit code 2 means "changes pending" (`plan --detailed-exitcode`).

Commands are imported only when run (click's lazy-loading pattern, issue 16): `--version` and
`validate` start without httpx, rich, deepdiff or the local store, which only the commands that
talk to a store or draw progress need.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import click

from provisioner import __version__
from provisioner.entry import interrupted
from provisioner.errors import ProvisionerError
from provisioner.printable import escape_controls

EXIT_OK = 0
EXIT_ERROR = 1

# httpx imports its own command-line client (`httpx._main`, which loads rich's tables and
# progress bars and pygments) unless that import fails, which it expects and tolerates: about
# a third of httpx's import time, in every command that talks to a store (issue 13 start-up).
# This program never runs httpx's command line.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


# Command name -> module in provisioner.commands defining it as `command`.
COMMANDS = {
    "validate": "validate",
    "schema": "schema",
    "plan": "plan",
    "apply": "apply",
    "export": "export",
    "diff": "diff",
    "serve": "serve",
    "convert": "convert",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module = importlib.import_module(f"provisioner.commands.{COMMANDS[cmd_name]}")
            self.add_command(module.command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        # click turns a KeyboardInterrupt into Abort ("Aborted.", exit 1) after printing an
        # empty line; `main` reports an interrupt itself (one line, exit 130).
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as interrupt:
            raise _Interrupted from interrupt


class _Interrupted(BaseException):
    """A Ctrl-C that click must let through (it catches KeyboardInterrupt, not this)."""


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="provisioner")
@click.option("--debug", is_flag=True, help="Show tracebacks (never secrets) on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Schema-as-code for Elastic Path Commerce Cloud custom data (Flows).

    \b
    Describe flows and fields in YAML, then:
      provisioner validate flows/        check the files offline
      provisioner plan flows/            show what would change in the store
      provisioner apply flows/           make the store match
      provisioner export -o flows/       write YAML from an existing store
      provisioner plan --all             every environment of provisioner.toml
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: run the CLI and exit with the documented code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        result = cli.main(args=args, prog_name="provisioner", standalone_mode=False)
    except (KeyboardInterrupt, _Interrupted):
        interrupted(args)
    except click.exceptions.Abort as abort:
        # A Ctrl-C that click turned into Abort itself (while parsing, or at a prompt) is an
        # interrupt; an Abort for another reason (end of input at a prompt) stays exit 1.
        if isinstance(abort.__context__, KeyboardInterrupt):
            interrupted(args)
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_ERROR)
    except click.BadParameter as error:
        # A bad value (a port, a path, a rate) is one line naming it, without the usage text.
        click.echo(f"Error: {escape_controls(error.format_message(), lines=True)}", err=True)
        sys.exit(EXIT_ERROR)
    except click.ClickException as error:
        error.show()
        sys.exit(EXIT_ERROR)
    except ProvisionerError as error:
        if debug:
            import traceback  # only for --debug (start-up, issue 16)

            traceback.print_exc()
        click.echo(f"Error: {escape_controls(str(error), lines=True)}", err=True)
        sys.exit(error.exit_code)
    sys.exit(result if isinstance(result, int) else EXIT_OK)
