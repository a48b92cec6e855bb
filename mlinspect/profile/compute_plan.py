"""Read a Core ML compute plan into OpPlacement records keyed by op id.

The plan object is coremltools' `MLComputePlan` (coremltools 9.0,
coremltools.models.compute_plan). This module only walks its model structure
and calls the plan's getters for each op's device usage and estimated cost.
So it runs on any object with that interface, such as the tests' plans
whose native proxy is a stand-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mlinspect.profile.record import OpPlacement


@dataclass(frozen=True, slots=True)
class PlanReading:
    """The ops of one compute plan, and the ops it could not key."""

    ops: dict[str, OpPlacement]
    unkeyed: tuple[str, ...] = field(default=())
    """Operator names of ops without outputs: a plan op is keyed by its first output name, so these have no op id."""


def device_name(device: Any) -> str:
    """Return "cpu", "gpu" or "neural_engine" for one of coremltools' MLComputeDevice objects."""
    from coremltools.models.compute_device import (
        MLCPUComputeDevice,
        MLGPUComputeDevice,
        MLNeuralEngineComputeDevice,
    )

    if isinstance(device, MLNeuralEngineComputeDevice):
        return "neural_engine"
    if isinstance(device, MLGPUComputeDevice):
        return "gpu"
    if isinstance(device, MLCPUComputeDevice):
        return "cpu"
    raise ValueError(f"unknown compute device type {type(device).__name__}")


def read_compute_plan(plan: Any, function: str | None) -> PlanReading:
    """Read every op of `function` (all functions when None) from an MLComputePlan.

    Op ids follow mlinspect's reader: `function/first_output_name`, with a
    pipeline sub-model's index as a prefix of the function name ("0:main").
    Raises ValueError when the plan is not an ML program or lacks `function`.
    """
    structure = plan.model_structure
    ops: dict[str, OpPlacement] = {}
    unkeyed: list[str] = []
    names: list[str] = []
    for prefix, program in _programs(structure, ""):
        for name, program_function in program.functions.items():
            names.append(prefix + name)
            if function is not None and prefix + name != function:
                continue
            for operation in _walk(program_function.block):
                if not operation.outputs:
                    unkeyed.append(operation.operator_name)
                    continue
                op_id = f"{prefix}{name}/{operation.outputs[0].name}"
                ops[op_id] = _placement(plan, operation, op_id)

    if function is not None and function not in names:
        raise ValueError(
            f"function {function!r} not found in the compute plan; it has: {', '.join(names)}"
        )
    return PlanReading(ops=ops, unkeyed=tuple(unkeyed))


def _programs(structure: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if structure.program is not None:
        yield prefix, structure.program
    elif structure.pipeline is not None:
        for index, (_name, sub_structure) in enumerate(structure.pipeline.sub_models):
            yield from _programs(sub_structure, f"{prefix}{index}:")
    elif structure.neuralnetwork is not None:
        raise ValueError(
            "the compute plan describes a neural network, not an ML program; mlinspect profiles ML programs"
        )
    else:
        raise ValueError("the compute plan's model structure is empty")


def _walk(block: Any) -> Iterator[Any]:
    for operation in block.operations:
        yield operation
        for nested in operation.blocks:
            yield from _walk(nested)


def _placement(plan: Any, operation: Any, op_id: str) -> OpPlacement:
    usage = plan.get_compute_device_usage_for_mlprogram_operation(operation)
    cost = plan.get_estimated_cost_for_mlprogram_operation(operation)
    preferred = None
    supported: tuple[str, ...] = ()
    if usage is not None:
        preferred = device_name(usage.preferred_compute_device)
        supported = tuple(sorted({device_name(d) for d in usage.supported_compute_devices}))
    return OpPlacement(
        op_id=op_id,
        type=operation.operator_name,
        preferred_device=preferred,
        supported_devices=supported,
        cost_weight=None if cost is None else float(cost.weight),
    )
