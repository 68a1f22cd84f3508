// The bifrost package: the reference SDK's API for workflows written in JavaScript or
// TypeScript and built into WebAssembly components with `bifrost-build`.
//
//     import { executions, workflows, context } from "bifrost";
//
//     export default async function (input) {
//       const recent = await executions.list({ limit: input.limit ?? 10 });
//       console.info("found", { count: recent.length });
//       return { recent: recent.map((e) => e.executionId) };
//     }
//
// The guide is the repository's docs/JAVASCRIPT.md.

export * as executions from "./executions.js";
export * as workflows from "./workflows.js";
export * as context from "./context.js";
export { log } from "./logging.js";
export {
  ExecutionsError,
  ExecutionNotFound,
  ExecutionAccessDenied,
  NoExecutionContext,
  InvalidArgument,
  BackendUnavailable,
  TooLarge,
  LimitReached,
  WorkflowNotFound,
  ChildExecutionFailed,
  HostError,
} from "./errors.js";
export { STATUSES, LEVELS, Timestamp, UnknownStatus, parseStatus, parseLevel, isFinal } from "./models.js";
