"""The law zoo: scaling laws as pure JAX functions plus named parameter specs.

A :class:`Law` is a function of one data point, ``fn(params, x)``, with its parameters'
bounds (bijections to an unconstrained space, shared by MAP fits and NumPyro models),
default start grids and default priors. Built-in laws are registered by name; register your
own with :func:`register` and it works everywhere a name is accepted.
"""

from lawfit.laws import bijection
from lawfit.laws._law import (
    Law,
    Param,
    Prior,
    decode_inputs,
    default_prior,
    encode_inputs,
    get,
    names,
    register,
)
from lawfit.laws._zoo import (
    bnsl,
    chinchilla,
    data_constrained,
    kaplan_nd,
    power_law,
    revisiting_m4,
    shared_exponent,
    sigmoid_link,
)
from lawfit.laws._zoo_more import bnsl_n, critical_batch, error_link, kaplan_ns

__all__ = [
    "Law",
    "Param",
    "Prior",
    "bijection",
    "bnsl",
    "bnsl_n",
    "chinchilla",
    "critical_batch",
    "data_constrained",
    "decode_inputs",
    "default_prior",
    "encode_inputs",
    "error_link",
    "get",
    "kaplan_nd",
    "kaplan_ns",
    "names",
    "power_law",
    "register",
    "revisiting_m4",
    "shared_exponent",
    "sigmoid_link",
]
