// Writing to the current execution's log: `log(level, message, metadata)`, and `console`,
// which a built workflow finds writing to the log:
//
//     console.info("synced", { rows: 42 });   // one INFO line "synced", metadata {"rows":42}
//     console.warn("slow", 1.5, "s");         // one WARNING line "slow 1.5 s"
//
// `console.log`, `console.info` -> INFO; `console.warn` -> WARNING; `console.error` ->
// ERROR; `console.debug`, `console.trace` -> DEBUG. With two arguments, a text and a plain
// object, the object is the line's metadata; otherwise the arguments are written in one
// line, separated by spaces (text as it is, an `Error` as `Name: message` and its stack,
// anything else as JSON, or as `String` when JSON cannot hold it). A line the host refuses
// (too large, say) is reported on stderr, which the host records as an ERROR line:
// `console` never throws into the workflow; `log` does.

import * as host from "./host.js";
import { ExecutionsError, InvalidArgument } from "./errors.js";
import { parseLevel, typeName } from "./models.js";

/**
 * Appends one line to the current execution's log. Throws `InvalidArgument` naming `level`
 * for an unknown level or `metadata` if it is not a plain object, `NoExecutionContext`
 * outside an execution, `TooLarge` beyond the host's limit.
 */
export function log(level, message, metadata) {
  let parsed;
  try {
    parsed = parseLevel(level);
  } catch (e) {
    if (e instanceof RangeError) throw new InvalidArgument("level", e.message);
    throw e;
  }
  if (typeof message !== "string") {
    throw new TypeError(`a log message is a string, not ${typeName(message)}`);
  }
  let text;
  if (metadata != null) {
    if (!isPlainObject(metadata)) throw new InvalidArgument("metadata", "must be a JSON object");
    text = JSON.stringify(metadata);
  }
  host.current().log(parsed.toLowerCase(), message, text);
}

/** Whether `value` is an object literal (or made by `Object.create(null)`). */
export function isPlainObject(value) {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** One argument of `console` as text. */
export function formatArgument(value) {
  if (typeof value === "string") return value;
  if (value instanceof Error) return describeError(value, true);
  if (value === undefined) return "undefined";
  if (typeof value === "function") return `[Function ${value.name || "(anonymous)"}]`;
  if (typeof value === "bigint" || typeof value === "symbol") return String(value);
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text;
  } catch {
    return String(value);
  }
}

/** `Name: message` of a thrown value (the name alone when the message is empty), and its
 * stack after it when `withStack`. */
export function describeError(error, withStack = false) {
  if (!(error instanceof Error)) return `Uncaught ${formatArgument(error)}`;
  const name = error.name || error.constructor?.name || "Error";
  const head = error.message ? `${name}: ${error.message}` : name;
  const stack = typeof error.stack === "string" ? error.stack.trimEnd() : "";
  return withStack && stack ? `${head}\n${stack}` : head;
}

/** The line and metadata `console.<method>(...args)` writes. */
export function consoleLine(args) {
  if (args.length === 2 && typeof args[0] === "string" && isPlainObject(args[1])) {
    return [args[0], args[1]];
  }
  return [args.map(formatArgument).join(" "), undefined];
}

const CONSOLE_LEVELS = {
  log: "info",
  info: "info",
  warn: "warning",
  error: "error",
  debug: "debug",
  trace: "debug",
};

/** Makes `target`'s methods write to the execution's log; `fallback` is where a refused
 * line is reported. */
export function installConsole(target, fallback) {
  for (const [method, level] of Object.entries(CONSOLE_LEVELS)) {
    target[method] = (...args) => {
      try {
        const [message, metadata] = consoleLine(args);
        let text;
        if (metadata !== undefined) {
          try {
            text = JSON.stringify(metadata);
          } catch (e) {
            text = JSON.stringify({ unserialisable: String(e) });
          }
        }
        host.current().log(level, message, text);
      } catch (e) {
        const why = e instanceof ExecutionsError ? e.message : describeError(e);
        fallback(`bifrost: a log line was not recorded: ${why}`);
      }
    };
  }
}
