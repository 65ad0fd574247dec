"""The scaleready command line: thin commands over the library.

Each family of commands is a module of its own: assess (assess, explain), rounds (batch),
rulesets, profiles (profile, scorecard), plugins (plugins, plugin new), history (--record,
history, reassess) and service (serve, token); base holds what they share. Here: the `cli`
group, which turns errors into exit codes, and the commands added to it.

Exit codes (a contract): 0 done, 1 gate failed (--fail-under, --policy), 2 usage error
(including an output that cannot be written, or that would overwrite an input), 3 invalid input
(profile, ruleset, policy), 4 plugin or internal error, 130 interrupted (SIGINT), 141 output
closed by its reader (a pipe into `head`, say), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import os

import click

from scaleready import __version__
from scaleready.cli import assess, history, plugins, profiles, rounds, rulesets, service
from scaleready.cli.base import (
    EXIT_CODES_HELP,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    Terminated,
    check_settings,
    check_signals,
    output_closed,
    say,
    show_warnings_as_messages,
    signals_as_exceptions,
    stop,
    strict_plugins_option,
)
from scaleready.errors import ScaleReadyError

# The library is imported by the commands that use it, when they run, and only the parts they
# use: `scaleready --help` imports none of it, and `scaleready assess` neither the round
# machinery (multiprocessing, spreadsheets) nor the HTML report unless it writes one: no module
# of this package imports more of it than scaleready.errors at its top (the rest only for type
# checkers). tests/test_cold_start.py keeps it so.


class _Commands(click.Group):
    """Turns scaleready's errors into a message and the documented exit code, never a traceback."""

    def invoke(self, ctx: click.Context):
        with signals_as_exceptions():
            return self._invoke(ctx)

    def _invoke(self, ctx: click.Context):
        try:
            result = super().invoke(ctx)
            check_signals()
            return result
        except ScaleReadyError as error:
            say(f"error: {error}")
            ctx.exit(error.exit_code)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:  # Ctrl-C, or raised by a plugin: the same to the caller
            stop(ctx, "interrupted (SIGINT)", EXIT_INTERRUPTED)
        except Terminated:
            stop(ctx, "terminated (SIGTERM)", EXIT_TERMINATED)
        except BrokenPipeError:  # the reader stopped reading (`| head`): nothing went wrong here
            output_closed(ctx)
        except Exception as error:  # a bug: say so plainly, keep the exit code contract
            if os.environ.get("SCALEREADY_DEBUG"):
                raise
            click.echo(
                f"internal error: {type(error).__name__}: {error} "
                "(set SCALEREADY_DEBUG=1 for details)",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=_Commands, epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="scaleready")
@strict_plugins_option
@click.option(
    "--no-config",
    is_flag=True,
    help="Ignore scaleready.toml: count the rulesets --ruleset or --policy choose, else the "
    "built-in ones.",
)
@click.pass_context
def cli(ctx: click.Context, strict_plugins: bool, no_config: bool) -> None:
    """Is this social innovation ready to scale? Explained scorecards for funders.

    \b
    Example:
        scaleready assess examples/code-club.yaml
    """
    ctx.obj = {"strict_plugins": strict_plugins, "no_config": no_config}
    check_settings()
    show_warnings_as_messages()


for command in (
    assess.assess,
    assess.explain,
    rounds.batch_command,
    plugins.plugins,
    plugins.plugin,
    rulesets.rulesets,
    profiles.profile,
    profiles.scorecard,
    history.history,
    history.reassess,
    service.serve,
    service.token,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="scaleready")
