"""One entry point: ``hearing-assist [gui|devices|doctor|process|bench] …``."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

# The app never reaches a model hub: every model is bundled or loaded from a folder the user names.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

BENCHMARKS = ["audio", "amplification", "denoise", "captions"]
REPO_ROOT = Path(__file__).resolve().parents[1]


def _cmd_gui(args) -> int:
    from hearing_assist.gui.app import run

    return run(profile=args.profile, file=args.file)


def _cmd_devices(args) -> int:
    from hearing_assist.audio.devices import AudioDeviceError, list_devices, system_audio_monitor

    try:
        devices = list_devices()
    except AudioDeviceError as exc:
        print(exc, file=sys.stderr)
        return 1
    for d in devices:
        print(d.describe())
    monitor = system_audio_monitor()
    print(f"\nComputer audio capture: {monitor or 'not available on this system'}")
    return 0


def _cmd_doctor(args) -> int:
    from hearing_assist.doctor import report, run_checks

    text, code = report(run_checks())
    print(text)
    return code


def _cmd_process(args) -> int:
    from hearing_assist.pipeline.offline import ProcessError, process_file

    try:
        info = process_file(args.input, args.output, volume_db=args.volume_db)
    except ProcessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(info)
    return 0


def _cmd_bench(args) -> int:
    from hearing_assist.bench.docs import update_benchmarks_doc

    names = BENCHMARKS if args.name == "all" else [args.name]
    for name in names:
        module = importlib.import_module(f"hearing_assist.bench.{name}")
        rep = module.run(quick=args.quick)
        if args.quick:
            rep.command += " --quick"
        json_path, md_path = rep.write(args.out)
        print(rep.to_markdown())
        print(f"wrote {json_path} and {md_path}")
        if not args.no_doc:
            update_benchmarks_doc(REPO_ROOT / "docs" / "benchmarks.md", rep)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    p = argparse.ArgumentParser(prog="hearing-assist", description="Live captions and amplification, offline.")
    sub = p.add_subparsers(dest="command")

    g = sub.add_parser("gui", help="open the main window (the default)")
    g.add_argument("--profile", default="default", help="user profile name")
    g.add_argument("--file", help="start with this audio file as the source")
    g.set_defaults(func=_cmd_gui)

    d = sub.add_parser("devices", help="list audio devices")
    d.set_defaults(func=_cmd_devices)

    doc = sub.add_parser("doctor", help="check PortAudio, models, disk space and versions")
    doc.set_defaults(func=_cmd_doctor)

    pr = sub.add_parser("process", help="run an audio file through the processing chain")
    pr.add_argument("input")
    pr.add_argument("output")
    pr.add_argument("--volume-db", type=float, default=0.0, help="master volume in dB")
    pr.set_defaults(func=_cmd_process)

    b = sub.add_parser("bench", help="run a benchmark; writes JSON + markdown and updates docs/benchmarks.md")
    b.add_argument("name", choices=BENCHMARKS + ["all"])
    b.add_argument("--quick", action="store_true", help="fewer runs, for a smoke test")
    b.add_argument("--out", default=str(REPO_ROOT / "docs" / "bench"), help="folder for JSON and markdown")
    b.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    b.set_defaults(func=_cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the sub-command; no sub-command opens the GUI."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["gui", *(argv or sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
