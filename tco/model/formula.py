"""A small expression layer: one definition of a cost formula serves both the model and the workbooks.

A formula is a tree of :class:`Expr` nodes built with ordinary arithmetic over named variables::

    WALL_HOURS = var("work") / (var("accelerators") * var("rate") * var("goodput")) / SECONDS_PER_HOUR

* :meth:`Expr.evaluate` computes it on numpy arrays (broadcast together; the model's vectorised pass);
* :meth:`Expr.excel` writes it as a spreadsheet expression over cell references (the live XLSX exports);
* :meth:`Expr.bind` substitutes variables by other expressions (a formula built from formulas).

Missing stays missing: NaN in gives NaN out, also through comparisons and ``where`` (a NaN condition gives
NaN, never one of the branches). Spreadsheets have no NaN; the workbooks only write formulas for rows whose
inputs are present. Functions: :func:`ceil` (``ROUNDUP(x,0)``), :func:`floor` (``FLOOR(x,1)``),
:func:`maximum`/:func:`minimum` (``MAX``/``MIN``), :func:`exp` (``EXP``), :func:`where` (``IF``); ``**`` is
``^``. ``ROUNDUP`` and ``FLOOR`` equal ceil and floor for the non-negative quantities costs are made of.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final, Union

from tco.errors import TcoError

if TYPE_CHECKING:
    import numpy as np

#: What a variable may be bound to when evaluating: an array, a pandas Series or a number.
Value = object
Operand = Union["Expr", float, int]

_PRECEDENCE: Final = {"<": 0, "<=": 0, ">": 0, ">=": 0, "+": 1, "-": 1, "*": 2, "/": 2, "^": 3}
#: A reference that needs no parentheses: {key}, [Header], A1, $A$1, Sheet!$D$5 or a plain number.
_ATOMIC: Final = re.compile(
    r"^(\{[^{}]+\}|\[[^\[\]]+\]|([A-Za-z_][\w.]*!)?\$?[A-Z]{1,3}\$?\d+|\d+(\.\d+)?([eE][-+]?\d+)?)$"
)


class Expr:
    """A node of a formula. Build with arithmetic; evaluate on arrays; write as a spreadsheet formula.
    Nodes are immutable by convention: combining or binding them makes new nodes."""

    __slots__ = ()

    # --- building -------------------------------------------------------------------------------------

    def __add__(self, other: Operand) -> Expr:
        return _binary("+", self, lift(other))

    def __radd__(self, other: Operand) -> Expr:
        return _binary("+", lift(other), self)

    def __sub__(self, other: Operand) -> Expr:
        return _binary("-", self, lift(other))

    def __rsub__(self, other: Operand) -> Expr:
        return _binary("-", lift(other), self)

    def __mul__(self, other: Operand) -> Expr:
        return _binary("*", self, lift(other))

    def __rmul__(self, other: Operand) -> Expr:
        return _binary("*", lift(other), self)

    def __truediv__(self, other: Operand) -> Expr:
        return _binary("/", self, lift(other))

    def __rtruediv__(self, other: Operand) -> Expr:
        return _binary("/", lift(other), self)

    def __pow__(self, other: Operand) -> Expr:
        return _binary("^", self, lift(other))

    def __rpow__(self, other: Operand) -> Expr:
        return _binary("^", lift(other), self)

    def __gt__(self, other: Operand) -> Expr:
        return Binary(">", self, lift(other))

    def __ge__(self, other: Operand) -> Expr:
        return Binary(">=", self, lift(other))

    def __lt__(self, other: Operand) -> Expr:
        return Binary("<", self, lift(other))

    def __le__(self, other: Operand) -> Expr:
        return Binary("<=", self, lift(other))

    # --- using ----------------------------------------------------------------------------------------

    def evaluate(self, **values: Value) -> np.ndarray:
        """The formula on arrays: every variable bound to an array or a number (broadcast together)."""
        import numpy as np

        missing = self.names - set(values)
        if missing:
            raise TcoError(f"internal: formula needs {', '.join(sorted(missing))}")
        arrays = {k: np.asarray(v, dtype="float64") for k, v in values.items() if k in self.names}
        with np.errstate(all="ignore"):
            return np.asarray(self._eval(arrays), dtype="float64")

    def excel(self, **refs: str | Expr) -> str:
        """The formula as a spreadsheet expression (no leading ``=``): each variable becomes its reference
        (a cell, ``{key}``, ``[Header]``) or an expression; a reference that is not atomic is
        parenthesised."""
        bound = self.bind(**{k: v for k, v in refs.items() if isinstance(v, Expr)})
        text = {k: v for k, v in refs.items() if isinstance(v, str)}
        missing = bound.names - set(text)
        if missing:
            raise TcoError(f"internal: formula needs a reference for {', '.join(sorted(missing))}")
        return bound._excel(text)

    def bind(self, **exprs: Operand) -> Expr:
        """This formula with variables replaced by expressions (or numbers)."""
        return self._bind({k: lift(v) for k, v in exprs.items()}) if exprs else self

    @property
    def names(self) -> frozenset[str]:
        """The variables the formula reads."""
        raise NotImplementedError

    def _eval(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def _excel(self, refs: Mapping[str, str]) -> str:
        raise NotImplementedError

    def _bind(self, exprs: Mapping[str, Expr]) -> Expr:
        raise NotImplementedError

    @property
    def _precedence(self) -> int:
        return 9


class Var(Expr):
    """A named input."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def names(self) -> frozenset[str]:
        return frozenset({self.name})

    def _eval(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        return values[self.name]

    def _excel(self, refs: Mapping[str, str]) -> str:
        ref = refs[self.name]
        return ref if _ATOMIC.match(ref) else f"({ref})"

    def _bind(self, exprs: Mapping[str, Expr]) -> Expr:
        return exprs.get(self.name, self)


class Const(Expr):
    """A number (a unit conversion or a fixed rule of the model)."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value

    @property
    def names(self) -> frozenset[str]:
        return frozenset()

    def _eval(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        import numpy as np

        return np.asarray(self.value, dtype="float64")

    def _excel(self, refs: Mapping[str, str]) -> str:
        value = float(self.value)
        text = repr(value)
        if value.is_integer():
            mantissa, _, exponent = f"{value:.15e}".partition("e")
            short = f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
            plain = f"{value:.0f}"
            text = short if len(short) < len(plain) and float(short) == value else plain
        return f"({text})" if value < 0 else text

    def _bind(self, exprs: Mapping[str, Expr]) -> Expr:
        return self


class Binary(Expr):
    """``left op right``: arithmetic (``+ - * / ^``) or a comparison (1 or 0; NaN when a side is NaN)."""

    __slots__ = ("left", "op", "right")

    def __init__(self, op: str, left: Expr, right: Expr) -> None:
        self.op, self.left, self.right = op, left, right

    @property
    def names(self) -> frozenset[str]:
        return self.left.names | self.right.names

    @property
    def _precedence(self) -> int:
        return _PRECEDENCE[self.op]

    def _eval(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        import numpy as np

        a, b = self.left._eval(values), self.right._eval(values)
        if self.op in _ARITHMETIC:
            return np.asarray(_ARITHMETIC[self.op](a, b), dtype="float64")
        truth = _COMPARISONS[self.op](a, b).astype("float64")
        return np.asarray(np.where(np.isnan(a) | np.isnan(b), np.nan, truth))

    def _excel(self, refs: Mapping[str, str]) -> str:
        mine = self._precedence
        left, right = self.left._excel(refs), self.right._excel(refs)
        # Excel's ^ is left-associative and its unary minus binds tighter: parenthesise any compound operand.
        if self.left._precedence < mine or (self.op == "^" and isinstance(self.left, Binary)):
            left = f"({left})"
        if self.right._precedence < mine or (
            self.right._precedence == mine and (self.op in ("-", "/", "^") or mine == 0)
        ):
            right = f"({right})"
        return f"{left}{self.op}{right}"

    def _bind(self, exprs: Mapping[str, Expr]) -> Expr:
        left, right = self.left._bind(exprs), self.right._bind(exprs)
        return _binary(self.op, left, right) if self.op in _ARITHMETIC else Binary(self.op, left, right)


class Call(Expr):
    """A spreadsheet function with its numpy twin."""

    __slots__ = ("args", "function")

    def __init__(self, function: str, args: tuple[Expr, ...]) -> None:
        self.function, self.args = function, args

    @property
    def names(self) -> frozenset[str]:
        return frozenset().union(*(a.names for a in self.args))

    def _eval(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        import numpy as np

        args = [a._eval(values) for a in self.args]
        if self.function == "IF":
            condition, yes, no = args
            return np.asarray(np.where(np.isnan(condition), np.nan, np.where(condition != 0, yes, no)))
        return np.asarray(_FUNCTIONS[self.function][0](*args), dtype="float64")

    def _excel(self, refs: Mapping[str, str]) -> str:
        args = [a._excel(refs) for a in self.args]
        if self.function == "IF":
            return f"IF({','.join(args)})"
        return _FUNCTIONS[self.function][1](args)

    def _bind(self, exprs: Mapping[str, Expr]) -> Expr:
        return Call(self.function, tuple(a._bind(exprs) for a in self.args))


def _arithmetic() -> dict[str, Callable[[np.ndarray, np.ndarray], object]]:
    import operator

    return {
        "+": operator.add,
        "-": operator.sub,
        "*": operator.mul,
        "/": operator.truediv,
        "^": operator.pow,
    }


def _comparisons() -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    import operator

    return {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


_ARITHMETIC: Final = _arithmetic()
_COMPARISONS: Final = _comparisons()


def _numpy(name: str) -> Callable[..., object]:
    def call(*args: np.ndarray) -> object:
        import numpy as np

        return getattr(np, name)(*args)

    return call


_FUNCTIONS: Final[dict[str, tuple[Callable[..., object], Callable[[list[str]], str]]]] = {
    "ROUNDUP": (_numpy("ceil"), lambda a: f"ROUNDUP({a[0]},0)"),
    "FLOOR": (_numpy("floor"), lambda a: f"FLOOR({a[0]},1)"),
    "MAX": (_numpy("maximum"), lambda a: f"MAX({a[0]},{a[1]})"),
    "MIN": (_numpy("minimum"), lambda a: f"MIN({a[0]},{a[1]})"),
    "EXP": (_numpy("exp"), lambda a: f"EXP({a[0]})"),
}


def _binary(op: str, left: Expr, right: Expr) -> Expr:
    """``left op right``, with the identities that keep bound formulas readable (x*1, x/1, x+0, 0+x)."""
    if isinstance(right, Const) and (
        (op in ("*", "/", "^") and right.value == 1) or (op in ("+", "-") and right.value == 0)
    ):
        return left
    if isinstance(left, Const) and ((op == "*" and left.value == 1) or (op == "+" and left.value == 0)):
        return right
    return Binary(op, left, right)


def lift(value: Operand) -> Expr:
    """An expression for ``value`` (numbers become constants)."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TcoError(f"internal: not a formula operand: {value!r}")
    return Const(float(value))


def var(name: str) -> Var:
    return Var(name)


def ceil(x: Operand) -> Expr:
    return Call("ROUNDUP", (lift(x),))


def floor(x: Operand) -> Expr:
    return Call("FLOOR", (lift(x),))


def maximum(a: Operand, b: Operand) -> Expr:
    return Call("MAX", (lift(a), lift(b)))


def minimum(a: Operand, b: Operand) -> Expr:
    return Call("MIN", (lift(a), lift(b)))


def exp(x: Operand) -> Expr:
    return Call("EXP", (lift(x),))


def where(condition: Expr, yes: Operand, no: Operand) -> Expr:
    """``yes`` where ``condition`` holds, else ``no`` (NaN where the condition is NaN)."""
    return Call("IF", (condition, lift(yes), lift(no)))
