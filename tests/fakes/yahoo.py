"""Yahoo Finance's chart API (v8/finance/chart), served from a files-layout directory.

Enough of the protocol for yfinance to run unmodified: the cookie (fc.yahoo.com), the crumb
(v1/test/getcrumb) and the chart JSON with meta, timestamps and indicators. Daily bars are
stamped at the session open in the exchange's time zone (09:30 New York for NYSE symbols,
00:00 UTC for crypto), the way Yahoo stamps them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from urllib.parse import unquote

import pandas as pd

from tests.fakes.server import FakeServer

EXCHANGE = {
    "24/7": ("UTC", "CCC", "CRYPTOCURRENCY", pd.Timedelta(0)),
    "XNYS": ("America/New_York", "NYQ", "INDEX", pd.Timedelta(hours=9, minutes=30)),
}


def _stem(symbol: str) -> str:
    return (symbol[1:] if symbol.startswith("^") else symbol).replace("=", "_")


class FakeYahoo(FakeServer):
    def __init__(self, data_dir: Path, calendars: dict[str, str]):
        super().__init__()
        self.data_dir = Path(data_dir)
        self.calendars = calendars
        self._frames: dict[str, pd.DataFrame] = {}

    def frame(self, symbol: str) -> pd.DataFrame | None:
        if symbol not in self._frames:
            path = self.data_dir / "market" / f"{_stem(symbol)}.csv"
            if not path.exists():
                return None
            frame = pd.read_csv(path, parse_dates=["date"])
            tz, _, _, open_offset = EXCHANGE[self.calendars.get(symbol, "XNYS")]
            stamps = (frame["date"] + open_offset).dt.tz_localize(tz).dt.tz_convert("UTC")
            frame["ts"] = stamps.astype("int64") // 10**9
            self._frames[symbol] = frame
        return self._frames[symbol]

    def route(self, path: str, query: dict):
        if path in ("", "/"):
            return 200, "text/html", b"<html>ok</html>"
        if path == "/v1/test/getcrumb":
            return 200, "text/plain", b"fakecrumb"
        if not path.startswith("/v8/finance/chart/"):
            return 404, "text/plain", b"not found"
        symbol = unquote(path.rsplit("/", 1)[1])
        fault = self.take_fault(symbol)
        if fault in ("429", "500", "502", "503"):
            body = b"Too Many Requests" if fault == "429" else b"Internal Server Error"
            return fault, "text/plain", body
        if fault and fault != "empty":  # timeout, truncated: the real body, badly delivered
            return fault, "application/json", self._chart(symbol, query)
        if fault == "empty":
            return 200, "application/json", self._empty(symbol)
        return 200, "application/json", self._chart(symbol, query)

    def _meta(self, symbol: str, frame: pd.DataFrame) -> dict:
        tz, exchange, kind, _ = EXCHANGE[self.calendars.get(symbol, "XNYS")]
        last = frame.iloc[-1]
        return {
            "currency": "USD", "symbol": symbol, "exchangeName": exchange,
            "fullExchangeName": exchange, "instrumentType": kind,
            "firstTradeDate": int(frame["ts"].iloc[0]),
            "regularMarketTime": int(last["ts"]), "hasPrePostMarketData": False,
            "gmtoffset": 0, "timezone": "UTC" if tz == "UTC" else "EST",
            "exchangeTimezoneName": tz, "regularMarketPrice": float(last["close"]),
            "chartPreviousClose": float(frame["close"].iloc[0]), "priceHint": 2,
            "currentTradingPeriod": {
                name: {"timezone": "UTC", "start": int(last["ts"]), "end": int(last["ts"]) + 3600,
                       "gmtoffset": 0}
                for name in ("pre", "regular", "post")
            },
            "dataGranularity": "1d", "range": "",
            "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd",
                            "max"],
        }

    def _empty(self, symbol: str) -> bytes:
        frame = self.frame(symbol)
        meta = self._meta(symbol, frame) if frame is not None else {"symbol": symbol}
        result = {"meta": meta, "indicators": {"quote": [{}], "adjclose": [{}]}}
        return json.dumps({"chart": {"result": [result], "error": None}}).encode()

    def _chart(self, symbol: str, query: dict) -> bytes:
        frame = self.frame(symbol)
        if frame is None:
            body = {"chart": {"result": None, "error": {
                "code": "Not Found", "description": "No data found, symbol may be delisted"}}}
            return json.dumps(body).encode()
        if "period1" in query:
            lo, hi = int(query["period1"]), int(query.get("period2", 2**40))
            rows = frame[(frame["ts"] >= lo) & (frame["ts"] < hi)]
        else:  # range=1d etc.: the last row is enough for meta look-ups
            rows = frame.tail(1)

        def col(name: str) -> list:
            return [None if (v is None or (isinstance(v, float) and math.isnan(v))) else v
                    for v in rows[name].tolist()]

        result = {
            "meta": self._meta(symbol, frame),
            "timestamp": [int(t) for t in rows["ts"]],
            "indicators": {
                "quote": [{"open": col("open"), "high": col("high"), "low": col("low"),
                           "close": col("close"), "volume": col("volume")}],
                "adjclose": [{"adjclose": col("adj_close")}],
            },
        }
        return json.dumps({"chart": {"result": [result], "error": None}}).encode()
