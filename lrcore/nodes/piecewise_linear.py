"""``piecewise_linear``: straight lines through ``[step, rate]`` points."""

from __future__ import annotations

import dataclasses

from ..fields import Points, param
from ..formulas import linear_curve
from ..node import Node, check_increasing


@dataclasses.dataclass(frozen=True, kw_only=True)
class PiecewiseLinear(Node):
    r"""Linear interpolation between points :math:`(t_i, y_i)`, held outside them.

    .. math:: \eta(t) = y_i\,\frac{t_{i+1} - t}{t_{i+1} - t_i}
                      + y_{i+1}\,\frac{t - t_i}{t_{i+1} - t_i}, \qquad t_i \le t \le t_{i+1}

    :math:`\eta(t) = y_0` before :math:`t_0` and :math:`y_n` after :math:`t_n`.

    >>> import lrcore
    >>> s = lrcore.piecewise_linear(points=[[2, 0.0], [4, 1.0], [8, 0.5]])
    >>> lrcore.evaluate(s, [0, 2, 3, 4, 6, 9]).tolist()
    [0.0, 0.0, 0.5, 1.0, 0.75, 0.5]
    """

    type = "piecewise_linear"
    points: tuple | list = param(Points(), doc="[[step, rate], ...], steps strictly increasing")

    def check(self, path):
        check_increasing(f"{path}.points", tuple(s for s, _ in self.points))

    def rate_bound(self):
        return max(rate for _, rate in self.points)

    def build(self, ops):
        steps = [s for s, _ in self.points]
        rates = [r for _, r in self.points]
        branches = [ops.constant(rates[0])]
        for i in range(len(steps) - 1):
            branches.append(_segment(ops, steps[i], steps[i + 1] - steps[i], rates[i],
                                     rates[i + 1]))
        branches.append(ops.constant(rates[-1]))
        return ops.select(steps, branches)

    def breakpoints(self):
        return [s for s, _ in self.points]


def _segment(ops, t0, length, y0, y1):
    line = linear_curve(ops, length, y0, y1)
    return lambda t: line(t - t0)
