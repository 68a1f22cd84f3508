// A parent and its child in one workflow, through the package's `workflows`: the
// reference's "sub-workflow context passing". The twin of the Rust program
// `tests/programs/src/family.rs`, whose doc comment gives the input and the result (in its
// snake_case JSON); all the twins answer alike, word for word.

import { ChildExecutionFailed, ExecutionsError, context, executions, workflows } from "bifrost";

export default async function family({ role, child = "", lines = 0, child_role, peek }) {
  if (role === "parent") {
    for (let n = 1; n <= lines; n++) console.info(`before ${n}`);
    let answer;
    try {
      const result = await workflows.execute(child, { role: child_role ?? "child", peek: peek ?? null });
      // The reference's `execute` returns the result; the child's id is in its record,
      // found among this execution's children.
      const [record] = (await executions.list({ workflowName: child, limit: 1000 })).filter(
        (e) => e.parentExecutionId === context.executionId(),
      );
      answer = { child: result, child_id: record.executionId, child_parent: record.parentExecutionId };
    } catch (e) {
      if (e instanceof ChildExecutionFailed) {
        answer = { failed: { execution_id: e.executionId, status: e.status, message: e.message } };
      } else if (e instanceof ExecutionsError) {
        answer = { error: e.message };
      } else {
        throw e;
      }
    }
    console.info("after");
    return answer;
  }
  if (role === "child") {
    const parent = context.parentExecutionId();
    if (parent === null) throw new Error("no parent");
    const parentLines = (await executions.getCurrentLogs({ executionId: parent, count: 1000 })).map((l) => l.message);
    const visible = [];
    for await (const page of executions.pages({ pageSize: 1000 })) visible.push(...page.map((e) => e.executionId));
    let seen = null;
    if (peek != null) {
      try {
        seen = (await executions.get(peek)).status;
      } catch (e) {
        if (!(e instanceof ExecutionsError)) throw e;
        seen = e.kind === "not-found" || e.kind === "permission-denied" ? e.kind : "other";
      }
    }
    return { parent, parent_lines: parentLines, visible, caller: context.caller().userId, peek: seen };
  }
  if (role === "fail") throw new Error("the child gave up");
  throw new RangeError(`no role ${JSON.stringify(role)}`);
}
