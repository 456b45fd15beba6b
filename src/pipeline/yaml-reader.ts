import { isAlias, isCollection, isMap, isNode, isScalar, isSeq, visit } from 'yaml';
import type { Alias, Document, LineCounter, Node, YAMLMap } from 'yaml';
import { nearest } from './levenshtein.js';
import type { PipelineProblem } from './pipeline.js';

/** The YAML 1.2 core schema tags; any other explicit tag (`!!js/function`, `!!binary`, `!x`) is refused. */
const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

export interface Entry {
  readonly key: string;
  readonly keyNode: unknown;
  readonly value: unknown;
}

export interface NumberRule {
  readonly integer?: boolean;
  readonly min?: number;
  readonly max?: number;
}

/**
 * Reads a parsed YAML document node by node, turning each misfit into a located problem instead
 * of stopping: the caller gets `undefined` for a bad value and carries on to find the next one.
 */
export class YamlReader {
  readonly problems: PipelineProblem[] = [];
  /** Alias → the node its anchor names (undefined when no such anchor precedes it). */
  private readonly targets = new Map<Alias, Node | undefined>();
  /** Nodes whose tag was refused: their value is not complained about again. */
  private readonly refused = new Set<unknown>();
  unresolvedAliases = 0;
  /** The first alias in the file, where an alias bomb is reported. */
  firstAlias: Alias | undefined;
  /** Map keys in the whole document (counted once, aliases not expanded). */
  keyCount = 0;

  /** Set when a collection nests deeper than the reader's `maxDepth`; the walk stopped there. */
  tooDeep = false;

  constructor(
    doc: Document,
    private readonly lines: LineCounter,
    maxDepth = Infinity,
  ) {
    const anchors = new Map<string, Node>();
    visit(doc, {
      Node: (_key, node, path) => {
        if (isCollection(node) && path.length > maxDepth && path.filter(isCollection).length >= maxDepth) {
          this.tooDeep = true;
          return visit.BREAK;
        }
        if (node.tag !== undefined && !CORE_TAGS.has(node.tag)) {
          this.refused.add(node);
          this.report(node, `tag ${shortTag(node.tag)} is not allowed; pipelines use plain YAML 1.2 values (remove the tag)`);
        }
        if (isMap(node)) this.checkUniqueKeys(node);
        if (isAlias(node)) {
          this.firstAlias ??= node;
          const target = anchors.get(node.source);
          this.targets.set(node, target);
          if (target === undefined) {
            this.unresolvedAliases++;
            this.report(node, `alias *${node.source} has no anchor &${node.source} before it; define the anchor first`);
          }
        } else if (node.anchor !== undefined) {
          anchors.set(node.anchor, node);
        }
        return undefined;
      },
    });
  }

  /**
   * Reports a key that appears twice in one map. yaml's own check (uniqueKeys) compares each new
   * key with every earlier one, quadratic: 32,000 keys took 8 s. This is one Set per map.
   */
  private checkUniqueKeys(map: YAMLMap): void {
    this.keyCount += map.items.length;
    const seen = new Map<string, unknown>();
    for (const pair of map.items) {
      const key = isScalar(pair.key) ? pair.key : undefined;
      if (key === undefined || key.value === null || typeof key.value === 'object') continue;
      const id = `${typeof key.value}:${String(key.value)}`;
      const first = seen.get(id);
      if (first === undefined) seen.set(id, key);
      else this.report(key, `key ${describe(key)} appears twice in this map (first at line ${this.line(first)}); keep one`);
    }
  }

  /** Adds a problem at `at` (a node or an offset), or at `fallback` when `at` has no position. */
  report(at: unknown, message: string, fallback?: unknown): void {
    const { line, column } = this.position(at) ?? this.position(fallback) ?? { line: 1, column: 1 };
    this.problems.push({ line, column, message });
  }

  position(at: unknown): { line: number; column: number } | undefined {
    let offset: number | undefined;
    if (typeof at === 'number') offset = at;
    else if (isNode(at) && at.range) offset = at.range[0];
    if (offset === undefined) return undefined;
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /** Like `report`, but silent where the cause (missing anchor, refused tag) is reported already. */
  private complain(node: unknown, message: string): void {
    if (isAlias(node) && this.targets.get(node) === undefined) return;
    if (this.refused.has(this.resolve(node))) return;
    this.report(node, message);
  }

  line(at: unknown): number {
    return this.position(at)?.line ?? 1;
  }

  /** The node an alias stands for; any other value unchanged. */
  resolve(node: unknown): unknown {
    return isAlias(node) ? this.targets.get(node) : node;
  }

  /** The string-keyed entries of a map; other keys are reported and skipped. */
  entries(map: unknown): Entry[] {
    const out: Entry[] = [];
    if (!isMap(map)) return out;
    for (const pair of map.items) {
      const key = this.resolve(pair.key);
      if (isScalar(key) && typeof key.value === 'string') out.push({ key: key.value, keyNode: pair.key, value: pair.value });
      else this.report(pair.key, `key ${describe(key)} is not a name; keys must be plain strings`, map);
    }
    return out;
  }

  /** Reports every key that is not in `allowed`, suggesting the nearest valid one. */
  checkKeys(entries: readonly Entry[], allowed: readonly string[], where: string): void {
    for (const { key, keyNode } of entries) {
      if (allowed.includes(key)) continue;
      const guess = nearest(key, allowed);
      const fix = guess !== undefined ? `did you mean "${guess}"?` : `valid keys: ${allowed.join(', ')}`;
      this.report(keyNode, `unknown key "${key}" ${where}; ${fix}`);
    }
  }

  /** A string; with `loose`, a number or boolean is taken as written (`1.0` stays "1.0"). */
  text(node: unknown, what: string, loose = false): string | undefined {
    const value = this.resolve(node);
    if (isScalar(value)) {
      if (typeof value.value === 'string') return value.value;
      if (loose && (typeof value.value === 'number' || typeof value.value === 'boolean')) {
        return value.source !== undefined && value.source !== '' ? value.source : String(value.value);
      }
    }
    this.complain(node, `${what} must be a string, not ${describe(value)}`);
    return undefined;
  }

  number(node: unknown, what: string, rule: NumberRule = {}): number | undefined {
    const value = this.resolve(node);
    const n = isScalar(value) ? value.value : undefined;
    const kind = rule.integer ? 'a whole number' : 'a number';
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      this.complain(node, `${what} must be ${kind}, not ${describe(value)}`);
      return undefined;
    }
    if (rule.integer && !Number.isSafeInteger(n)) {
      this.complain(node, `${what} must be ${kind}, not ${n}`);
      return undefined;
    }
    if ((rule.min !== undefined && n < rule.min) || (rule.max !== undefined && n > rule.max)) {
      const range = rule.max === undefined ? `${rule.min} or more` : `between ${rule.min ?? '-∞'} and ${rule.max}`;
      this.complain(node, `${what} must be ${range}, not ${n}`);
      return undefined;
    }
    return n;
  }

  boolean(node: unknown, what: string): boolean | undefined {
    const value = this.resolve(node);
    if (isScalar(value) && typeof value.value === 'boolean') return value.value;
    this.complain(node, `${what} must be true or false, not ${describe(value)}`);
    return undefined;
  }

  oneOf<T extends string>(node: unknown, what: string, allowed: readonly T[]): T | undefined {
    const value = this.resolve(node);
    const s = isScalar(value) && typeof value.value === 'string' ? value.value : undefined;
    const match = allowed.find((a) => a === s);
    if (match !== undefined) return match;
    const guess = s === undefined ? undefined : nearest(s, allowed);
    const hint = guess === undefined ? '' : `; did you mean "${guess}"?`;
    this.complain(node, `${what} must be one of ${allowed.join(', ')}, not ${describe(value)}${hint}`);
    return undefined;
  }
}

/** True for a missing value or an explicit null (`key:` or `key: ~`). */
export function isNull(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

/** How a value reads in a message: `"high"`, `3`, `true`, `a list`, `a map`, `nothing`. */
export function describe(node: unknown): string {
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a map';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return 'nothing';
    if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
    return 'a tagged value';
  }
  return 'nothing';
}

function shortTag(tag: string): string {
  return tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice('tag:yaml.org,2002:'.length)}` : tag;
}
