// Stream entry ids: `[milliseconds, sequence]` as BigInts (the host's `stream-id` record
// holds two u64), shown as `<milliseconds>-<sequence>`.

import { rustDebug } from "./errors.js";

const U64_MAX = (1n << 64n) - 1n;

function number(text) {
  if (!/^[0-9]+$/.test(text)) return null;
  const value = BigInt(text);
  return value <= U64_MAX ? value : null;
}

/** `[ms, seq]` of an entry id `<ms>-<seq>`, or null if it is not one. */
export function parse(text) {
  const at = text.indexOf("-");
  if (at < 0) return null;
  const ms = number(text.slice(0, at));
  const seq = number(text.slice(at + 1));
  return ms === null || seq === null ? null : [ms, seq];
}

/** A start of a log read, by the host's rules: `<ms>-<seq>`, `<ms>` (that millisecond's
 * first entry), `0` or `-` for the beginning, surrounding whitespace ignored; null if the
 * text is none of these. */
export function parseStart(text) {
  const t = text.trim();
  if (t === "-") return [0n, 0n];
  if (t.includes("-")) return parse(t);
  const ms = number(t);
  return ms === null ? null : [ms, 0n];
}

/** Why `text` is not a start, in the host's words. */
export function startError(text) {
  return (
    `${rustDebug(text)} is not a stream id (expected <milliseconds>-<sequence>, ` +
    "<milliseconds>, or 0 for the beginning)"
  );
}

/** The first id after `id`; null after the last possible id. */
export function successor([ms, seq]) {
  if (seq < U64_MAX) return [ms, seq + 1n];
  if (ms < U64_MAX) return [ms + 1n, 0n];
  return null;
}

/** Whether id `a` comes after id `b`. */
export function after(a, b) {
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
}
