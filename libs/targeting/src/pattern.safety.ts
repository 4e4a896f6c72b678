import { FLAG_LIMITS } from '@flagstream/protocol';

/*
 * A conservative static check that a regular expression cannot backtrack catastrophically in a
 * backtracking engine (V8's irregexp, and the engines of other SDK languages). It parses the
 * pattern (JavaScript syntax, `u` flag) and rejects:
 *   - backreferences and lookaround assertions (which defeat the analysis),
 *   - nested quantifiers: a repeated (max > 1) sub-expression that itself contains a variable
 *     quantifier, e.g. `(a+)+`, `(\w+\s?)*`, `(.*a){12}`,
 *   - ambiguous repetition: a repeated sub-expression containing an alternation whose alternatives
 *     can start with the same character or match the empty string, e.g. `(a|ab)*`, `(\w|\d)+`,
 *   - chains of 3 or more unbounded quantifiers that can trade characters with each other
 *     (polynomial blow-up such as `^a*a*a*$` or `^.*x.*y.*$`), counting an unanchored start as one
 *     and not counting a quantifier that ends the pattern (it can always stop at its minimum).
 * Together with the cap on the subject length (FLAG_LIMITS.maxMatchSubjectLength) this bounds the
 * work of every match. Case-insensitive overlap is approximated on ASCII letters.
 */

type Range = readonly [number, number];
type CharSet = readonly Range[];

type Node =
  | { readonly t: 'chars'; readonly set: CharSet }
  | { readonly t: 'assert'; readonly start: boolean }
  | { readonly t: 'group'; readonly alts: readonly (readonly Node[])[] }
  | { readonly t: 'repeat'; readonly body: Node; readonly min: number; readonly max: number };

class UnsafePattern extends Error {}

const MAX_CODE_POINT = 0x10ffff;
const ANY: CharSet = [[0, MAX_CODE_POINT]];
const DIGITS: CharSet = [[48, 57]];
const WORD: CharSet = [
  [48, 57],
  [65, 90],
  [95, 95],
  [97, 122],
];
const SPACE: CharSet = [
  [9, 13],
  [32, 32],
  [160, 160],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];

function normalise(ranges: Range[]): CharSet {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function complement(set: CharSet): CharSet {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of normalise([...set])) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

function foldCase(set: CharSet): CharSet {
  const out: Range[] = [...set];
  for (const [lo, hi] of set) {
    const upperLo = Math.max(lo, 65);
    const upperHi = Math.min(hi, 90);
    if (upperLo <= upperHi) out.push([upperLo + 32, upperHi + 32]);
    const lowerLo = Math.max(lo, 97);
    const lowerHi = Math.min(hi, 122);
    if (lowerLo <= lowerHi) out.push([lowerLo - 32, lowerHi - 32]);
  }
  return normalise(out);
}

function overlaps(a: CharSet, b: CharSet): boolean {
  for (const [aLo, aHi] of a) {
    for (const [bLo, bHi] of b) if (aLo <= bHi && bLo <= aHi) return true;
  }
  return false;
}

class PatternParser {
  private i = 0;

  constructor(
    private readonly p: string,
    private readonly ignoreCase: boolean,
  ) {}

  parse(): Node {
    const alts = this.alternation();
    if (this.i < this.p.length) throw new UnsafePattern('unbalanced parenthesis');
    return { t: 'group', alts };
  }

  private alternation(): Node[][] {
    const alts = [this.sequence()];
    while (this.p[this.i] === '|') {
      this.i++;
      alts.push(this.sequence());
    }
    return alts;
  }

  private sequence(): Node[] {
    const items: Node[] = [];
    while (this.i < this.p.length && this.p[this.i] !== '|' && this.p[this.i] !== ')') {
      items.push(this.quantifier(this.atom()));
    }
    return items;
  }

  private chars(set: CharSet): Node {
    return { t: 'chars', set: this.ignoreCase ? foldCase(set) : set };
  }

  private atom(): Node {
    const p = this.p;
    const c = p[this.i]!;
    if (c === '^' || c === '$') {
      this.i++;
      return { t: 'assert', start: c === '^' };
    }
    if (c === '.') {
      this.i++;
      return this.chars(ANY);
    }
    if (c === '(') {
      if (p.startsWith('(?=', this.i) || p.startsWith('(?!', this.i) || p.startsWith('(?<=', this.i) || p.startsWith('(?<!', this.i)) {
        throw new UnsafePattern('lookaround assertions are not allowed');
      }
      if (p.startsWith('(?:', this.i)) this.i += 3;
      else if (p.startsWith('(?<', this.i)) this.i = p.indexOf('>', this.i) + 1;
      else if (p[this.i + 1] === '?') throw new UnsafePattern('unsupported group syntax');
      else this.i++;
      const alts = this.alternation();
      if (p[this.i] !== ')') throw new UnsafePattern('unbalanced parenthesis');
      this.i++;
      return { t: 'group', alts };
    }
    if (c === '[') return this.chars(this.characterClass());
    if (c === '\\') {
      const escaped = this.escape(false);
      return escaped === 'boundary' ? { t: 'assert', start: false } : this.chars(escaped);
    }
    const cp = p.codePointAt(this.i)!;
    this.i += cp > 0xffff ? 2 : 1;
    return this.chars([[cp, cp]]);
  }

  /** Reads an escape starting at the backslash; returns its character set. */
  private escape(inClass: boolean): CharSet | 'boundary' {
    const p = this.p;
    this.i++;
    const c = p[this.i]!;
    this.i++;
    switch (c) {
      case 'd':
        return DIGITS;
      case 'D':
        return complement(DIGITS);
      case 'w':
        return WORD;
      case 'W':
        return complement(WORD);
      case 's':
        return SPACE;
      case 'S':
        return complement(SPACE);
      case 'b':
        return inClass ? [[8, 8]] : 'boundary';
      case 'B':
        return 'boundary';
      case 'k':
        throw new UnsafePattern('backreferences are not allowed');
      case 'p':
      case 'P':
        this.i = p.indexOf('}', this.i) + 1;
        return ANY;
      case 'n':
        return [[10, 10]];
      case 'r':
        return [[13, 13]];
      case 't':
        return [[9, 9]];
      case 'v':
        return [[11, 11]];
      case 'f':
        return [[12, 12]];
      case '0':
        return [[0, 0]];
      case 'c': {
        const code = p.charCodeAt(this.i) % 32;
        this.i++;
        return [[code, code]];
      }
      case 'x': {
        const code = parseInt(p.slice(this.i, this.i + 2), 16);
        this.i += 2;
        return [[code, code]];
      }
      case 'u': {
        let code: number;
        if (p[this.i] === '{') {
          const close = p.indexOf('}', this.i);
          code = parseInt(p.slice(this.i + 1, close), 16);
          this.i = close + 1;
        } else {
          code = parseInt(p.slice(this.i, this.i + 4), 16);
          this.i += 4;
        }
        return [[code, code]];
      }
      default:
        if (c >= '1' && c <= '9') throw new UnsafePattern('backreferences are not allowed');
        return [[c.codePointAt(0)!, c.codePointAt(0)!]];
    }
  }

  private characterClass(): CharSet {
    const p = this.p;
    this.i++;
    const negated = p[this.i] === '^';
    if (negated) this.i++;
    const ranges: Range[] = [];
    while (this.i < p.length && p[this.i] !== ']') {
      const low = this.classAtom();
      if (p[this.i] === '-' && p[this.i + 1] !== ']' && low.length === 1 && low[0]![0] === low[0]![1]) {
        this.i++;
        const high = this.classAtom();
        ranges.push([low[0]![0], high[high.length - 1]![1]]);
      } else {
        ranges.push(...low);
      }
    }
    this.i++;
    const set = normalise(ranges);
    return negated ? complement(set) : set;
  }

  private classAtom(): CharSet {
    if (this.p[this.i] === '\\') {
      const escaped = this.escape(true);
      return escaped === 'boundary' ? [] : escaped;
    }
    const cp = this.p.codePointAt(this.i)!;
    this.i += cp > 0xffff ? 2 : 1;
    return [[cp, cp]];
  }

  private quantifier(atom: Node): Node {
    const p = this.p;
    let min: number;
    let max: number;
    const c = p[this.i];
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(this.i));
      if (!m) return atom;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      this.i += m[0].length - 1;
    } else {
      return atom;
    }
    this.i++;
    if (p[this.i] === '?') this.i++;
    return { t: 'repeat', body: atom, min, max };
  }
}

interface Summary {
  nullable: boolean;
  first: CharSet;
}

function summarise(node: Node): Summary {
  switch (node.t) {
    case 'chars':
      return { nullable: false, first: node.set };
    case 'assert':
      return { nullable: true, first: [] };
    case 'repeat': {
      const body = summarise(node.body);
      return { nullable: node.min === 0 || body.nullable, first: body.first };
    }
    case 'group': {
      let nullable = false;
      const first: Range[] = [];
      for (const alt of node.alts) {
        const s = summariseSequence(alt);
        nullable ||= s.nullable;
        first.push(...s.first);
      }
      return { nullable, first: normalise(first) };
    }
  }
}

function summariseSequence(items: readonly Node[]): Summary {
  const first: Range[] = [];
  for (const item of items) {
    const s = summarise(item);
    first.push(...s.first);
    if (!s.nullable) return { nullable: false, first: normalise(first) };
  }
  return { nullable: true, first: normalise(first) };
}

function containsVariableRepeat(node: Node): boolean {
  switch (node.t) {
    case 'chars':
    case 'assert':
      return false;
    case 'repeat':
      return node.max > node.min || containsVariableRepeat(node.body);
    case 'group':
      return node.alts.some((alt) => alt.some(containsVariableRepeat));
  }
}

function ambiguousAlternation(node: Node): boolean {
  switch (node.t) {
    case 'chars':
    case 'assert':
      return false;
    case 'repeat':
      return ambiguousAlternation(node.body);
    case 'group': {
      if (node.alts.length > 1) {
        const summaries = node.alts.map(summariseSequence);
        for (let a = 0; a < summaries.length; a++) {
          if (summaries[a]!.nullable) return true;
          for (let b = a + 1; b < summaries.length; b++) {
            if (overlaps(summaries[a]!.first, summaries[b]!.first)) return true;
          }
        }
      }
      return node.alts.some((alt) => alt.some(ambiguousAlternation));
    }
  }
}

const LONG_REPEAT = 16;

/** Longest chain of unbounded single-character repeats in one sequence that can trade characters. */
function chainDegree(items: readonly Node[], unanchored: boolean, atEnd: boolean): number {
  let best = 0;
  let chain = unanchored ? 1 : 0;
  let chainSet: CharSet | null = unanchored ? ANY : null;
  for (const [index, item] of items.entries()) {
    // A repeat that ends the whole pattern can always stop at its minimum, so it cannot fail.
    if (atEnd && index === items.length - 1 && item.t === 'repeat') break;
    if (item.t === 'repeat' && item.body.t === 'chars' && item.max - item.min > LONG_REPEAT) {
      if (chainSet && overlaps(chainSet, item.body.set)) chain++;
      else chain = 1;
      chainSet = item.body.set;
    } else if (item.t === 'chars') {
      if (chainSet && !overlaps(chainSet, item.set)) {
        chain = 0;
        chainSet = null;
      }
    } else if (item.t === 'group' || item.t === 'repeat') {
      chain = 0;
      chainSet = null;
    }
    best = Math.max(best, chain);
  }
  return best;
}

function check(node: Node, top: boolean): void {
  switch (node.t) {
    case 'chars':
    case 'assert':
      return;
    case 'repeat':
      if (node.max > 1) {
        if (containsVariableRepeat(node.body)) {
          throw new UnsafePattern('nested quantifiers can backtrack catastrophically');
        }
        if (ambiguousAlternation(node.body)) {
          throw new UnsafePattern('a repeated alternation whose branches can match the same text can backtrack catastrophically');
        }
      }
      check(node.body, false);
      return;
    case 'group':
      for (const alt of node.alts) {
        const anchored = alt[0]?.t === 'assert' && alt[0].start;
        if (chainDegree(alt, top && !anchored, top) >= 3) {
          throw new UnsafePattern('too many adjacent unbounded quantifiers over the same characters');
        }
        for (const item of alt) check(item, false);
      }
      return;
  }
}

/**
 * Returns why `pattern` may not be used by the `matches` operator (too long, invalid, or able to
 * backtrack catastrophically), or null when it is safe. `ignoreCase` mirrors the clause option.
 */
export function patternProblem(pattern: string, ignoreCase = false): string | null {
  if (pattern.length > FLAG_LIMITS.maxPatternLength) {
    return `pattern must be at most ${FLAG_LIMITS.maxPatternLength} characters`;
  }
  try {
    new RegExp(pattern, ignoreCase ? 'iu' : 'u');
  } catch (error) {
    return `invalid regular expression: ${(error as Error).message}`;
  }
  try {
    check(new PatternParser(pattern, ignoreCase).parse(), true);
  } catch (error) {
    if (error instanceof UnsafePattern) return `unsafe regular expression: ${error.message}`;
    return 'unsafe regular expression: could not be analysed';
  }
  return null;
}
