import { isMap, isScalar, isSeq } from 'yaml';
import { DEFAULT_REQUIREMENT } from '../core/requirement.js';
import { splitShellWords } from './shell-words.js';
import { describe, isNull } from './yaml-reader.js';
import type { YamlReader } from './yaml-reader.js';

/** A value read from the file with the node it came from, for locating later cross-job problems. */
export interface Located {
  readonly text: string;
  readonly node: unknown;
}

/** One name or a list of names (`a` or `[a, b]`); numbers are taken as written. */
export function readNames(r: YamlReader, node: unknown, what: string): Located[] {
  const value = r.resolve(node);
  if (isNull(value)) return [];
  if (isScalar(value)) {
    const text = r.text(node, what, true);
    return text === undefined ? [] : [{ text, node }];
  }
  if (!isSeq(value)) {
    r.report(node, `${what} must be a name or a list of names, not ${describe(value)}`);
    return [];
  }
  const out: Located[] = [];
  value.items.forEach((item, i) => {
    const text = r.text(item, `${what}[${i}]`, true);
    if (text !== undefined) out.push({ text, node: item });
  });
  return out;
}

/** `args: "a 'b c'"` is split like a shell would; a list is taken item by item. */
export function readArgs(r: YamlReader, node: unknown, what: string): string[] {
  const value = r.resolve(node);
  if (isScalar(value) && typeof value.value === 'string') {
    const split = splitShellWords(value.value);
    if (split.ok) return split.words;
    r.report(node, `${what}: ${split.error}; close the quote or give args as a list`);
    return [];
  }
  if (isMap(value)) {
    r.report(node, `${what} must be a string or a list of strings, not a map`);
    return [];
  }
  return readNames(r, node, what).map((l) => l.text);
}

/** `requirement: GPU`, `requirement: "GPU,HIGH_MEM"` or a list; nothing means GENERAL. */
export function readRequirement(r: YamlReader, node: unknown, what: string): string[] {
  const tags: string[] = [];
  for (const { text, node: at } of readNames(r, node, what)) {
    const parts = text.split(',').map((t) => t.trim());
    if (parts.some((t) => t === '')) r.report(at, `${what} has an empty tag in "${text}"; write e.g. requirement: "GPU,HIGH_MEM"`);
    for (const t of parts) if (t !== '' && !tags.includes(t)) tags.push(t);
  }
  return tags.length > 0 ? tags : [...DEFAULT_REQUIREMENT];
}

/** A map of variable name → value; numbers and booleans are taken as written, nothing is "". */
export function readEnv(r: YamlReader, node: unknown, what: string): Record<string, string> {
  const value = r.resolve(node);
  if (isNull(value)) return {};
  if (!isMap(value)) {
    r.report(node, `${what} must be a map of NAME: value, not ${describe(value)}`);
    return {};
  }
  const vars: Array<[string, string]> = [];
  for (const entry of r.entries(value)) {
    if (entry.key === '' || entry.key.includes('=') || entry.key.includes('\0')) {
      r.report(entry.keyNode, `${what}: "${entry.key}" is not a variable name (empty, or contains "=")`);
      continue;
    }
    const v = isNull(r.resolve(entry.value)) ? '' : r.text(entry.value, `${what}.${entry.key}`, true);
    if (v !== undefined) vars.push([entry.key, v]);
  }
  // fromEntries defines own properties, so a variable named __proto__ stays a plain variable.
  return Object.fromEntries(vars);
}
