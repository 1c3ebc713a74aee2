"""``lawfit hitchhiker``: the Hitchhiker estimation protocol over a corpus, and a leaderboard."""

from __future__ import annotations

import math
import time
from pathlib import Path

import typer

from lawfit.cli._common import (
    console,
    guarded,
    info,
    parse_list,
    progress_bar,
    shown_warnings,
    timed,
)

_ARE_COLUMNS = [
    "family", "method", "n_train_models", "train_fraction", "min_tokens", "are", "checkpoints",
    "borrow", "target", "n_train", "n_test", "status", "E", "A", "B", "alpha", "beta", "steps",
    "chosen", "flat",
]


def _number(text: str) -> float:
    return float(text)


@guarded
def hitchhiker_command(
    out: Path = typer.Option(..., "--out", help="Output folder (created if absent)."),
    families: str = typer.Option(
        None, "--families", help="Comma-separated families (default: all with >= 3 models)."
    ),
    methods: str = typer.Option(
        "colpret,huber-grid", "--methods",
        help="Comma-separated methods: colpret, huber-grid, mse-grid, log-grid, lawfit (the "
        "recommended one), bounded-e, shared-exponent, bayes, epoch, or any a --module "
        "FILE.py registers (lawfit.evaluate.register_method).",
    ),
    min_tokens: str = typer.Option(
        "0,1e10", "--min-tokens", help="Token cuts: checkpoints at or below one are not used."
    ),
    fractions: str = typer.Option(
        "0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1", "--fractions", help="Fractions of training."
    ),
    checkpoints: str = typer.Option(
        "all,final", "--checkpoints", help="all (every checkpoint), final (each model's last)."
    ),
    test: str = typer.Option(
        "0.7", "--test", help="Test on target checkpoints with tokens >= TEST * max, or 'final'."
    ),
    borrow: str = typer.Option(
        None,
        "--borrow",
        help="Also fit 1-2 models with A, alpha fixed to a donor's ('datablations' or families).",
    ),
    data: Path = typer.Option(
        None, "--data", help="Corpus CSV/Parquet in lawfit's schema (default: hitchhiker)."
    ),
    figures: bool = typer.Option(
        True, "--figures/--no-figures", help="Write ARE heatmaps and the methods' comparison."
    ),
) -> None:
    """Refit every design of every family with each method; write DIR/are.csv (one row per
    fitted law), DIR/leaderboard.csv (per family and method: failures, median and mean ARE
    with bootstrap intervals, wins, share of designs better than colpret, time),
    DIR/findings.csv (the paper's findings rechecked per method), ARE heatmaps
    (DIR/heatmap_METHOD_cutCUT.png) and DIR/methods.png (ARE by method and family).

    Exit codes: 0 done, 2 bad input (one line on stderr names the option or column).
    """
    from lawfit.data import InputError, load, read_table, write_table
    from lawfit.evaluate import designs, estimate, findings, get_method, leaderboard

    start = time.perf_counter()
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {str(out)!r} exists and is not a folder")
    chosen_methods = [get_method(m) for m in parse_list(methods, option="--methods")]
    corpus = read_table(data) if data is not None else load("hitchhiker")
    test_value = test if test == "final" else parse_list(test, option="--test", convert=float)
    if isinstance(test_value, list):
        if len(test_value) != 1:
            raise InputError(f"--test: expected one fraction or 'final'; got {test!r}")
        test_value = test_value[0]
    chosen = designs(
        corpus,
        families=parse_list(families, option="--families") or None,
        fractions=parse_list(fractions, option="--fractions", convert=float),
        min_tokens=parse_list(min_tokens, option="--min-tokens", convert=_number),
        checkpoints=parse_list(checkpoints, option="--checkpoints"),
        test=test_value,
        borrow=parse_list(borrow, option="--borrow"),
    )
    if chosen.table.empty:
        raise InputError(
            "no designs: no family has 3 models (2 with --borrow) and a target loss below 10"
        )
    with shown_warnings(), timed("fit designs"), progress_bar("fitting designs") as update:
        result = estimate(chosen, chosen_methods, progress=update)
    out.mkdir(parents=True, exist_ok=True)
    are = result.are
    write_table(are[_ARE_COLUMNS], out / "are.csv")
    board = leaderboard(result)
    write_table(board, out / "leaderboard.csv")
    write_table(findings(are), out / "findings.csv")
    if figures:
        import matplotlib

        matplotlib.use("Agg")  # files only; selected here, never at import
        import matplotlib.pyplot as plt

        from lawfit.plot import are_heatmaps, method_comparison

        regular = are[(are["borrow"] == "") & (are["checkpoints"] == "all")]
        for (method, cut), table in regular.groupby(["method", "min_tokens"]):
            fig = are_heatmaps(table, title=f"{method}: ARE, all checkpoints, tokens > {cut:g}")
            # The panels' constrained layout already fits the page: no "tight" bbox pass.
            fig.savefig(out / f"heatmap_{method}_cut{cut:g}.png", dpi=110)
            plt.close(fig)
        ax = method_comparison(are[are["status"] == "converged"])
        ax.figure.savefig(out / "methods.png", dpi=110, bbox_inches="tight")
        plt.close(ax.figure)
    overall = board[board["family"] == "all"]
    for _, row in overall.iterrows():
        console.print(
            f"{row['method']}: {row['n_fits']} laws, median ARE {100 * row['median_are']:.2f}% "
            f"[{100 * row['median_are_lo']:.2f}, {100 * row['median_are_hi']:.2f}], "
            f"mean {100 * row['mean_are']:.2f}%, failures {100 * row['failure_rate']:.1f}%, "
            + (f"better than colpret in {100 * row['beats_reference']:.1f}%, "
               if math.isfinite(row["beats_reference"]) else "")
            + f"{row['seconds']:.1f} s",
            highlight=False,
        )
    info(f"wrote {len(are)} rows to {out / 'are.csv'} and the leaderboard in "
         f"{time.perf_counter() - start:.1f} s")
