// A TypeScript workflow: the failures of the last days, counted by workflow.
//
//     npx bifrost-build failure_report.ts -o failure_report.wasm
//     bifrost-runner run failure_report.wasm --input '{"days": 7}'
//
// It walks every failed execution the caller may see since then, a page at a time, logs a
// summary line with metadata, records the count as a runtime variable, and returns the
// report. Types come from the package (`WorkflowExecution`, `Timestamp`).

import { context, executions, type WorkflowExecution } from "bifrost";

interface Input {
  /** How many days back, from now (default 1). */
  days?: number;
  /** Stop after this many failures (default 1,000). */
  limit?: number;
}

interface Report {
  since: string;
  failed: number;
  byWorkflow: Record<string, number>;
  newest: { executionId: string; workflowName: string; errorMessage: string | null } | null;
}

export default async function failureReport({ days = 1, limit = 1000 }: Input): Promise<Report> {
  const since = new Date(Date.now() - days * 86_400_000);
  const byWorkflow: Record<string, number> = {};
  let failed = 0;
  let newest: WorkflowExecution | null = null;
  walk: for await (const page of executions.pages({ status: "Failed", startDate: since, pageSize: 100 })) {
    for (const execution of page) {
      newest ??= execution;
      byWorkflow[execution.workflowName] = (byWorkflow[execution.workflowName] ?? 0) + 1;
      failed += 1;
      if (failed >= limit) break walk;
    }
  }
  console.info("failure report", { failed, workflows: Object.keys(byWorkflow).length });
  context.setVariable("failed", failed);
  return {
    since: since.toISOString(),
    failed,
    byWorkflow,
    newest:
      newest === null
        ? null
        : { executionId: newest.executionId, workflowName: newest.workflowName, errorMessage: newest.errorMessage },
  };
}
