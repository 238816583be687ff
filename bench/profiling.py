"""`python -m bench --profile NAME`: where Folio's side of one benchmark spends its time, when a goal is missed.

Most benchmarks drive servers in other processes, where a profiler in this process sees only waiting. A benchmark
module may therefore define `profile_subject(quick: bool) -> None`: run the subject's work once, here, in-process
(e.g. import the app and render the essay page through Django's test client). If it returns a callable, its
work so far counts as set-up (migrations, seeding) and only the callable is profiled. Without the hook the whole
`run()` is profiled, which is still useful for benchmarks whose subject runs in-process.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from pyinstrument import Profiler

HOOK = "profile_subject"


def profile(module_name: str, *, quick: bool, out_dir: Path) -> tuple[str, Path]:
    """Profile one benchmark; return pyinstrument's text tree and the path of the HTML report it also wrote."""
    module = importlib.import_module(module_name)
    hook = getattr(module, HOOK, None)
    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        if hook is None:
            module.run(quick=quick)
        elif callable(subject := hook(quick=quick)):
            profiler.stop()
            profiler.reset()  # the set-up is not what a missed goal asks about
            profiler.start()
            subject()
    finally:
        profiler.stop()
    what = f"{module_name}.{HOOK}" if hook is not None else f"{module_name}.run (no {HOOK} hook)"
    out_dir.mkdir(parents=True, exist_ok=True)
    html = out_dir / f"profile-{module_name.rpartition('.')[2]}.html"
    html.write_text(profiler.output_html(), encoding="utf-8")
    return f"Profile of {what}\n" + profiler.output_text(unicode=True, color=False), html
