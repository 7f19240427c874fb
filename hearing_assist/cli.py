"""One entry point: ``hearing-assist [gui|caption|devices|doctor|process|fit|bench] …``."""

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
    from hearing_assist.audio.files import AudioFileError
    from hearing_assist.pipeline.offline import process_file

    from hearing_assist.pipeline.engine import DEFAULT_CEILING_DBFS

    chain, ceiling = None, DEFAULT_CEILING_DBFS
    if args.profile:
        from hearing_assist.dsp.hearing_chain import HearingChain
        from hearing_assist.fitting import FittingError, load_amplification, output_ceiling_dbfs

        try:
            amp = load_amplification(args.profile)
        except FittingError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        chain, ceiling = HearingChain(amp), output_ceiling_dbfs(amp)
    try:
        info = process_file(args.input, args.output, chain=chain, volume_db=args.volume_db,
                            max_output_dbfs=ceiling)
    except AudioFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(info)
    return 0


def _cmd_fit(args) -> int:
    from hearing_assist.fitting import FittingError, fit, format_targets, load_audiogram, target_table
    from hearing_assist.profiles.user import ProfileError, ProfileStore, UserProfile

    try:
        profile = fit(load_audiogram(args.audiogram), args.rule)
    except FittingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    grade = profile.audiogram.grade()
    print(f"Rule {args.rule}; better-ear PTA grade (WHO 2021): {grade}\n")
    print(format_targets(target_table(profile)))
    store = ProfileStore()
    try:
        user = store.load(args.name) if store.path(args.name).is_file() else UserProfile(name=args.name)
        user.amplification, user.amplification_enabled = profile, True
        path = store.save(user)
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"\nsaved the fitting in profile {args.name!r}: {path}")
    return 0


def _cmd_caption(args) -> int:
    from hearing_assist.asr.files import caption_file, caption_file_live
    from hearing_assist.asr.export import export
    from hearing_assist.asr.models import ModelError
    from hearing_assist.audio.files import AudioFileError, read_mono

    try:
        read_mono(args.input, 16000)  # a clear message for a missing, empty or unreadable file before loading models
        if args.live:
            snapshot, stats = caption_file_live(args.input)
            text = export(snapshot.lines, args.format)
            if args.out:
                Path(args.out).write_text(text, encoding="utf-8")
            print(text)
            print(f"live: words shown after {stats.display_latency_p50_s:.2f} s (p50), "
                  f"{stats.display_latency_p90_s:.2f} s (p90); committed after {stats.commit_latency_p50_s:.2f} s "
                  f"(p50), {stats.commit_latency_p90_s:.2f} s (p90); flicker {stats.erasure:.3f}; "
                  f"CPU {stats.cpu_percent_of_2_cores:.0f}% of 2 cores", file=sys.stderr)
        else:
            print(caption_file(args.input, args.format, args.out))
    except (AudioFileError, ModelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
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
    pr.add_argument("--profile", help="amplification to apply: a saved profile JSON file (see `fit`)")
    pr.set_defaults(func=_cmd_process)

    ft = sub.add_parser("fit", help="prescribe amplification from an audiogram (JSON or CSV) and save it")
    ft.add_argument("audiogram")
    ft.add_argument("--rule", default="nal-r", help="nal-r, nal-rp, half-gain, pogo2 or linear")
    ft.add_argument("--name", default="default", help="user profile to store the fitting in")
    ft.set_defaults(func=_cmd_fit)

    c = sub.add_parser("caption", help="caption an audio file (offline best quality, or --live)")
    c.add_argument("input")
    c.add_argument("--format", choices=["srt", "vtt", "txt"], default="srt")
    c.add_argument("--out", help="write the captions here too")
    c.add_argument("--live", action="store_true", help="stream through the live path and report latency")
    c.set_defaults(func=_cmd_caption)

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
