"""The benchmarks' Python workflow: repeats one executions call `n` times through the
`bifrost` package, as `tests/programs/src/bench.rs` does through the Rust crate (same input,
same result shape)."""

from bifrost import executions, workflow


@workflow
async def guest_bench(op: str, n: int, id: str | None = None, limit: int = 50) -> dict[str, int]:
    items = 0
    if op == "get":
        for _ in range(n):
            e = await executions.get(id)
            items += bool(e.execution_id)
    elif op == "list":
        for _ in range(n):
            items += len(await executions.list(limit=limit))
    else:
        raise ValueError(f"unknown op {op!r}")
    return {"calls": n, "items": items}
