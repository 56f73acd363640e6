"""Framework adapters, installed as ``lrcore.adapters`` (source folder ``adapters/``).

Each adapter supplies an ops namespace for its framework and wraps the compiled formula
in the framework's native protocol; none holds family-specific code. Importing this
package imports no framework: each submodule imports its own when it is imported.

* :mod:`lrcore.adapters.torch` — ``to_torch(spec, optimizer)``: a ``LambdaLR``;
* :mod:`lrcore.adapters.keras` — ``to_keras(spec)``: a ``LearningRateSchedule``;
* :mod:`lrcore.adapters.optax` — ``to_optax(spec)``: a jit-safe ``count -> lr``.
"""
