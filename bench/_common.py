"""What the scripts in `bench/` share: one way to summarize repeated runs (mean ± sample std)."""
import math
import numpy as np

def mean_std(vals) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1; 0.0 for a single value) of the values that are not None (a split
    with no class, e.g. no Few class, is None); (nan, nan) when none is left."""
    v = [float(x) for x in vals if x is not None]
    if not v: return (math.nan, math.nan)
    return float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0

def fmt_mean_std(vals, width:int=9, digits:int=1) -> str:
    "`mean ± std` right-aligned in a table column (`width` characters before the ±); a dash when there are no values."
    m, s = mean_std(vals)
    return f"{'–':>{width + 7}}" if math.isnan(m) else f"{m:>{width}.{digits}f} ± {s:<4.{digits}f}"
