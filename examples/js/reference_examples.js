// The executions module's examples from the reference SDK's documentation, as one
// JavaScript workflow: `npx bifrost-build reference_examples.js`, then run it in the runner.
//
// The reference writes Python (`executions.list(limit=10)`); here each call is written the
// JavaScript way with the same names and defaults (`executions.list({ limit: 10 })`). The
// id passed to `executions.get` is the input's `executionId`, or the most recent execution's
// (the documentation writes a placeholder).

import { executions } from "bifrost";

export default async function referenceExamples({ executionId } = {}) {
  const recent = await executions.list({ limit: 10 });
  const failedToday = await executions.list({ status: "Failed", startDate: "2026-04-25" });

  const detail = await executions.get(executionId ?? recent[0].executionId);
  console.log(detail.status, detail.durationMs);

  const logs = await executions.getCurrentLogs();
  for (const entry of logs) {
    console.log(`[${entry.level}] ${entry.message}`);
  }

  return {
    recent: recent.map((e) => e.executionId),
    failedToday: failedToday.map((e) => e.executionId),
    detail: { status: detail.status, durationMs: detail.durationMs },
    logs: logs.map((entry) => `[${entry.level}] ${entry.message}`),
  };
}
