"""The erfcx polynomials of the GELU kernels (plugin/geluPlugin/geluKernel.cu, halfErfcxFp32 / halfErfcx16)
and the emulation behind their ulp bounds (plugin/geluPlugin/README.md, "Numerics").

    python plugin/scripts/gelu_erfcx_fit.py

Fits E(s) ~ erfcx(t) / 2, s = 1 / (1 + t / 2), over t in [0, 10.2] by iteratively reweighted least
squares on the relative error (Lawson), prints the float32 coefficients (Horner order, s^n first) and
the fit errors. It then emulates the fp32 erf-form kernel in numpy float32 (FMAs rounded once), with
rcp.approx and expf moved by their documented errors (1 and 2 ulps) in every sign combination, and
prints the worst error in ulps against the float64 reference. An experiment's tool, not the product.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.special import erfc, erfcx

P = 0.5


def fit(degree: int) -> np.ndarray:
    t = np.linspace(0.0, 10.2, 40001)
    s, f = 1.0 / (1.0 + P * t), erfcx(t)
    v = np.vander(s, degree + 1, increasing=True)
    w = np.ones_like(t)
    for _ in range(80):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(v / f[:, None] * sw[:, None], sw, rcond=None)
        r = (v @ c) / f - 1.0
        w = w * np.abs(r)
        w /= w.sum()
    return (0.5 * c[::-1]).astype(np.float32)  # halved, s^n first


def fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(np.float32)


def nudge(v: np.ndarray, k: int) -> np.ndarray:
    ok = np.isfinite(v) & (v != 0)
    out = v.copy()
    for _ in range(abs(k)):
        out = np.nextafter(out, np.float32(np.inf if k > 0 else -np.inf)).astype(np.float32)
    return np.where(ok, out, v)


def gelu_erf_fp32(x: np.ndarray, coefficients: np.ndarray, k_rcp: int, k_exp: int) -> np.ndarray:
    one = np.ones_like(x)
    s = nudge((np.float32(1) / fma(np.abs(x), np.full_like(x, np.float32(P / np.sqrt(2))), one)).astype(np.float32),
              k_rcp)
    xc = np.fmin(np.abs(x), np.float32(16))
    a = (xc * xc).astype(np.float32)
    g = nudge(np.exp((np.float32(-0.5) * a).astype(np.float64)).astype(np.float32), k_exp)
    g = fma(g, (np.float32(-0.5) * fma(xc, xc, -a)).astype(np.float32), g)
    e = np.full_like(s, coefficients[0])
    for c in coefficients[1:]:
        e = fma(e, s, np.full_like(s, c))
    return np.where(x < 0, ((x * e).astype(np.float32) * g).astype(np.float32), (x * fma(-g, e, one)).astype(np.float32))


def main() -> None:
    t = np.linspace(0.0, 10.2, 200001)
    for degree in (10, 5):
        c = fit(degree)
        s = 1.0 / (1.0 + P * t)
        err = np.abs(np.polyval(c.astype(np.float64), s) / (0.5 * erfcx(t)) - 1.0).max()
        print(f"degree {degree}: relative fit error {err:.2e}\n  " + ", ".join(f"{v:.9e}F" for v in c))
    c10 = fit(10)
    rng = np.random.default_rng(1)
    x = np.concatenate([np.linspace(-15, 15, 400001), rng.normal(0, 3, 200000), -np.abs(rng.normal(0, 1e-3, 20000))])
    x = x.astype(np.float32)
    with np.errstate(all="ignore"):
        ref = 0.5 * x.astype(np.float64) * erfc(-x.astype(np.float64) / np.sqrt(2.0))
        _, e = np.frexp(np.abs(ref))
        ulp = np.ldexp(1.0, np.maximum(np.where(ref != 0, e - 1, -126), -126) - 23)
        worst = max(np.max(np.abs(gelu_erf_fp32(x, c10, kr, ke) - ref) / ulp)
                    for kr, ke in itertools.product((-1, 0, 1), (-2, 0, 2)))
    print(f"fp32 erf form, emulated worst: {worst:.2f} ulp (bound 16)")


if __name__ == "__main__":
    main()
