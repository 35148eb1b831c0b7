"""The short summary `make run` and `make demo` end with, read from the run's events: what
loaded per source, every warning check that failed (symbols and dates), what failed and
why, the alerts, and what to do next. The whole log is in the file the run wrote (and in
the Dagster UI). A message is never cut: what a person acts on (the cause, the PID and
command holding the warehouse, the file and line, the symbol) is often at its end; long
lines are wrapped instead. The first line says "succeeded" only when there is nothing to
act on (`make run` then exits 0); otherwise it counts the problems."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from orchestration.formatting import num, plural

LISTED = 4  # problem lines shown per failed check; the UI has them all
WIDTH = 110  # longer lines are wrapped (never cut)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _wrapped(lines: list[str], width: int = WIDTH) -> list[str]:
    """Lines longer than `width` wrapped at spaces, the continuation indented under the
    line's own indentation; a word longer than the width (a path) stays whole."""
    import textwrap

    out = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        # a number stays with its unit ("+0.2 %")
        kept = line.strip().replace(" %", "\xa0%")
        out += [part.replace("\xa0%", " %") for part in textwrap.wrap(
            kept, width=width, initial_indent=indent, subsequent_indent=indent + "    ",
            break_long_words=False, break_on_hyphens=False)]
    return out


def _meta(metadata, key, default=None):
    value = metadata.get(key)
    return default if value is None else getattr(value, "value", value)


def _problem_lines(metadata) -> list[str]:
    text = _meta(metadata, "problems", "") or ""
    return [line[2:] for line in str(text).splitlines() if line.startswith("- ")]


def _innermost(error) -> str:
    """The error our code raised, not Dagster's wrapper, without the class's module path
    (a dg.Failure's own words need no "dagster._core.definitions.events.Failure:")."""
    import re

    while error is not None and error.cause is not None:
        error = error.cause
    if error is None:
        return "unknown error"
    message = error.message.strip()
    # lockstep's own errors say what happened in their words: their class adds nothing
    return re.sub(r"^(?:(?:[A-Za-z_][\w]*\.)+Failure|orchestration(?:\.\w+)+): ", "", message)


def _delivery() -> str:
    from orchestration.lib.alerts import delivery
    from orchestration.settings import alert_webhook

    return delivery(alert_webhook())


def failed_error_checks(events: Iterable) -> int:
    """ERROR-severity checks that failed in the run (blocking or not): `make run` exits 1."""
    return sum(1 for e in events if e.event_type_value == "ASSET_CHECK_EVALUATION"
               and not e.asset_check_evaluation_data.passed
               and e.asset_check_evaluation_data.severity.value == "ERROR")


ALERTS_LISTED = 6  # alerts named in the summary; how many more it says


def summarize(events: Iterable, elapsed: float, run_id: str, success: bool,
              log_file: str | None, other_problems: Sequence[str] = ()) -> str:
    """The summary's text."""
    return report(events, elapsed, run_id, success, log_file, other_problems)[0]


def report(events: Iterable, elapsed: float, run_id: str, success: bool,
           log_file: str | None, other_problems: Sequence[str] = ()) -> tuple[str, int]:
    """The summary, and how many problems it counts (0: `make run` exits 0).
    `other_problems`: what went wrong after the run (the snapshot could not be read),
    listed and counted with the run's."""
    loaded, warnings, blocked, failed_checks, failures, alerts = [], [], [], [], [], None
    failed_steps, run_failure = 0, None
    causes: dict[tuple[str, ...], list[str]] = {}  # a cause, and the steps that failed on it
    announced_by_steps = 0  # alerts the checks and the ingestion announced themselves
    builds: dict[str, str] = {}  # dbt's incremental models: how this run built them
    years: dict[str, list[str]] = {}  # partitions (years) of each raw table the run loaded
    written: list[str] = []  # the years of the rows the raw tables inserted or updated
    for event in events:
        if event.is_step_failure:
            message = _innermost(event.step_failure_data.error)
            if "blocking asset check failed" in message:
                continue  # listed with the blocking checks below
            failed_steps += 1
            cause = tuple(_one_line(line) for line in message.splitlines() if line.strip())
            causes.setdefault(cause or ("unknown error",), []).append(event.step_key)
        elif event.event_type_value == "PIPELINE_FAILURE":
            run_failure = _one_line(event.message or "the run failed")
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            materialization = event.step_materialization_data.materialization
            key = materialization.asset_key.to_user_string()
            metadata = materialization.metadata
            if key in years and materialization.partition:
                years[key].append(materialization.partition)  # same step, same figures
            elif key in ("raw/market_prices", "raw/fred_observations"):
                years[key] = [materialization.partition] if materialization.partition else []
                if _meta(metadata, "written_from"):  # the years the rows written span
                    written += [str(_meta(metadata, "written_from"))[:4],
                                str(_meta(metadata, "written_to"))[:4]]
                # the alerts the load announced itself (rows quarantined, data held back)
                announced_by_steps += int(_meta(metadata, "alerts_announced", 0) or 0)
                what = "market prices" if key == "raw/market_prices" else "FRED observations"
                source = str(_meta(metadata, "source", "?")).split(" ")[0]
                label = "symbols" if key == "raw/market_prices" else "series"
                per = _meta(metadata, "date_ranges", {}) or {}
                # files the source found as it last read them were not read again
                unchanged = int(_meta(metadata, "unchanged_at_source", 0) or 0)
                loaded.append(
                    f"{what}: {plural(int(_meta(metadata, 'rows_inserted', 0)), 'row')} "
                    f"inserted, "
                    f"{int(_meta(metadata, 'rows_updated', 0)):,} updated "
                    f"({len(per) + unchanged:,} {label}"
                    + (f", {unchanged:,} of them unchanged since the last read;" if unchanged
                       else ",")
                    + f" source {source}"
                    + (", SYNTHETIC" if _meta(metadata, "synthetic") else "") + ")")
                if _meta(metadata, "not_loaded"):
                    names = [line[2:].split(":")[0] for line in
                             str(_meta(metadata, "not_loaded")).splitlines() if line]
                    loaded.append(f"  not loaded: {', '.join(names)} (no data at the source)")
            elif _meta(metadata, "build"):
                builds[key.split("/")[-1]] = str(_meta(metadata, "build"))
            elif key == "ops/alerts":
                alerts = (int(_meta(metadata, "announced", 0)), str(_meta(metadata, "delivery")),
                          str(_meta(metadata, "alerts", "")))
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            check = event.asset_check_evaluation_data
            announced_by_steps += int(_meta(check.metadata, "alerts_announced", 0) or 0)
            if check.passed:
                continue
            description = check.description or ""
            lines = [line for line in _problem_lines(check.metadata)
                     if not line.startswith("... and")]
            count = int(_meta(check.metadata, "count", len(lines)) or len(lines))
            entry = [f"{check.check_name} ({check.asset_key.to_user_string()}): "
                     f"{_one_line(description)}"]
            entry += [f"  {_one_line(line)}" for line in lines[:LISTED]]
            if count > min(len(lines), LISTED):
                entry.append(f"  ... and {count - min(len(lines), LISTED):,} more (the check's "
                             f"metadata in the UI lists them)")
            note = _meta(check.metadata, "note")
            if note:
                entry.append(f"  ({note})")
            if check.severity.value != "ERROR":
                warnings.append(entry)
            elif check.blocking:
                blocked.append(entry)
            else:
                failed_checks.append(entry)

    for cause, steps in causes.items():  # steps that failed alike are listed together
        failures.append(f"{', '.join(steps)}: {cause[0]}")
        failures += [f"  {line}" for line in cause[1:]]
    checks = len(blocked) + len(failed_checks)
    n_problems = checks + failed_steps + len(other_problems)
    if not success and n_problems == 0:  # a run failure no step or check explains
        failures.append(run_failure or "the run failed (the Dagster UI shows why)")
        n_problems = 1
    if success and n_problems == 0:
        out = [f"lockstep: run {run_id} succeeded in {num(elapsed, 1)} s"]
    else:
        kinds = [plural(n, what) for n, what in ((checks, "failed check"),
                                                  (failed_steps, "failed step"),
                                                  (len(other_problems), "other problem"))
                 if n]
        out = [f"lockstep: run {run_id} {'finished' if success else 'FAILED'} with "
               f"{plural(n_problems, 'problem')} in {num(elapsed, 1)} s"
               + (f" ({', '.join(kinds)})" if kinds else "")]
    spans = {min(v) + (f" to {max(v)}" if len(v) > 1 else "") for v in years.values() if v}
    if loaded:
        span = spans.pop() if len(spans) == 1 else None
        year = (f" (the years {span})" if span and " to " in span
                else f" (the year {span})" if span else "")
        if written:  # what the rows span, not the partition the run was launched for
            first, last = min(written), max(written)
            year = f" (rows of {first})" if first == last else f" (rows of {first}-{last})"
        out += [f"Loaded{year}:"] + [f"  {line}" for line in loaded]
    for mode in sorted(set(builds.values())):
        names = ", ".join(sorted(k for k, v in builds.items() if v == mode))
        out.append(f"dbt: {names} {mode}")
    if blocked:
        out.append("Blocking checks that failed (the marts were not rebuilt):")
        out += [f"  {line}" for entry in blocked for line in entry]
    if failed_checks:
        out.append("Failed checks (the run went on with the rest; these are held back):")
        out += [f"  {line}" for entry in failed_checks for line in entry]
    if warnings:
        out.append(f"Warnings ({plural(len(warnings), 'check')}):")
        out += [f"  {line}" for entry in warnings for line in entry]
    failures += [_one_line(problem) for problem in other_problems]
    if failures:
        out.append("Failed:")
        out += [f"  {line}" for line in failures]
    if alerts is not None or announced_by_steps:
        announced, delivery, listing = alerts or (0, _delivery(), "")
        total = announced + announced_by_steps
        out.append(f"Alerts: {total:,} announced"
                   + (f" ({announced_by_steps:,} by the checks and loads as they ran)"
                      if announced_by_steps else "") + f", {delivery}")
        shown = [f"  {_one_line(line[2:])}" for line in listing.splitlines()
                 if line.startswith("- ")][:ALERTS_LISTED]
        out += shown
        if total > len(shown):  # the rest, and those the checks and loads announced
            out.append(f"  ... and {total - len(shown):,} more; all {total:,} in the run's "
                       f"log and ops.alert_log" if shown else
                       "  (listed in the run's log and ops.alert_log)")
    if log_file:
        out.append(f"Full log: {log_file} (and the run in the Dagster UI, `make dev`)")
    if success and n_problems == 0:
        out.append("Next: `make brief` (the day's story), `make dashboard` "
                   "(http://127.0.0.1:8501), `make dev` (the Dagster UI, http://127.0.0.1:3000)")
    else:
        out.append("Next: fix the cause above, then `make run` again; `make dev` shows the "
                   "run step by step. README, \"Troubleshooting\", covers each failure.")
    return "\n".join(_wrapped(out)), n_problems
