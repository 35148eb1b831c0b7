"""FRED's series/observations API (XML, as fredapi requests it), served from `fred/<ID>.csv`.

`dots[series_id]` lists dates whose value is served as FRED's '.' (missing).
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import pandas as pd

from tests.fakes.server import FakeServer


class FakeFred(FakeServer):
    def __init__(self, data_dir: Path, api_key: str = "test-key-0123456789abcdef"):
        super().__init__()
        self.data_dir = Path(data_dir)
        self.api_key = api_key
        self.dots: dict[str, set[str]] = {}

    def route(self, path: str, query: dict):
        if query.get("api_key") != self.api_key:
            body = ('<?xml version="1.0" encoding="utf-8" ?>\n<error code="400" message='
                    '"Bad Request.  The value for variable api_key is not registered."/>')
            return 400, "text/xml", body.encode()
        if not path.endswith("/series/observations"):
            return 404, "text/xml", b'<error code="404" message="Not Found"/>'
        series_id = query.get("series_id", "")
        fault = self.take_fault(series_id)
        if fault and fault not in ("empty", "truncated"):  # an error answer, whatever the id
            return fault, "text/xml", (f'<error code="{fault}" message="fault"/>').encode()
        csv = self.data_dir / "fred" / f"{series_id}.csv"
        if not csv.exists():
            body = ('<?xml version="1.0" encoding="utf-8" ?>\n<error code="400" message='
                    '"Bad Request.  The series does not exist."/>')
            return 400, "text/xml", body.encode()
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        if "observation_start" in query:
            frame = frame[frame["date"] >= query["observation_start"]]
        if "observation_end" in query:
            frame = frame[frame["date"] <= query["observation_end"]]
        if fault == "empty":
            frame = frame.iloc[0:0]
        dots = self.dots.get(series_id, set())
        rows = []
        for date, value in zip(frame["date"], frame["value"], strict=True):
            shown = "." if (date in dots or value == "") else value
            rows.append(f'<observation realtime_start="2026-08-21" realtime_end="2026-08-21" '
                        f'date={quoteattr(date)} value={quoteattr(shown)}/>')
        body = ('<?xml version="1.0" encoding="utf-8" ?>\n'
                f'<observations realtime_start="2026-08-21" realtime_end="2026-08-21" '
                f'count="{len(rows)}" offset="0" limit="100000">\n' + "\n".join(rows)
                + "\n</observations>").encode()
        if fault:
            return fault if fault != "empty" else 200, "text/xml", body
        return 200, "text/xml", body
