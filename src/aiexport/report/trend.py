"""Training compute of open-weight models over time: a least-squares trend of log10(operations)
on the publication date, its uncertainty, and the date on which the trend reaches a line.

Labelled as an estimate with its method: ordinary least squares on log10 FLOP vs decimal year;
a 95 % confidence band for the trend line (Student t); the crossing date with a 95 % interval from
a pairs bootstrap (2,000 resamples, fixed seed, so the figure is reproducible).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field

# two-sided 95 % Student-t quantiles by degrees of freedom (beyond 30: normal)
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
        11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
        20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048,
        29: 2.045, 30: 2.042}
METHOD = ("ordinary least squares of log10(training operations) on publication date (decimal years), "
          "open-weight models of the bundled catalog (Epoch AI estimates); 95 % band of the trend line (Student t); "
          "crossing date interval: pairs bootstrap, 2,000 resamples, seed 0")


def year_fraction(d: dt.date) -> float:
    start = dt.date(d.year, 1, 1)
    return d.year + (d - start).days / (dt.date(d.year + 1, 1, 1) - start).days


def from_year_fraction(y: float) -> dt.date:
    year = int(math.floor(y))
    start = dt.date(year, 1, 1)
    days = (dt.date(year + 1, 1, 1) - start).days
    return start + dt.timedelta(days=round((y - year) * days))


@dataclass
class Fit:
    n: int
    intercept: float  # log10 ops at year 0 (use at())
    slope: float  # orders of magnitude per year
    slope_se: float
    residual_sd: float
    x_mean: float
    sxx: float
    t95: float
    threshold_log10: float
    crossing: dt.date | None
    crossing_low: dt.date | None
    crossing_high: dt.date | None
    bootstrap_no_crossing: float  # share of resamples with a non-positive slope
    method: str = METHOD
    points: list[tuple[float, float]] = field(default_factory=list)

    def at(self, x: float) -> float:
        return self.intercept + self.slope * x

    def band(self, x: float) -> tuple[float, float]:
        half = self.t95 * self.residual_sd * math.sqrt(1 / self.n + (x - self.x_mean) ** 2 / self.sxx)
        return self.at(x) - half, self.at(x) + half

    def as_dict(self) -> dict:
        return {
            "label": "ESTIMATE (trend extrapolation, not a forecast of any model)",
            "method": self.method, "models": self.n,
            "slope_orders_of_magnitude_per_year": round(self.slope, 4), "slope_standard_error": round(self.slope_se, 4),
            "doubling_time_months": round(12 * math.log10(2) / self.slope, 1) if self.slope > 0 else None,
            "residual_sd_log10": round(self.residual_sd, 4),
            "threshold_operations": f"1e{self.threshold_log10:g}",
            "estimated_crossing_date": self.crossing.isoformat() if self.crossing else None,
            "crossing_95_interval": [d.isoformat() if d else None for d in (self.crossing_low, self.crossing_high)],
            "bootstrap_share_without_crossing": round(self.bootstrap_no_crossing, 4),
        }


def _ols(pts: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    n = len(pts)
    xm = sum(x for x, _ in pts) / n
    ym = sum(y for _, y in pts) / n
    sxx = sum((x - xm) ** 2 for x, _ in pts)
    sxy = sum((x - xm) * (y - ym) for x, y in pts)
    b = sxy / sxx
    return ym - b * xm, b, xm, sxx


def fit(points: list[tuple[dt.date, float]], threshold: float = 1e26, resamples: int = 2000, seed: int = 0) -> Fit:
    """``points``: (publication date, training operations) of open-weight models."""
    pts = [(year_fraction(d), math.log10(ops)) for d, ops in points if ops and ops > 0]
    if len(pts) < 3 or len({x for x, _ in pts}) < 2:
        raise ValueError("a trend needs at least three models on two or more dates")
    a, b, xm, sxx = _ols(pts)
    n = len(pts)
    ssr = sum((y - (a + b * x)) ** 2 for x, y in pts)
    sd = math.sqrt(ssr / (n - 2))
    target = math.log10(threshold)
    cross = from_year_fraction((target - a) / b) if b > 0 else None
    rng = random.Random(seed)
    values, none = [], 0  # a resample whose slope is not positive never crosses: +infinity
    for _ in range(resamples):
        sample = [pts[rng.randrange(n)] for _ in range(n)]
        sa, sb, _, sxx_s = _ols(sample) if len({x for x, _ in sample}) > 1 else (0.0, 0.0, 0.0, 0.0)
        if sb <= 0:
            none += 1
            values.append(math.inf)
        else:
            values.append((target - sa) / sb)
    values.sort()
    lo, hi = values[int(0.025 * resamples)], values[min(int(0.975 * resamples), resamples - 1)]
    low = from_year_fraction(lo) if math.isfinite(lo) else None
    high = from_year_fraction(hi) if math.isfinite(hi) and hi < 9999 else None
    return Fit(n, a, b, sd / math.sqrt(sxx), sd, xm, sxx, _T95.get(n - 2, 1.96), target, cross, low, high,
               none / resamples, points=pts)
